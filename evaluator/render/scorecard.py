"""Draft and final scorecards: one view model, drawn once, then written as Markdown, HTML or CSV.

`scorecard_view(card)` walks a `Draft` or a `FinalScorecard` once and returns a `ScorecardView`: the header
(candidate, role, stage, models, and for a final the audit trail: reviewer, when, revision, hashes), one
`CriterionView` per criterion (AI proposal, human decision, final score, verified quotes with m:ss times and
segment ids — the reviewer's added quotes included —, passages, dropped quotes, notes), the question
coverage, the questions that must not be asked, the text addressed to the AI, and the warnings. The Markdown,
the HTML template (`templates/scorecard.html.j2`) and the CSV all render that view, so they cannot disagree
on a score or a quote. The web app can render it too: `scorecard_view(card)` for a whole card, or
`criterion_view(proposal, decision, final_score)` for one criterion under review (the CLI's interactive
review shows `criterion_markdown(criterion_view(p))`). Every value in the view is plain text: escape it
(Jinja2's autoescape does).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from evaluator.findings import Flag
from evaluator.render.markdown import PROHIBITED_NOTE, md_bullets, md_table, prohibited_section
from evaluator.render.registry import writer
from evaluator.scorecard import Draft, FinalScorecard
from evaluator.text import fmt_time

STATUS_TEXT = {
    "proposed": "proposed by the AI",
    "no_evidence": "no verified candidate evidence: 0 (Not Enough Information Gathered to Evaluate)",
    "needs_reviewer": "not scored by the AI: a reviewer must score it",
    "failed": "the AI call failed: a reviewer must score it (or re-run evaluate)",
}

SCORECARD_CSV_COLUMNS = [
    "candidate", "role", "stage_id", "stage", "interviewers", "document", "revision", "reviewer",
    "criterion_id", "criterion_name", "kind", "scale", "ai_status", "ai_score", "ai_label",
    "final_score", "final_label", "decision", "decided_by", "decided_at", "override_reason",
    "quote_count", "first_quote", "first_quote_time", "first_quote_segment", "notes", "interview",
]


def _squash(text: str) -> str:
    return " ".join(str(text).split())


def _cut(text: str, n: int) -> tuple[str, bool]:
    return text[:n], len(text) > n


# ---------------------------------------------------------------- the view model


class QuoteView(BaseModel):
    """A verified quote as every output shows it."""

    text: str = Field(description="The words, whitespace collapsed.")
    speaker: str
    time: str = Field(description="m:ss, or --:-- without times.")
    start_s: float | None = None
    segment_id: str
    segment_ids: list[str]
    segments: str = Field(description="'s0003', or 's0003–s0005' for a quote over several segments.")
    match_score: float
    exact: bool
    added_by: str = Field(description="'ai', or the reviewer who added it.")

    @property
    def where(self) -> str:
        """'1:05, s0003'."""
        return f"{self.time}, {self.segments}"


class PassageView(BaseModel):
    """A relevant passage shown to the reviewer when the AI gave no quotes."""

    time: str
    segment_ids: list[str] = Field(description="The first three.")
    more_segments: bool
    text: str = Field(description="At most 300 characters.")
    truncated: bool


class DroppedView(BaseModel):
    """A quote the model claimed that is not evidence, and why."""

    text: str = Field(description="At most 160 characters.")
    reason: str


class DecisionView(BaseModel):
    """A person's decision on one criterion."""

    action: str
    verb: str = Field(description="'confirmed', 'overridden', or 'scored' (the AI left it unscored).")
    reviewer: str
    decided_at: str
    reason: str
    notes: str


