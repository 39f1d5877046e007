"""The coaching report's models: the source of truth, serialised as JSON. Rendered by `evaluator.render.coach`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from evaluator.findings import Flag, FlagKind, LineRef, QuestionCoverage  # noqa: F401 - part of the report's API
from evaluator.text import fmt_time
from evaluator.transcript import Role, RoleAssignment, Segment

REPORT_SCHEMA_VERSION = 1
QUALITY_KINDS = ("hypothetical", "leading", "closed", "stacked")

class SpeakerShare(BaseModel):
    """How much one speaker talked."""

    speaker: str
    role: Role
    turns: int
    words: int
    seconds: float | None = None
    share: float = Field(description="Share of speaking time, or of words when basis is 'words'.")


class Monologue(BaseModel):
    """The interviewer's longest run of speech without the candidate speaking."""

    segment_ids: list[str]
    start_s: float | None = None
    end_s: float | None = None
    duration_s: float | None = None
    words: int
    time: str = "--:--"
    excerpt: str = ""


class Interruption(BaseModel):
    """One speaker starting before the other finished (overlap) or cutting them off (marked in the text)."""

    segment_id: str = Field(description="The turn that interrupted.")
    interrupted_segment_id: str
    by_role: Role
    start_s: float | None = None
    time: str = "--:--"
    overlap_s: float | None = None
    evidence: Literal["overlap", "cut-off"] = "overlap"


class TalkTime(BaseModel):
    """Each party's share of the talking, with the basis it was measured on."""

    basis: Literal["time", "words"]
    note: str = ""
    interviewer_share: float | None = None
    candidate_share: float | None = None
    speakers: list[SpeakerShare]
    longest_monologue: Monologue | None = None
    interruptions: list[Interruption] = Field(default_factory=list)
    overlaps_measurable: bool = False


class DirectionsCheck(BaseModel):
    """Whether the stage's 'Directions to Share with Candidate' were given."""

    applicable: bool
    given: bool = False
    score: float = 0.0
    segment_ids: list[str] = Field(default_factory=list)
    start_s: float | None = None
    time: str = "--:--"
    excerpt: str = ""
    expected: str = ""


class Structure(BaseModel):
    """How the interview followed the guide stage."""

    available: bool
    note: str = ""
    questions: list[QuestionCoverage] = Field(default_factory=list)
    asked: int = 0
    total: int = 0
    skipped: list[str] = Field(default_factory=list, description="Ids of guide questions not asked.")
    out_of_order: list[str] = Field(default_factory=list, description="Ids asked before an earlier guide question.")
    order_followed: bool | None = None
    follow_ups_used: int = 0
    extra_questions: list[LineRef] = Field(default_factory=list)
    directions: DirectionsCheck | None = None
    candidate_questions: LineRef | None = Field(default=None, description="Where the candidate was invited to ask.")
    candidate_questions_time_s: float | None = None
    warnings: list[str] = Field(default_factory=list)


class Recommendation(BaseModel):
    """One thing to do differently next time, tied to lines."""

    rank: int
    kind: Literal["must_not_ask", "skipped", "hypothetical_leading", "talk_time", "directions", "closed", "stacked",
                  "candidate_questions"]
    title: str
    detail: str
    lines: list[LineRef] = Field(default_factory=list)


class CoachReport(BaseModel):
    """The coaching report for one interview: the source of truth for every rendering."""

    schema_version: int = REPORT_SCHEMA_VERSION
    source: str | None = None
    transcript_sha256: str | None = None
    guide_id: str | None = None
    guide_version: str | None = None
    stage_id: str | None = None
    stage_name: str | None = None
    stage_kind: str | None = None
    interviewer: str | None = None
    candidate: str | None = None
    roles: list[RoleAssignment] = Field(default_factory=list)
    roles_note: str = ""
    rules_version: str = ""
    llm_used: bool = False
    talk_time: TalkTime
    structure: Structure
    must_not_ask: list[Flag] = Field(default_factory=list)
    question_quality: list[Flag] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def flags(self) -> list[Flag]:
        """All flags in transcript order."""
        return sorted(self.must_not_ask + self.question_quality, key=lambda f: (f.segment_id, f.kind))

    def counts(self) -> dict[str, int]:
        """Number of flags of each kind."""
        out = {k: 0 for k in ("must_not_ask",) + QUALITY_KINDS}
        for f in self.must_not_ask + self.question_quality:
            out[f.kind] += 1
        return out


class SummaryRow(BaseModel):
    """One interviewer across a batch of interviews."""

    interviewer: str
    interviews: int
    sources: list[str]
    mean_interviewer_share: float | None = None
    questions_asked: int = 0
    questions_total: int = 0
    directions_given: int = 0
    must_not_ask: int = 0
    hypothetical: int = 0
    leading: int = 0
    closed: int = 0
    stacked: int = 0


class CoachSummary(BaseModel):
    """A batch: one row per interviewer, and every report."""

    schema_version: int = REPORT_SCHEMA_VERSION
    rows: list[SummaryRow]
    reports: list[CoachReport]
    errors: list[str] = Field(default_factory=list, description="Inputs that could not be coached, one line each.")

def line_ref(seg: Segment) -> LineRef:
    """A pointer to one segment."""
    return LineRef(segment_id=seg.id, start_s=seg.start_s, time=fmt_time(seg.start_s), speaker=seg.speaker,
                   text=seg.text)
