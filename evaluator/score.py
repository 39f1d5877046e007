"""Proposed scores: relevant passages per criterion in, prompts out, evidence rules enforced on the way back.

The LLM proposes; this module checks. Every quote is looked up in the transcript (evidence.py);
quotes not found, or spoken by the interviewer, are dropped and flagged; a criterion left without
verified candidate evidence is scored 0 (Not Enough Information Gathered to Evaluate). Without an
LLM the draft still carries, per criterion, the passages alignment found relevant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field, create_model

from evaluator.align import Alignment, Vocab, concept_words, weighted_coverage
from evaluator.evidence import QuoteIndex, detect_injection, verify_quote
from evaluator.guide import Criterion, CriterionKind, Guide, Stage, StageKind
from evaluator.prompts import load_prompt
from evaluator.scorecard import (
    NOT_ENOUGH_INFORMATION,
    Draft,
    DroppedQuote,
    EvidenceCounts,
    EvidenceQuote,
    InjectionFlag,
    Passage,
    ProposedScore,
    SourceInfo,
    Usage,
)
from evaluator.text import fmt_time
from evaluator.transcript import Role, Segment, Transcript

PASSAGE_TOKEN_BUDGET = 750  # transcript tokens sent per criterion (about 3 minutes of talk)
MAX_QUOTES = 3
CHARS_PER_TOKEN = 4  # the usual estimate for English text


class QuoteClaim(BaseModel):
    """A quote the model cites: the segment id and the words."""

    segment_id: str
    quote: str


def assessment_model(criterion: Criterion) -> type[BaseModel]:
    """The response model for one criterion: the score is restricted to the criterion's own scale."""
    allowed = tuple(sorted(criterion.anchors))
    return create_model(
        "CriterionAssessment",
        score=(Literal[allowed], Field(description="A score on the criterion's scale.")),  # type: ignore[valid-type]
        rationale=(str, Field(description="Why, in terms of the anchors.")),
        quotes=(list[QuoteClaim], Field(description="Verbatim candidate quotes with their segment ids.")),
    )


def overall_model(criterion: Criterion) -> type[BaseModel]:
    """The response model for the overall recommendation."""
    allowed = tuple(sorted(criterion.anchors))
    return create_model(
        "OverallAssessment",
        score=(Literal[allowed], ...),  # type: ignore[valid-type]
        rationale=(str, ...),
        based_on=(list[str], Field(description="Criterion ids behind the recommendation.")),
        quotes=(list[QuoteClaim], ...),
    )


# ---------------------------------------------------------------- relevant passages


@dataclass
class _Ctx:
    transcript: Transcript
    stage: Stage
    alignment: Alignment
    flagged: dict[str, InjectionFlag] = field(default_factory=dict)
    redactor: object | None = None
    order: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.order = {s.id: i for i, s in enumerate(self.transcript.segments)}

    def line(self, seg: Segment) -> str:
        role = seg.role.value.upper()
        if self.stage.kind == StageKind.work_sample and seg.role == Role.interviewer:
            role = "CUSTOMER/INTERVIEWER"
        text = seg.text
        if seg.id in self.flagged:
            text = "[removed: text addressed to the AI; flagged for the reviewer]"
        if self.redactor is not None:
            text = self.redactor.redact(text)
        return f"[{seg.id}, {fmt_time(seg.start_s)}, {role}] {text}"


def _criterion_text(c: Criterion) -> str:
    anchors = " ".join(t for k, t in c.anchors.items() if k > 0 and t != NOT_ENOUGH_INFORMATION)
    return f"{c.name.removeprefix('Goal:')} {c.name} {anchors}"


def relevant_question_ids(stage: Stage, criterion: Criterion) -> list[str]:
    """Questions that inform a criterion: by the guide's competency tags, else by shared vocabulary."""
    tagged = [q.id for q in stage.questions_for(criterion.id)]
    if tagged:
        return tagged
    cw = concept_words(_criterion_text(criterion))
    docs = [concept_words(q.text + " " + " ".join(q.areas_to_cover) + " " + " ".join(q.follow_ups))
            for q in stage.questions]
    vocab = Vocab(docs + [cw])
    scored = sorted(((weighted_coverage(d, set(cw), vocab), q.id) for d, q in zip(docs, stage.questions)), reverse=True)
    top = [qid for s, qid in scored if s >= 0.25][:3]
    return top or [qid for s, qid in scored[:2] if s > 0.05]


