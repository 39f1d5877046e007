"""Scorecards as data: the AI's draft, the human decisions, and the final scorecard.

The draft is what `evaluate` writes (JSON is the source of truth). A final scorecard exists only
when a person has decided every criterion; it keeps the AI's proposal next to the decision.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.findings import CoverageSummary, Flag
from evaluator.transcript import Transcript

NOT_ENOUGH_INFORMATION = "Not Enough Information Gathered to Evaluate"

# the values of evaluator.guide.CriterionKind, kept as plain strings in scorecard JSON
CriterionKindName = Literal["competency", "goal", "overall"]

ProposalStatus = Literal[
    "proposed",         # the LLM proposed a score backed by verified candidate quotes
    "no_evidence",      # no verified candidate evidence: score 0 (Not Enough Information Gathered)
    "needs_reviewer",   # no LLM configured (or overall without 0 on its scale): a person must score it
    "failed",           # the LLM call failed after retries; re-running fills it in
]


def utc_now() -> str:
    """ISO-8601 UTC timestamp, seconds precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceQuote(_Model):
    """A verbatim candidate quote, found in the transcript."""

    quote: str = Field(description="The words as they appear in the transcript.")
    segment_id: str
    segment_ids: list[str] = Field(default_factory=list, description="All segments the quote spans.")
    start_s: float | None = None
    end_s: float | None = None
    speaker: str = ""
    match_score: float = Field(description="1.0 = exact after normalising case, punctuation and whitespace.")
    added_by: str = Field(default="ai", description="'ai', or the reviewer who added it.")


class DroppedQuote(_Model):
    """A quote the model claimed that was not accepted as evidence, and why."""

    quote: str
    claimed_segment_id: str | None = None
    reason: str = Field(description="'not found in the transcript', 'spoken by the interviewer', 'too short'...")
    found_segment_id: str | None = None


class Passage(_Model):
    """A part of the transcript judged relevant to a criterion (sent to the LLM, or shown to a reviewer)."""

    question_id: str | None = None
    segment_ids: list[str]
    start_s: float | None = None
    end_s: float | None = None
    text: str


class Usage(_Model):
    """Tokens spent. Add them up with `+` or `sum(...)`; zero for an answer served from the cache."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     total_tokens=self.total_tokens + other.total_tokens)

    def __radd__(self, other) -> "Usage":
        # lets the built-in sum() start from 0
        return self if other == 0 else self.__add__(other)


class ProposedScore(_Model):
    """The AI's proposal for one criterion, after the evidence rules were enforced in code."""

    criterion_id: str
    criterion_name: str
    kind: CriterionKindName
    scale: tuple[int, int]
    anchors: dict[int, str]
    status: ProposalStatus
    score: int | None = Field(default=None, description="After the evidence rules; None when a person must score it.")
    model_score: int | None = Field(default=None, description="What the model said, before the evidence rules.")
    rationale: str = ""
    quotes: list[EvidenceQuote] = Field(default_factory=list)
    dropped: list[DroppedQuote] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list, description="Relevant candidate passages found by alignment.")
    based_on: list[str] = Field(default_factory=list, description="Overall recommendation: the criteria behind it.")
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    cached: bool = False


class SourceInfo(_Model):
    """What was evaluated and with which versions of everything."""

    guide_id: str
    guide_role: str
    guide_version: str
    guide_sha256: str
    stage_id: str
    stage_name: str
    transcript_source: str | None = None
    transcript_sha256: str | None = Field(default=None, description="Hash of the input file (audio or transcript).")
    transcript_content_sha256: str = Field(description="Hash of the segments evidence points into.")
    transcription_model: str | None = None
    llm_model: str | None = None
    llm_endpoint_host: str | None = None
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    tool_version: str = ""


class EvidenceCounts(_Model):
    """Quotes proposed by the model, verified in the transcript, and dropped."""

    proposed: int = 0
    verified: int = 0
    dropped: int = 0


