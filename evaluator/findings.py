"""Findings about one interview that several outputs share — the coaching report, the coverage audit and the
draft and final scorecards: a flagged interviewer line, and the coverage of each guide question.

Models only (pydantic, nothing else), so every output can import them without the modules that compute them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

FlagKind = Literal["must_not_ask", "hypothetical", "leading", "closed", "stacked"]
# how the areas to cover were judged: offline signals only, or refined by an LLM (evaluator.areas_llm)
AlignmentMethod = Literal["offline", "llm"]


class LineRef(BaseModel):
    """A pointer to one transcript line: segment, time, speaker and the exact text."""

    segment_id: str
    start_s: float | None = None
    time: str = "--:--"
    speaker: str = ""
    text: str = ""


class Flag(BaseModel):
    """One problem with an interviewer question, tied to the exact line."""

    kind: FlagKind
    rule_id: str
    category: str | None = Field(default=None, description="Must-not-ask category (age, religion, ...).")
    segment_id: str
    start_s: float | None = None
    time: str = "--:--"
    line: str = Field(description="The interviewer's whole turn, verbatim.")
    quote: str = Field(description="The sentence(s) that triggered the flag, verbatim from the line.")
    explanation: str
    lawful_alternative: str | None = None
    guide_question_id: str | None = None
    guide_question_text: str | None = None
    source: Literal["rules", "llm"] = "rules"


class QuestionCoverage(BaseModel):
    """One guide question: asked or not, where, the answer, follow-ups and areas covered. The one shape the
    coverage audit, the draft scorecard's summary and the coaching report share (see `question_coverage`)."""

    question_id: str
    text: str
    asked: bool
    confidence: float
    start_s: float | None = None
    segment_ids: list[str] = Field(default_factory=list)
    asked_text: str = ""
    order: int | None = Field(default=None, description="1-based position in the order questions were asked.")
    answered: bool = False
    follow_ups_used: list[str] = Field(default_factory=list, description="The guide's follow-ups that were asked.")
    follow_up_segment_ids: list[str] = Field(default_factory=list)
    follow_ups_total: int = 0
    time_spent_s: float | None = Field(default=None, description="From the question to the next one (coaching).")
    areas_covered: int = 0
    areas_partly: int = 0
    areas_total: int = 0
    areas_not_probed: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def follow_ups_asked(self) -> int:
        """How many of the guide's follow-ups were asked."""
        return len(self.follow_ups_used)


class CoverageSummary(BaseModel):
    """What a draft scorecard records of the coverage audit of its interview."""

    model_config = ConfigDict(extra="forbid")

    asked: int = 0
    total: int = 0
    asked_pct: float = 0.0
    method: AlignmentMethod = "offline"
    directions_given: bool = False
    extra_questions: int = 0
    questions: list[QuestionCoverage] = Field(default_factory=list)