def passages_for(ctx: _Ctx, criterion: Criterion, *, budget_tokens: int = PASSAGE_TOKEN_BUDGET) -> list[Passage]:
    """The parts of the transcript that bear on one criterion, within a token budget.

    Answers to the questions that inform the criterion (found by alignment) come first; then the
    candidate turns that share the most vocabulary with the criterion; long material is split with
    langchain's text splitter and the most relevant chunks kept.
    """
    order = ctx.order
    chosen: list[tuple[str | None, list[Segment]]] = []
    seen: set[str] = set()
    for qid in relevant_question_ids(ctx.stage, criterion):
        m = next((x for x in ctx.alignment.questions if x.question_id == qid), None)
        if m is None or not m.asked or not m.answer_segment_ids:
            continue
        first, last = order[m.segment_ids[0]], order[m.answer_segment_ids[-1]]
        span = [s for s in ctx.transcript.segments[first: last + 1] if s.id not in seen]
        seen.update(s.id for s in span)
        chosen.append((qid, span))
    # candidate turns elsewhere that speak to the criterion (answers given without the question,
    # and the whole conversation of a work sample that has no scripted questions)
    cw = concept_words(_criterion_text(criterion))
    vocab = Vocab([cw])
    ranked = []
    for s in ctx.transcript.segments:
        if s.role != Role.candidate or s.id in seen:
            continue
        score = weighted_coverage(cw, set(concept_words(s.text)), vocab)
        if score > 0.12 or not ctx.stage.questions:
            ranked.append((score, s))
    ranked.sort(key=lambda x: (-x[0], order[x[1].id]))

    passages = [_passage(ctx, qid, span) for qid, span in chosen if span]
    used = sum(len(p.text) for p in passages) // CHARS_PER_TOKEN
    if used > budget_tokens:
        passages = _fit(passages, cw, budget_tokens)
        used = sum(len(p.text) for p in passages) // CHARS_PER_TOKEN
    if chosen:
        # the answers to the questions behind the criterion carry it; add only strong mentions elsewhere
        ranked = [(sc, s) for sc, s in ranked if sc >= 0.3][:2]
    for _, s in ranked:
        # the interviewer line before a candidate turn gives it context
        i = order[s.id]
        prev = ctx.transcript.segments[i - 1] if i > 0 and ctx.transcript.segments[i - 1].role != Role.candidate else None
        span = ([prev] if prev is not None and prev.id not in seen else []) + [s]
        p = _passage(ctx, None, span)
        cost = len(p.text) // CHARS_PER_TOKEN
        if used + cost > budget_tokens:
            if not passages and not ctx.stage.questions:
                passages += _fit([p], cw, budget_tokens)
            break
        passages.append(p)
        seen.update(x.id for x in span)
        used += cost
    passages.sort(key=lambda p: order[p.segment_ids[0]])
    return passages


def _passage(ctx: _Ctx, qid: str | None, span: list[Segment]) -> Passage:
    return Passage(question_id=qid, segment_ids=[s.id for s in span], start_s=span[0].start_s,
                   end_s=span[-1].end_s, text="\n".join(ctx.line(s) for s in span))