class CriterionView(BaseModel):
    """One criterion: scale, AI proposal, decision, final score, evidence."""

    criterion_id: str
    criterion_name: str
    kind: str
    scale: tuple[int, int]
    anchors: list[tuple[int, str]] = Field(description="Sorted by score.")
    status: str
    status_text: str
    ai_score: int | None
    ai_label: str = ""
    ai_text: str = Field(description="'3 (Good)', or '—' when unscored.")
    model_score: int | None = Field(default=None, description="Set only when the evidence rules changed it.")
    error: str | None = None
    decision: DecisionView | None = None
    final_score: int | None = None
    final_label: str = ""
    final_text: str = "—"
    based_on: list[str] = Field(default_factory=list)
    rationale: str = ""
    quotes: list[QuoteView] = Field(default_factory=list, description="The AI's, then the reviewer's.")
    ai_quotes: int = 0
    passages: list[PassageView] = Field(default_factory=list, description="Only when the AI gave no quotes.")
    dropped: list[DroppedView] = Field(default_factory=list)


class CoverageRow(BaseModel):
    """One guide question in the scorecard's coverage table."""

    question_id: str
    asked: bool
    time: str
    areas_covered: int
    areas_total: int


class CoverageView(BaseModel):
    """The question coverage the scorecard records."""

    asked: int
    total: int
    asked_pct: float
    directions_given: bool
    extra_questions: int
    questions: list[CoverageRow]


class InjectionView(BaseModel):
    """A sentence addressed to the AI (flagged, no effect on scores)."""

    time: str
    segment_id: str
    speaker: str
    text: str = Field(description="At most 200 characters.")
    pattern: str


class ScorecardView(BaseModel):
    """Everything a scorecard report shows, computed once from a draft or a final scorecard."""

    final: bool
    title: str
    candidate: str
    interviewers: list[str]
    role: str
    guide_id: str
    guide_version: str
    stage_id: str
    stage_name: str
    interview: str | None
    llm_model: str | None
    llm_endpoint_host: str | None
    transcription_model: str | None
    prompt_versions: list[tuple[str, str]]
    # a draft
    created_at: str = ""
    elapsed_s: float = 0.0
    total_tokens: int = 0
    quotes_proposed: int = 0
    quotes_verified: int = 0
    quotes_dropped: int = 0
    # a final: the audit trail
    reviewer: str = ""
    finalized_at: str = ""
    revision: int = 0
    draft_sha256: str = ""
    previous_sha256: str | None = None
    notes: str = ""
    criteria: list[CriterionView]
    coverage: CoverageView | None = Field(description="None when the stage has no required questions.")
    prohibited_questions: list[Flag]
    injection_flags: list[InjectionView]
    warnings: list[str]


def decision_verb(proposal, decision) -> str:
    """'confirmed', 'overridden', or 'scored' (a person scored what the AI left unscored)."""
    if decision.action == "confirm":
        return "confirmed"
    return "scored" if proposal.score is None else "overridden"


def _anchor(p, score) -> str:
    """'3 (Good)' / '—' for a score on a proposal's scale."""
    if score is None:
        return "—"
    label = p.anchors.get(score)
    return f"{score} ({label})" if label else str(score)


def _quote(q) -> QuoteView:
    segs = q.segment_ids or [q.segment_id]
    return QuoteView(text=_squash(q.quote), speaker=q.speaker or "candidate", time=fmt_time(q.start_s),
                     start_s=q.start_s, segment_id=q.segment_id, segment_ids=segs,
                     segments=segs[0] if len(segs) == 1 else f"{segs[0]}–{segs[-1]}", match_score=q.match_score,
                     exact=q.match_score >= 0.999, added_by=q.added_by)


