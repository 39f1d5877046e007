"""One error hierarchy. Every message says where, what was expected, and how to fix it."""

from __future__ import annotations

from typing import Literal


# What a person can do about an error, for a front end that words the fix itself (the desk names its form
# fields where the hint names command-line options): name the stage, confirm it is an interview, add the guide
# (an interview guide given as the interview), give a text-format guide to the importer.
Remedy = Literal["choose_stage", "confirm_interview", "add_guide", "import_text_guide"]


class EvalError(Exception):
    """Base for every error the tool reports to a person (one line, non-zero exit). `hint` is the fix in the
    command line's words; `remedy` (with `choices`, e.g. the stages by match) the same fix as a choice."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, remedy: Remedy | None = None,
                 choices: tuple[str, ...] = ()):
        self.message = message
        self.hint = hint
        self.remedy = remedy
        self.choices = choices
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message and the fix on one line, as the CLI prints it."""
        text = " ".join(self.message.split())
        if self.hint:
            text += " — " + " ".join(self.hint.split())
        return text


class UsageError(EvalError):
    """The command line itself is wrong (unknown stage, bad option value). Exit 2."""

    exit_code = 2


class InputFileError(EvalError):
    """An input file is missing, empty, binary or not UTF-8."""


class OutputFileError(EvalError, OSError):
    """An output cannot be written (a folder in the way, read-only or full disk, the input itself).

    Also an OSError (errno and strerror set), so callers that tolerate a failed cache write keep doing so."""

    def __str__(self) -> str:  # OSError's own str() would print "[Errno 28] ..." instead of our line
        return self.one_line()


class GuideError(EvalError):
    """An interview guide does not validate or cannot be imported."""


class TranscriptError(EvalError):
    """A transcript cannot be read, written or is unusable."""


class AudioError(EvalError):
    """An audio or video file cannot be decoded or transcribed."""


class ModelError(EvalError):
    """A Whisper model cannot be found, verified or loaded."""


class AlignmentError(EvalError):
    """A transcript cannot be aligned to a stage."""


class LLMError(EvalError):
    """The LLM endpoint failed or is not configured."""


class ReviewError(EvalError):
    """A review decision or scorecard is invalid."""