def _fit(passages: list[Passage], cw: list[str], budget_tokens: int) -> list[Passage]:
    """Split long passages into line-aligned chunks and keep the most relevant ones within budget."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1200, chunk_overlap=0, separators=["\n", ". ", " "])
    vocab = Vocab([cw])
    chunks: list[tuple[float, int, Passage]] = []
    for p in passages:
        for k, chunk in enumerate(splitter.split_text(p.text)):
            ids = [sid for sid in p.segment_ids if f"[{sid}," in chunk] or p.segment_ids[:1]
            chunks.append((weighted_coverage(cw, set(concept_words(chunk)), vocab), len(chunks),
                           Passage(question_id=p.question_id, segment_ids=ids, start_s=p.start_s, end_s=p.end_s,
                                   text=chunk)))
    chunks.sort(key=lambda c: (-c[0], c[1]))
    kept, used = [], 0
    for _, k, p in chunks:
        cost = len(p.text) // CHARS_PER_TOKEN
        if used + cost > budget_tokens:
            continue
        kept.append((k, p))
        used += cost
    return [p for _, p in sorted(kept, key=lambda kp: kp[0])]


# ---------------------------------------------------------------- the evaluation


@dataclass
class EvaluateOptions:
    """Knobs of one evaluation."""

    redact: bool = False
    budget_tokens: int = PASSAGE_TOKEN_BUDGET
    max_quotes: int = MAX_QUOTES


def stage_budget(stage: Stage, opts: EvaluateOptions) -> int:
    """Transcript tokens per criterion. A role-play has no questions to point at: every criterion draws on
    the same conversation, so each gets a smaller share of its most relevant turns."""
    return opts.budget_tokens if stage.questions else int(opts.budget_tokens * 0.6)


def _anchors_text(c: Criterion) -> str:
    return "\n".join(f"{k}: {t}" for k, t in c.anchors.items())


def criterion_messages(guide: Guide, stage: Stage, c: Criterion, passages: list[Passage], opts: EvaluateOptions,
                       redactor=None) -> list[dict]:
    """The rendered scoring prompt for one criterion."""
    prompt = load_prompt("score_criterion")
    extra = []
    if c.kind == CriterionKind.goal:
        extra.append(load_prompt("kind_goal").text())
    if stage.kind == StageKind.work_sample:
        extra.append(load_prompt("kind_work_sample").text())
    text = "\n\n".join(p.text for p in passages) or "(no candidate turns bear on this criterion)"
    directions = stage.directions_interviewer or "(none given)"
    if redactor is not None:
        directions = redactor.redact(directions)
    return prompt.render(
        role=guide.role, stage_name=stage.name, directions=directions, criterion_name=c.name,
        criterion_kind=c.kind.value, anchors=_anchors_text(c), kind_instructions=("\n" + "\n".join(extra) + "\n") if extra else "",
        passages=text, allowed_scores=", ".join(str(k) for k in sorted(c.anchors)), max_quotes=str(opts.max_quotes),
    )


def _verify(claims, index: QuoteIndex, redactor) -> tuple[list[EvidenceQuote], list[DroppedQuote]]:
    kept: list[EvidenceQuote] = []
    dropped: list[DroppedQuote] = []
    for claim in claims:
        quote = redactor.restore(claim.quote) if redactor is not None else claim.quote
        got = verify_quote(quote, index, claimed_segment_id=claim.segment_id)
        if isinstance(got, EvidenceQuote):
            if not any(k.segment_id == got.segment_id and k.quote == got.quote for k in kept):
                kept.append(got)
        else:
            dropped.append(got)
    return kept, dropped


def apply_evidence_rules(c: Criterion, model_score: int, rationale: str, claims, index: QuoteIndex,
                         passages: list[Passage], redactor=None, flagged: set[str] = frozenset()) -> ProposedScore:
    """Enforce the evidence rules on one model answer (verified quotes or score 0)."""
    quotes, dropped = _verify(claims, index, redactor)
    for q in list(quotes):  # text addressed to the AI is never evidence
        if q.segment_id in flagged:
            quotes.remove(q)
            dropped.append(DroppedQuote(quote=q.quote, claimed_segment_id=q.segment_id,
                                        reason="flagged as text addressed to the AI", found_segment_id=q.segment_id))
    if redactor is not None:
        rationale = redactor.restore(rationale)
    ps = ProposedScore(criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
                       status="proposed", score=model_score, model_score=model_score, rationale=rationale,
                       quotes=quotes, dropped=dropped, passages=passages)
    if model_score == 0 and c.allows_not_enough_information:
        ps.status = "no_evidence"
    elif not quotes:
        if c.allows_not_enough_information:
            ps.status, ps.score = "no_evidence", 0
            ps.rationale = (f"No verified candidate evidence, so 0 ({NOT_ENOUGH_INFORMATION}). "
                            + (f"The model proposed {model_score}" + (
                                f" citing {len(dropped)} quote(s) that were dropped" if dropped else " without quotes")
                               + f": {rationale}"))
        else:
            ps.status, ps.score = "needs_reviewer", None
            ps.rationale = f"No verified candidate evidence; a person must score this. Model: {model_score}: {rationale}"
    return ps


def _no_llm_proposal(c: Criterion, passages: list[Passage]) -> ProposedScore:
    has_candidate = any("CANDIDATE]" in p.text for p in passages)
    ps = ProposedScore(criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
                       status="needs_reviewer", passages=passages)
    if not has_candidate and c.allows_not_enough_information:
        ps.status, ps.score = "no_evidence", 0
        ps.rationale = f"Nothing the candidate said bears on this criterion: 0 ({NOT_ENOUGH_INFORMATION})."
    else:
        ps.rationale = ("No LLM configured: a reviewer must score this from the passages below "
                        "(set OPENAI_API_KEY or OPENAI_BASE_URL to get a proposal).")
    return ps


def evaluate(transcript: Transcript, guide: Guide, stage: Stage, alignment: Alignment, *, client=None,
             opts: EvaluateOptions | None = None, llm_info: dict | None = None, previous: Draft | None = None,
             progress=None) -> Draft:
    """Propose a score for every criterion of the stage; `client` None means no LLM (passages only)."""
    from evaluator import __version__

    opts = opts or EvaluateOptions()
    started = time.perf_counter()
    flags = detect_injection(transcript)
    redactor = None
    if opts.redact:
        from evaluator.redact import Redactor

        redactor = Redactor(names=[s for s in transcript.speakers if s])
    ctx = _Ctx(transcript=transcript, stage=stage, alignment=alignment, flagged={f.segment_id: f for f in flags},
               redactor=redactor)
    index = QuoteIndex(transcript)
    warnings = list(transcript.meta.warnings) + list(alignment.warnings)
    if not stage.scorecard:
        from evaluator.errors import UsageError

        raise UsageError(f"stage {stage.id!r} has no scorecard to fill in",
                         hint="pick a stage with a scorecard: " + ", ".join(s.id for s in guide.stages if s.scorecard))
    criteria = [c for c in stage.scorecard if c.kind != CriterionKind.overall]
    overall = [c for c in stage.scorecard if c.kind == CriterionKind.overall]
    budget = stage_budget(stage, opts)
    passages = {c.id: passages_for(ctx, c, budget_tokens=budget) for c in criteria}
    proposals: dict[str, ProposedScore] = {}
    prompt_versions = {}
    usage = Usage()

    if client is None:
        for c in criteria:
            proposals[c.id] = _no_llm_proposal(c, passages[c.id])
        for c in overall:
            proposals[c.id] = ProposedScore(
                criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
                status="needs_reviewer", rationale="No LLM configured: the overall recommendation is for a person "
                "to make from the criteria.", based_on=[x.id for x in criteria])
        warnings.append("No LLM configured: scores need a reviewer (set OPENAI_API_KEY, or OPENAI_BASE_URL for a "
                        "local server). Evidence passages per criterion were collected offline.")
    else:
        from evaluator.llm import LLMError, LLMJob

        p = load_prompt("score_criterion")
        prompt_versions[p.id] = p.version
        if any(c.kind == CriterionKind.goal for c in criteria):
            prompt_versions["kind_goal"] = load_prompt("kind_goal").version
        if stage.kind == StageKind.work_sample:
            prompt_versions["kind_work_sample"] = load_prompt("kind_work_sample").version
        todo = [c for c in criteria if not _reusable(previous, c.id)]
        for c in criteria:
            if c not in todo:
                proposals[c.id] = previous.score_for(c.id)
        jobs = [LLMJob(messages=criterion_messages(guide, stage, c, passages[c.id], opts, redactor),
                       response_model=assessment_model(c), prompt_id=p.id,
                       prompt_version=_version_key(prompt_versions)) for c in todo]
        results = client.map_complete(jobs, on_done=progress) if jobs else []
        for c, res in zip(todo, results):
            if isinstance(res, LLMError):
                proposals[c.id] = ProposedScore(
                    criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
                    status="failed", error=res.one_line(), passages=passages[c.id],
                    rationale="The LLM call failed; re-run `evaluate` to fill this in (answers already received "
                              "are cached).")
                continue
            v = res.value
            ps = apply_evidence_rules(c, v.score, v.rationale, v.quotes, index, passages[c.id], redactor,
                                      set(ctx.flagged))
            ps.usage = res.usage
            ps.cached = res.cached
            proposals[c.id] = ps
        for c in overall:
            if _reusable(previous, c.id) and not todo:
                proposals[c.id] = previous.score_for(c.id)
                continue
            proposals[c.id] = _overall(client, guide, stage, c, [proposals[x.id] for x in criteria], index, opts,
                                       prompt_versions, redactor)
        for ps in proposals.values():
            usage = usage + ps.usage

    scores = [proposals[c.id] for c in stage.scorecard]
    counts = EvidenceCounts(
        proposed=sum(len(s.quotes) + len(s.dropped) for s in scores if s.kind != "overall"),
        verified=sum(len(s.quotes) for s in scores if s.kind != "overall"),
        dropped=sum(len(s.dropped) for s in scores if s.kind != "overall"),
    )
    if counts.dropped:
        warnings.append(f"{counts.dropped} quote(s) proposed by the model were dropped (not found in the transcript, "
                        "or not the candidate's words); see each criterion")
    for f in flags:
        warnings.append(f"{f.segment_id} ({fmt_time(f.start_s)}, {f.speaker or 'unknown'}): text addressed to the AI "
                        f"({f.pattern}) was flagged and kept out of scoring: \u201c{f.text[:100]}\u201d")
    info = llm_info or {}
    source = SourceInfo(
        guide_id=guide.id, guide_role=guide.role, guide_version=guide.version, guide_sha256=guide.content_sha256(),
        stage_id=stage.id, stage_name=stage.name, transcript_source=transcript.meta.source,
        transcript_sha256=transcript.meta.source_sha256, transcript_content_sha256=transcript.content_sha256(),
        transcription_model=transcript.meta.asr.model if transcript.meta.asr else None,
        llm_model=info.get("model") if client is not None else None,
        llm_endpoint_host=info.get("endpoint_host") if client is not None else None,
        prompt_versions=prompt_versions, tool_version=__version__,
    )
    names = lambda role: list(dict.fromkeys(s.speaker for s in transcript.segments if s.role == role and s.speaker))
    return Draft(
        candidate=", ".join(names(Role.candidate)), interviewers=names(Role.interviewer), source=source,
        llm_configured=client is not None, scores=scores, evidence=counts, usage=usage,
        elapsed_s=round(time.perf_counter() - started, 3), coverage=_coverage_summary(alignment),
        injection_flags=flags, redacted=opts.redact, warnings=warnings, transcript=transcript,
    )


def _version_key(versions: dict[str, str]) -> str:
    return "+".join(f"{k}@{v}" for k, v in sorted(versions.items()))


def _reusable(previous: Draft | None, cid: str) -> bool:
    if previous is None:
        return False
    try:
        return previous.score_for(cid).status in ("proposed", "no_evidence")
    except KeyError:
        return False


def _overall(client, guide, stage, c: Criterion, others: list[ProposedScore], index: QuoteIndex,
             opts: EvaluateOptions, versions: dict, redactor) -> ProposedScore:
    from evaluator.llm import LLMError

    with_evidence = [o for o in others if o.quotes]
    if not with_evidence:
        return ProposedScore(criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale,
                             anchors=c.anchors, status="needs_reviewer", based_on=[o.criterion_id for o in others],
                             rationale="No criterion has verified candidate evidence, so there is nothing to base a "
                                       "recommendation on; a person must decide.")
    prompt = load_prompt("score_overall")
    versions[prompt.id] = prompt.version
    lines = []
    for o in others:
        sc = "needs a reviewer" if o.score is None else f"{o.score} / {o.scale[1]}"
        lines.append(f"- {o.criterion_id} ({o.criterion_name}): {sc}. {o.rationale}")
        for q in o.quotes:
            quote = redactor.redact(q.quote) if redactor is not None else q.quote
            lines.append(f"    [{q.segment_id}] \u201c{quote}\u201d")
    msgs = prompt.render(role=guide.role, stage_name=stage.name, anchors=_anchors_text(c), criteria="\n".join(lines),
                         allowed_scores=", ".join(str(k) for k in sorted(c.anchors)), max_quotes=str(opts.max_quotes))
    try:
        res = client.complete(msgs, overall_model(c), prompt_id=prompt.id, prompt_version=prompt.version)
    except LLMError as exc:
        return ProposedScore(criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale,
                             anchors=c.anchors, status="failed", error=exc.one_line(),
                             rationale="The LLM call failed; re-run `evaluate` to fill this in.")
    v = res.value
    known = {o.criterion_id for o in others}
    ps = apply_evidence_rules(c, v.score, v.rationale, v.quotes, index, [], redactor)
    ps.based_on = [b for b in v.based_on if b in known] or [o.criterion_id for o in with_evidence]
    if not ps.quotes:  # the overall rests on the verified evidence of the criteria behind it
        ps.quotes = [q for o in with_evidence if o.criterion_id in ps.based_on for q in o.quotes][: opts.max_quotes]
        ps.status, ps.score = "proposed", v.score
        ps.rationale = redactor.restore(v.rationale) if redactor is not None else v.rationale
    ps.usage = res.usage
    ps.cached = res.cached
    return ps


def _coverage_summary(al: Alignment) -> dict:
    return {
        "asked": len(al.asked), "total": len(al.questions), "asked_pct": round(al.coverage_pct, 1),
        "method": al.method,
        "questions": [{"id": q.question_id, "asked": q.asked, "start_s": q.start_s, "confidence": q.confidence,
                       "areas_covered": sum(a.status == "covered" for a in q.areas), "areas_total": len(q.areas)}
                      for q in al.questions],
        "directions_given": bool(al.directions_segment_ids),
        "extra_questions": len(al.extra_questions),
    }