def criterion_view(p, decision=None, final_score=None) -> CriterionView:
    """One criterion of a draft (`p`, a ProposedScore) or a final (with its Decision and final score)."""
    passages = []
    if not p.quotes:
        for ps in p.passages[:4]:
            text, cut = _cut(_squash(ps.text), 300)
            passages.append(PassageView(time=fmt_time(ps.start_s), segment_ids=ps.segment_ids[:3],
                                        more_segments=len(ps.segment_ids) > 3, text=text, truncated=cut))
    d = None
    if decision is not None:
        d = DecisionView(action=decision.action, verb=decision_verb(p, decision), reviewer=decision.reviewer,
                         decided_at=decision.decided_at, reason=decision.reason, notes=_squash(decision.notes))
    added = list(decision.added_quotes) if decision is not None else []
    return CriterionView(
        criterion_id=p.criterion_id, criterion_name=p.criterion_name, kind=p.kind, scale=p.scale,
        anchors=sorted(p.anchors.items()), status=p.status, status_text=STATUS_TEXT.get(p.status, p.status),
        ai_score=p.score, ai_label=p.anchors.get(p.score, "") if p.score is not None else "",
        ai_text=_anchor(p, p.score),
        model_score=p.model_score if p.model_score is not None and p.model_score != p.score else None,
        error=p.error, decision=d, final_score=final_score,
        final_label=p.anchors.get(final_score, "") if final_score is not None else "",
        final_text=_anchor(p, final_score), based_on=list(p.based_on), rationale=_squash(p.rationale),
        quotes=[_quote(q) for q in list(p.quotes) + added], ai_quotes=len(p.quotes), passages=passages,
        dropped=[DroppedView(text=_squash(x.quote)[:160], reason=x.reason) for x in p.dropped])


def _title(card) -> str:
    who = card.candidate or "candidate"
    if card.kind == "final":
        rev = f", revision {card.revision}" if card.revision > 1 else ""
        return f"Final scorecard{rev}: {who} — {card.source.stage_name}"
    return f"Draft scorecard: {who} — {card.source.stage_name}"


def scorecard_view(card: Draft | FinalScorecard) -> ScorecardView:
    """The view of a draft or a final scorecard that every output renders."""
    final = card.kind == "final"
    src = card.source
    if final:
        criteria = [criterion_view(c.proposal, c.decision, c.final_score) for c in card.criteria]
        extra = dict(reviewer=card.reviewer, finalized_at=card.finalized_at, revision=card.revision,
                     draft_sha256=card.draft_sha256, previous_sha256=card.previous_sha256, notes=card.notes)
    else:
        criteria = [criterion_view(p) for p in card.scores]
        ev = card.evidence
        extra = dict(created_at=card.created_at, elapsed_s=card.elapsed_s, total_tokens=card.usage.total_tokens,
                     quotes_proposed=ev.proposed, quotes_verified=ev.verified, quotes_dropped=ev.dropped)
    cov = card.coverage
    coverage = None
    if cov.total:
        coverage = CoverageView(
            asked=cov.asked, total=cov.total, asked_pct=cov.asked_pct, directions_given=cov.directions_given,
            extra_questions=cov.extra_questions,
            questions=[CoverageRow(question_id=q.question_id, asked=q.asked, time=fmt_time(q.start_s),
                                   areas_covered=q.areas_covered, areas_total=q.areas_total) for q in cov.questions])
    return ScorecardView(
        final=final, title=_title(card), candidate=card.candidate, interviewers=list(card.interviewers),
        role=src.guide_role, guide_id=src.guide_id, guide_version=src.guide_version, stage_id=src.stage_id,
        stage_name=src.stage_name, interview=src.transcript_source, llm_model=src.llm_model,
        llm_endpoint_host=src.llm_endpoint_host, transcription_model=src.transcription_model,
        prompt_versions=sorted(src.prompt_versions.items()), criteria=criteria, coverage=coverage,
        prohibited_questions=list(card.prohibited_questions),
        injection_flags=[InjectionView(time=fmt_time(f.start_s), segment_id=f.segment_id, speaker=f.speaker,
                                       text=_squash(f.text)[:200], pattern=f.pattern) for f in card.injection_flags],
        warnings=list(card.warnings), **extra)


# ---------------------------------------------------------------- Markdown


def _quote_line(q: QuoteView) -> str:
    by = "" if q.added_by == "ai" else f" — added by {q.added_by}"
    fuzzy = "" if q.exact else f" (match {q.match_score:.2f})"
    return f"> \u201c{q.text}\u201d — {q.speaker}, {q.where}{fuzzy}{by}"


