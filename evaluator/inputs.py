"""One way in for every command: an interview as audio or any transcript format, with roles set."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from evaluator.guide import Guide, Stage
from evaluator.transcript import Transcript


def question_texts(guide: Guide | None, stage: Stage | None = None) -> list[str]:
    """The guide questions (and follow-ups) that tell who the interviewer is."""
    if guide is None and stage is None:
        return []
    stages = [stage] if stage is not None else guide.stages
    return [t for st in stages for q in st.questions for t in [q.text, *q.follow_ups]]


def load_interview(
    path: str | Path,
    *,
    fmt: str | None = None,
    guide: Guide | None = None,
    stage: Stage | None = None,
    interviewer: list[str] | str | None = None,
    candidate: list[str] | str | None = None,
    model: str | None = None,
    channels: str | None = None,
    rttm: str | Path | None = None,
    progress: Callable | None = None,
) -> Transcript:
    """Read a transcript, or transcribe a recording, and set speaker roles."""
    from evaluator.formats import is_audio_path, read_transcript
    from evaluator.roles import assign_roles

    qs = question_texts(guide, stage)
    if fmt is None and is_audio_path(path):
        from evaluator.transcribe import transcribe_file

        t = transcribe_file(path, model=model, channels=channels, rttm=rttm, progress=progress,
                            question_texts=qs)
        if interviewer or candidate:
            t = assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=qs)
        return t
    t = read_transcript(path, fmt)
    return assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=qs)
