"""The coverage audit: were the guide's questions asked, which areas were probed — per interview
and across a batch of interviews, per interviewer."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from evaluator.align import Alignment, ExtraQuestion, QuestionMatch, StageGuess, align
from evaluator.findings import CoverageSummary, Flag, QuestionCoverage
from evaluator.guide import Guide, Stage
from evaluator.transcript import Role, Transcript

if TYPE_CHECKING:  # the coach imports this module's row builder
    from evaluator.coach import MustNotAskRules


def question_coverage(m: QuestionMatch) -> QuestionCoverage:
    """The coverage row of one aligned guide question."""
    fus = [f for f in m.follow_ups if f.asked]
    return QuestionCoverage(
        question_id=m.question_id, text=m.text, asked=m.asked, confidence=m.confidence, start_s=m.start_s,
        segment_ids=list(m.segment_ids), asked_text=m.asked_text, order=m.order, answered=m.answered,
        follow_ups_used=[f.text for f in fus], follow_up_segment_ids=[f.segment_id for f in fus if f.segment_id],
        follow_ups_total=len(m.follow_ups), areas_covered=sum(a.status == "covered" for a in m.areas),
        areas_partly=sum(a.status == "partly" for a in m.areas), areas_total=len(m.areas),
        areas_not_probed=[a.area for a in m.areas if a.status == "not"])


def coverage_summary(al: Alignment) -> CoverageSummary:
    """The summary a draft keeps of its alignment."""
    return CoverageSummary(asked=len(al.asked), total=len(al.questions), asked_pct=round(al.coverage_pct, 1),
                           method=al.method, directions_given=bool(al.directions_segment_ids),
                           extra_questions=len(al.extra_questions),
                           questions=[question_coverage(m) for m in al.questions])


class InterviewCoverage(BaseModel):
    """The coverage audit of one interview."""

    source: str
    source_sha256: str | None = None
    guide_id: str
    guide_version: str
    stage_id: str
    stage_name: str
    stage_detection: StageGuess | None = None
    interviewers: list[str] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list)
    asked: int
    total: int
    asked_pct: float
    questions: list[QuestionCoverage] = Field(default_factory=list)
    out_of_order: bool = False
    directions_given: bool = False
    extra_questions: list[ExtraQuestion] = Field(default_factory=list)
    prohibited_questions: list[Flag] = Field(
        default_factory=list, description="Interviewer questions that must not be asked (evaluator.coach).")
    warnings: list[str] = Field(default_factory=list)
    alignment: Alignment


class InterviewerSummary(BaseModel):
    """One interviewer across a batch."""

    interviewer: str
    interviews: int
    asked_pct: float = Field(description="Mean share of required questions asked.")
    areas_not_probed: int
    often_skipped: list[str] = Field(default_factory=list, description="Question ids this interviewer skipped most.")


class SkippedQuestion(BaseModel):
    """A question skipped across the batch."""

    stage_id: str
    question_id: str
    text: str
    skipped: int
    of: int


class BatchFailure(BaseModel):
    """An input that could not be audited, and why."""

    source: str
    error: str


class BatchCoverage(BaseModel):
    """The coverage audit of many interviews."""

    guide_id: str
    interviews: list[InterviewCoverage] = Field(default_factory=list)
    per_interviewer: list[InterviewerSummary] = Field(default_factory=list)
    per_stage: dict[str, float] = Field(default_factory=dict, description="Stage id -> mean asked %.")
    most_skipped: list[SkippedQuestion] = Field(default_factory=list)
    failures: list[BatchFailure] = Field(default_factory=list)


def _names(t: Transcript, role: Role) -> list[str]:
    return list(dict.fromkeys(s.speaker or role.value for s in t.segments if s.role == role))


def interview_coverage(t: Transcript, guide: Guide, stage: Stage, *, detection: StageGuess | None = None,
                       alignment: Alignment | None = None, rules: MustNotAskRules | None = None) -> InterviewCoverage:
    """Audit one interview against one stage, with the questions that must not be asked (`rules` default to the
    bundled must-not-ask rules)."""
    al = alignment or align(t, stage, guide=guide)
    from evaluator.coach import prohibited_questions

    rows = [question_coverage(m) for m in al.questions]
    orders = [m.order for m in al.questions if m.asked]
    asked = sum(r.asked for r in rows)
    return InterviewCoverage(
        source=t.meta.source or "", source_sha256=t.meta.source_sha256, guide_id=guide.id,
        guide_version=guide.version, stage_id=stage.id, stage_name=stage.name, stage_detection=detection,
        interviewers=_names(t, Role.interviewer), candidates=_names(t, Role.candidate),
        asked=asked, total=len(rows), asked_pct=round(100.0 * asked / len(rows), 1) if rows else 0.0,
        questions=rows, out_of_order=orders != sorted(orders), directions_given=bool(al.directions_segment_ids),
        extra_questions=al.extra_questions, prohibited_questions=prohibited_questions(t, rules),
        warnings=list(t.meta.warnings) + al.warnings, alignment=al,
    )


def batch_coverage(guide: Guide, items: list[InterviewCoverage], failures: list[BatchFailure]) -> BatchCoverage:
    """Join single-interview audits into per-interviewer and per-question tables."""
    by_iv: dict[str, list[InterviewCoverage]] = defaultdict(list)
    for it in items:
        by_iv[", ".join(it.interviewers) or "(unknown interviewer)"].append(it)
    per_iv = []
    for name, its in sorted(by_iv.items()):
        skipped = Counter(q.question_id for it in its for q in it.questions if not q.asked)
        per_iv.append(InterviewerSummary(
            interviewer=name, interviews=len(its),
            asked_pct=round(sum(i.asked_pct for i in its) / len(its), 1),
            areas_not_probed=sum(len(q.areas_not_probed) for i in its for q in i.questions),
            often_skipped=[qid for qid, n in skipped.most_common() if n >= max(1, len(its) / 2)],
        ))
    per_stage: dict[str, list[float]] = defaultdict(list)
    for it in items:
        per_stage[it.stage_id].append(it.asked_pct)
    total: Counter = Counter()
    skipped: Counter = Counter()
    text: dict[tuple[str, str], str] = {}
    for it in items:
        for q in it.questions:
            key = (it.stage_id, q.question_id)
            total[key] += 1
            text[key] = q.text
            if not q.asked:
                skipped[key] += 1
    most = [SkippedQuestion(stage_id=k[0], question_id=k[1], text=text[k], skipped=n, of=total[k])
            for k, n in sorted(skipped.items(), key=lambda kv: (-kv[1] / total[kv[0]], kv[0]))]
    return BatchCoverage(
        guide_id=guide.id, interviews=items, per_interviewer=per_iv,
        per_stage={k: round(sum(v) / len(v), 1) for k, v in per_stage.items()},
        most_skipped=most, failures=failures,
    )