def criterion_markdown(c: CriterionView, *, heading: str = "###") -> str:
    """One criterion: scale, AI proposal, decision, rationale, evidence with times, dropped quotes, notes."""
    lo, hi = c.scale
    out = [f"{heading} {c.criterion_name} (`{c.criterion_id}`, {c.kind}, {lo}-{hi})", ""]
    out.append("- Anchors: " + "; ".join(f"{k} = {v}" for k, v in c.anchors))
    out.append(f"- **AI proposal: {c.ai_text}** — {c.status_text}")
    if c.model_score is not None:
        out.append(f"- The model said {c.model_score}; the evidence rules changed it to {c.ai_text}")
    if c.error:
        out.append(f"- Error: {c.error}")
    d = c.decision
    if d is not None:
        if d.action == "confirm":
            out.append(f"- **Final: {c.final_text}** — confirmed by {d.reviewer} ({d.decided_at})")
        else:
            out.append(f"- **Final: {c.final_text}** — {d.verb} by {d.reviewer} ({d.decided_at}): {d.reason}")
    if c.based_on:
        out.append("- Based on: " + ", ".join(f"`{b}`" for b in c.based_on))
    out.append("")
    if c.rationale:
        out += [f"_Rationale:_ {c.rationale}", ""]
    if c.quotes:
        out += ["**Evidence:**", ""] + [line for q in c.quotes for line in (_quote_line(q), "")]
    elif c.status != "needs_reviewer":
        out += ["_No verified candidate evidence._", ""]
    if c.passages:
        out += ["**Relevant passages (for the reviewer):**", ""]
        for ps in c.passages:
            out.append(f"- {ps.time} ({', '.join(ps.segment_ids)}{'…' if ps.more_segments else ''}): "
                       f"{ps.text}{'…' if ps.truncated else ''}")
        out.append("")
    if c.dropped:
        out += ["**Dropped quotes (not evidence):**", ""]
        out += [f"- \u201c{x.text}\u201d — {x.reason}" for x in c.dropped]
        out.append("")
    if d is not None and d.notes:
        out += ["**Reviewer notes:** " + d.notes, ""]
    return "\n".join(out).rstrip() + "\n"


def _coverage_lines(cov: CoverageView | None) -> list[str]:
    if cov is None:
        return []
    out = ["## Question coverage", "",
           f"- Required questions asked: **{cov.asked}/{cov.total}** ({cov.asked_pct:.0f}%)",
           f"- Directions shared with the candidate: {'yes' if cov.directions_given else 'not found'}"]
    if cov.extra_questions:
        out.append(f"- Questions not in the guide: {cov.extra_questions}")
    out.append("")
    if cov.questions:
        rows = [[f"`{q.question_id}`", f"yes @ {q.time}" if q.asked else "**no**",
                 f"{q.areas_covered}/{q.areas_total}"] for q in cov.questions]
        out += [md_table(["question", "asked", "areas covered"], rows), ""]
    return out


