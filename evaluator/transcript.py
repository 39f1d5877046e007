"""The Transcript: segments with times, speakers and roles. JSON is its own lossless format.

Readers and writers for other formats live in `evaluator.formats`.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Role(str, Enum):
    """Who a speaker is in the interview."""

    interviewer = "interviewer"
    candidate = "candidate"
    other = "other"
    unknown = "unknown"


class Word(BaseModel):
    """One recognised word with its time span and ASR probability."""

    model_config = ConfigDict(extra="forbid")

    text: str
    start_s: float
    end_s: float
    probability: float | None = None


class Segment(BaseModel):
    """One speaker turn (or part of one): a stable id, times, speaker, role and text."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id, e.g. 's0007'; quotes and alignments point at it.")
    start_s: float | None = Field(default=None, description="Start in seconds; None when the source had no times.")
    end_s: float | None = None
    speaker: str = Field(default="", description="Speaker label as in the source (a name, 'SPEAKER_00', ...).")
    role: Role = Role.unknown
    text: str
    words: list[Word] | None = None


RoleMethod = Literal[
    "option",                # --interviewer / --candidate
    "source",                # the transcript file said so (our JSON)
    "label",                 # a conventional label: Interviewer, Candidate, Agent, Customer...
    "channel",               # one party per channel of a stereo call recording
    "inferred",              # from who asks the questions (and the guide's questions)
    "inferred-per-segment",  # mono audio without speaker turns: guessed per segment
    "default",               # nothing to go on
]


class RoleAssignment(BaseModel):
    """How one speaker label got its role, and how sure we are."""

    model_config = ConfigDict(extra="forbid")

    speaker: str
    role: Role
    method: RoleMethod = Field(description="How the role was decided.")
    confidence: float = 1.0
    evidence: str = ""


class ASRInfo(BaseModel):
    """How a transcript was produced from audio."""

    model_config = ConfigDict(extra="forbid")

    model: str
    model_path: str | None = None
    options: dict = Field(default_factory=dict)
    engine: str = "faster-whisper"
    engine_version: str | None = None


class TranscriptMeta(BaseModel):
    """Where a transcript came from."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    source_sha256: str | None = None
    source_format: str | None = None
    duration_s: float | None = None
    language: str | None = None
    asr: ASRInfo | None = None
    roles: list[RoleAssignment] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Transcript(BaseModel):
    """One interview as segments in time order, with provenance."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    meta: TranscriptMeta = Field(default_factory=TranscriptMeta)
    segments: list[Segment] = Field(default_factory=list)

    @property
    def has_times(self) -> bool:
        """True when every segment has a start time."""
        return bool(self.segments) and all(s.start_s is not None for s in self.segments)

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in order of first appearance."""
        seen: dict[str, None] = {}
        for s in self.segments:
            seen.setdefault(s.speaker, None)
        return list(seen)

    def segment(self, segment_id: str) -> Segment:
        """The segment with this id (KeyError if none)."""
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(segment_id)

    def by_role(self, role: Role) -> list[Segment]:
        """Segments spoken in one role."""
        return [s for s in self.segments if s.role == role]

    def content_sha256(self) -> str:
        """Hash of the segments' content (ids, times, speakers, roles, text): what evidence points into."""
        from evaluator.files import sha256_bytes

        return sha256_bytes(
            "\n".join(
                f"{s.id}\t{s.start_s}\t{s.end_s}\t{s.speaker}\t{s.role.value}\t{s.text}" for s in self.segments
            ).encode("utf-8")
        )


def segment_id(index: int) -> str:
    """The canonical segment id for the n-th segment (0-based)."""
    return f"s{index:04d}"