class InjectionFlag(_Model):
    """A sentence in the transcript that addresses the AI: withheld from the model, never evidence."""

    segment_id: str = Field(description="The segment the sentence starts in.")
    segment_ids: list[str] = Field(default_factory=list, description="Every segment the sentence spans.")
    start_char: int | None = Field(default=None, description="Where the sentence starts in the first segment's text.")
    end_char: int | None = Field(default=None, description="Where it ends (exclusive) in the last segment's text.")
    start_s: float | None = None
    speaker: str = ""
    text: str = Field(description="The flagged sentence, verbatim.")
    pattern: str = Field(description="What kind of instruction it looks like.")


class Draft(_Model):
    """A draft scorecard: the AI's proposals with verified evidence, for a person to review."""

    schema_version: Literal[1] = 1
    kind: Literal["draft"] = "draft"
    created_at: str = Field(default_factory=utc_now)
    candidate: str = ""
    interviewers: list[str] = Field(default_factory=list)
    source: SourceInfo
    llm_configured: bool
    scores: list[ProposedScore]
    evidence: EvidenceCounts = Field(default_factory=EvidenceCounts)
    usage: Usage = Field(default_factory=Usage)
    elapsed_s: float = 0.0
    coverage: CoverageSummary = Field(default_factory=CoverageSummary, description="Questions asked and covered.")
    injection_flags: list[InjectionFlag] = Field(default_factory=list)
    prohibited_questions: list[Flag] = Field(
        default_factory=list, description="Interviewer questions that must not be asked (evaluator.coach).")
    redacted: bool = False
    warnings: list[str] = Field(default_factory=list)
    transcript: Transcript = Field(description="The transcript the evidence points into (self-contained draft).")
    seal: str | None = Field(default=None, description="SHA-256 of everything above, written by `evaluate`: a draft "
                             "edited by hand no longer matches it and is refused as AI-proposed.")

    def score_for(self, criterion_id: str) -> ProposedScore:
        """The proposal for one criterion id."""
        for s in self.scores:
            if s.criterion_id == criterion_id:
                return s
        raise KeyError(criterion_id)


class Decision(_Model):
    """A person's decision on one criterion."""

    criterion_id: str
    action: Literal["confirm", "override"]
    score: int | None = Field(description="The final score (the proposal's when confirmed).")
    reason: str = Field(default="", description="Required for an override.")
    reviewer: str
    decided_at: str = Field(default_factory=utc_now)
    notes: str = ""
    added_quotes: list[EvidenceQuote] = Field(default_factory=list)


class FinalCriterion(_Model):
    """One criterion of a final scorecard: the AI's proposal, the human decision, and both kept."""

    criterion_id: str
    criterion_name: str
    kind: CriterionKindName
    scale: tuple[int, int]
    final_score: int | None
    proposal: ProposedScore
    decision: Decision


class FinalScorecard(_Model):
    """A scorecard a person has decided in full. Never edited in place: a change is a new revision."""

    schema_version: Literal[1] = 1
    kind: Literal["final"] = "final"
    revision: int = 1
    previous_sha256: str | None = Field(default=None, description="Hash of the revision this one replaces.")
    draft_sha256: str
    finalized_at: str = Field(default_factory=utc_now)
    reviewer: str
    candidate: str = ""
    interviewers: list[str] = Field(default_factory=list)
    source: SourceInfo
    criteria: list[FinalCriterion]
    coverage: CoverageSummary = Field(default_factory=CoverageSummary)
    injection_flags: list[InjectionFlag] = Field(default_factory=list)
    prohibited_questions: list[Flag] = Field(
        default_factory=list, description="Interviewer questions that must not be asked (from the draft).")
    warnings: list[str] = Field(default_factory=list)
    notes: str = ""
    seal: str | None = Field(default=None, description="SHA-256 of everything above, written by `review`: a final "
                             "scorecard edited by hand no longer matches it and is refused.")


def compute_seal(card: "Draft | FinalScorecard") -> str:
    """The content hash of a scorecard without its seal (canonical JSON: sorted keys, no spaces)."""
    import hashlib
    import json

    data = card.model_dump(mode="json", exclude={"seal"})
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def sealed(card: "Draft | FinalScorecard") -> "Draft | FinalScorecard":
    """The scorecard with its seal set (what `evaluate` and `review` write)."""
    return card.model_copy(update={"seal": compute_seal(card)})