def scorecard_markdown(v: ScorecardView) -> str:
    """A scorecard view as Markdown: header, summary table, coverage, every criterion with evidence."""
    out = [f"# {v.title}", ""]
    if not v.final:
        out += ["> **Draft:** AI proposals for a person to confirm or override "
                "(`interview-eval review`). Not a hiring decision.", ""]
    out.append(f"- Candidate: {v.candidate or 'not recorded'}; interviewer(s): "
               f"{', '.join(v.interviewers) or 'not recorded'}")
    out.append(f"- Role: {v.role} (guide `{v.guide_id}` version {v.guide_version}); "
               f"stage: {v.stage_name} (`{v.stage_id}`)")
    if v.interview:
        out.append(f"- Interview: `{v.interview}`")
    if v.llm_model:
        models = [f"LLM {v.llm_model}" + (f" at {v.llm_endpoint_host}" if v.llm_endpoint_host else "")]
    else:
        models = ["no LLM (scores by a person)" if v.final else "**no LLM configured: scores need a reviewer**"]
    if v.transcription_model:
        models.append(f"transcription {v.transcription_model}")
    if v.prompt_versions:
        models.append("prompts " + ", ".join(f"{k} {ver}" for k, ver in v.prompt_versions))
    out.append("- " + "; ".join(models))
    if v.final:
        out.append(f"- Reviewed by **{v.reviewer}**, finalised {v.finalized_at}; revision {v.revision}")
        out.append(f"- From draft sha256 `{v.draft_sha256[:16]}…`"
                   + (f"; replaces sha256 `{v.previous_sha256[:16]}…`" if v.previous_sha256 else ""))
    else:
        out.append(f"- Created {v.created_at} in {v.elapsed_s:.1f} s; {v.total_tokens} tokens; quotes: "
                   f"{v.quotes_proposed} proposed, {v.quotes_verified} verified, {v.quotes_dropped} dropped")
    out.append("")
    out += prohibited_section(v.prohibited_questions, note=" " + PROHIBITED_NOTE)
    rows = []
    for c in v.criteria:
        row = [c.criterion_name, c.kind, c.ai_text]
        if v.final:
            row += [c.final_text, f"{c.decision.verb} by {c.decision.reviewer}" if c.decision else "—"]
        rows.append(row + [len(c.quotes)])
    head = ["criterion", "kind", "AI proposal"] + (["final", "decision"] if v.final else []) + ["quotes"]
    out += ["## Summary", "", md_table(head, rows), ""]
    out += _coverage_lines(v.coverage)
    out += ["## Criteria", ""]
    out += [criterion_markdown(c) for c in v.criteria]
    out += md_bullets("Text addressed to the AI (flagged, no effect on scores)",
                      [f"{f.time} ({f.segment_id}) {f.speaker}: \u201c{f.text}\u201d — {f.pattern}"
                       for f in v.injection_flags])
    out += md_bullets("Warnings", v.warnings)
    if v.final and v.notes:
        out += ["## Notes", "", v.notes, ""]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- CSV


def _cell(text) -> str:
    """A text cell safe for spreadsheets: no formula injection from interview text ('=...', '+...')."""
    s = "" if text is None else _squash(text)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def scorecard_csv(v: ScorecardView) -> str:
    """One row per criterion, for spreadsheets and applicant-tracking systems (RFC 4180, header row)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(SCORECARD_CSV_COLUMNS)
    for c in v.criteria:
        d = c.decision
        q0 = c.quotes[0] if c.quotes else None
        w.writerow([
            _cell(v.candidate), _cell(v.role), v.stage_id, _cell(v.stage_name), _cell("; ".join(v.interviewers)),
            "final" if v.final else "draft", v.revision if v.final else "", _cell(v.reviewer) if v.final else "",
            c.criterion_id, _cell(c.criterion_name), c.kind, f"{c.scale[0]}-{c.scale[1]}", c.status,
            "" if c.ai_score is None else c.ai_score, _cell(c.ai_label),
            "" if c.final_score is None else c.final_score, _cell(c.final_label),
            d.action if d else "", _cell(d.reviewer) if d else "", d.decided_at if d else "",
            _cell(d.reason) if d else "", len(c.quotes), _cell(q0.text) if q0 else "",
            q0.time if q0 else "", q0.segment_id if q0 else "", _cell(d.notes) if d else "", _cell(v.interview or ""),
        ])
    return buf.getvalue()


# ---------------------------------------------------------------- the writers


@writer(Draft, "md")
@writer(FinalScorecard, "md")
def render_scorecard_markdown(card: Draft | FinalScorecard) -> str:
    """A draft or final scorecard as Markdown."""
    return scorecard_markdown(scorecard_view(card))


@writer(Draft, "html")
@writer(FinalScorecard, "html")
def render_scorecard_html(card: Draft | FinalScorecard, title: str | None = None) -> str:
    """A draft or final scorecard as one self-contained, printable HTML page (inline CSS, no external assets)."""
    from evaluator.render.pages import page

    v = scorecard_view(card)
    return page("scorecard.html.j2", v=v, title=title or v.title, prohibited_note=PROHIBITED_NOTE)


@writer(Draft, "csv")
@writer(FinalScorecard, "csv")
def render_scorecard_csv(card: Draft | FinalScorecard) -> str:
    """A draft or final scorecard as CSV, one row per criterion."""
    return scorecard_csv(scorecard_view(card))
