"""Proposed scores: relevant passages per criterion in, prompts out, evidence rules enforced on the way back.

The LLM proposes; this module checks. Every quote is looked up in the transcript (evidence.py);
quotes not found, or spoken by the interviewer, are dropped and flagged; a criterion left without
verified candidate evidence is scored 0 (Not Enough Information Gathered to Evaluate). Without an
LLM the draft still carries, per criterion, the passages alignment found relevant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, create_model

from evaluator.coverage import coverage_summary
from evaluator.align import Alignment, Vocab, concept_words, weighted_coverage
from evaluator.evidence import (
    QuoteIndex,
    detect_injection,
    fence,
    fence_lines,
    split_line,
    transcript_line,
    verify_quote,
    withheld_ranges,
)
from evaluator.guide import Criterion, CriterionKind, Guide, Stage, StageKind
from evaluator.prompts import load_prompt
from evaluator.scorecard import (
    NOT_ENOUGH_INFORMATION,
    Draft,
    DroppedQuote,
    EvidenceCounts,
    EvidenceQuote,
    Passage,
    ProposedScore,
    SourceInfo,
    Usage,
)
from evaluator.text import fmt_time, sentences
from evaluator.transcript import Role, Segment, Transcript

PASSAGE_TOKEN_BUDGET = 750  # transcript tokens sent per criterion (about 3 minutes of talk)
MAX_QUOTES = 3  # quotes the prompt asks for
CHARS_PER_TOKEN = 4  # the usual estimate for English text
CHUNK_CHARS = 1200  # long passages are cut into chunks of whole lines of at most this size
# What an answer may hold: more is a validation error, and the client re-asks. Bounds the draft's
# size and the verification time whatever a model sends.
MAX_RATIONALE_CHARS = 2000
MAX_QUOTE_CHARS = 400
MAX_QUOTES_ACCEPTED = 8
MAX_BASED_ON = 32


def _at_most(n: int):
    # A validator, not `max_length`: OpenAI strict mode rejects maxLength in a schema (maxItems is fine).
    def check(value: str) -> str:
        if len(value) > n:
            raise ValueError(f"at most {n} characters, got {len(value)}")
        return value

    return AfterValidator(check)


class QuoteClaim(BaseModel):
    """A quote the model cites: the segment id and the words."""

    segment_id: Annotated[str, _at_most(40)]
    quote: Annotated[str, _at_most(MAX_QUOTE_CHARS)]


_Rationale = Annotated[str, _at_most(MAX_RATIONALE_CHARS)]
_Quotes = Annotated[list[QuoteClaim], Field(max_length=MAX_QUOTES_ACCEPTED)]


def assessment_model(criterion: Criterion) -> type[BaseModel]:
    """The response model for one criterion: the score is restricted to the criterion's own scale."""
    allowed = tuple(sorted(criterion.anchors))
    return create_model(
        "CriterionAssessment",
        score=(Literal[allowed], Field(description="A score on the criterion's scale.")),  # type: ignore[valid-type]
        rationale=(_Rationale, Field(description="Why, in terms of the anchors.")),
        quotes=(_Quotes, Field(description="Verbatim candidate quotes with their segment ids.")),
    )


def overall_model(criterion: Criterion) -> type[BaseModel]:
    """The response model for the overall recommendation."""
    allowed = tuple(sorted(criterion.anchors))
    return create_model(
        "OverallAssessment",
        score=(Literal[allowed], ...),  # type: ignore[valid-type]
        rationale=(_Rationale, ...),
        based_on=(Annotated[list[Annotated[str, _at_most(80)]], Field(max_length=MAX_BASED_ON)],
                  Field(description="Criterion ids behind the recommendation.")),
        quotes=(_Quotes, ...),
    )


# ---------------------------------------------------------------- relevant passages


@dataclass
class _Ctx:
    transcript: Transcript
    stage: Stage
    alignment: Alignment
    withheld: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    order: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.order = {s.id: i for i, s in enumerate(self.transcript.segments)}

    def line(self, seg: Segment) -> str:
        """The line passages show (and, neutralised and fenced, what the model reads)."""
        role = seg.role.value.upper()
        if self.stage.kind == StageKind.work_sample and seg.role == Role.interviewer:
            role = "CUSTOMER/INTERVIEWER"
        return transcript_line(seg, role, self.withheld.get(seg.id, []))


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
    candidate turns that share the most vocabulary with the criterion; long material is cut into
    chunks of whole lines (`pack_lines`) and the most relevant chunks kept.
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


def pack_lines(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Whole lines packed in order into chunks of at most `max_chars`. A longer line is cut at sentence
    boundaries, then at words (a word longer than the budget is cut where it must); every piece keeps
    the line's `[segment, time, ROLE]` marker so the model can still cite it."""
    pieces: list[str] = []
    for line in text.split("\n"):
        if len(line) <= max_chars:
            pieces.append(line)
            continue
        prefix, rest = split_line(line)
        pieces += [prefix + part for part in _cut(rest, max(max_chars - len(prefix), 20))]
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for piece in pieces:
        if cur and size + 1 + len(piece) > max_chars:
            chunks.append("\n".join(cur))
            cur, size = [], 0
        size += len(piece) + (1 if cur else 0)
        cur.append(piece)
    if cur:
        chunks.append("\n".join(cur))
    return chunks


def _cut(text: str, budget: int) -> list[str]:
    units: list[str] = []
    for sent in sentences(text) or [text]:
        if len(sent) <= budget:
            units.append(sent)
            continue
        for word in sent.split():
            units += [word[i: i + budget] for i in range(0, len(word), budget)] if len(word) > budget else [word]
    out: list[str] = []
    for unit in units:
        if out and len(out[-1]) + 1 + len(unit) <= budget:
            out[-1] += " " + unit
        else:
            out.append(unit)
    return out


def _fit(passages: list[Passage], cw: list[str], budget_tokens: int) -> list[Passage]:
    """Cut long passages into line-aligned chunks and keep the most relevant ones within budget."""
    vocab = Vocab([cw])
    chunks: list[tuple[float, int, Passage]] = []
    for p in passages:
        for chunk in pack_lines(p.text):
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
    """The rendered scoring prompt for one criterion: the passages fenced as data (and redacted)."""
    prompt = load_prompt("score_criterion")
    extra = []
    if c.kind == CriterionKind.goal:
        extra.append(load_prompt("kind_goal").text())
    if stage.kind == StageKind.work_sample:
        extra.append(load_prompt("kind_work_sample").text())
    lines: list[str] = []
    for p in passages:
        lines += ([""] if lines else []) + p.text.split("\n")
    text = fence_lines(lines, redactor) if lines else "(no candidate turns bear on this criterion)"
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
    seen: set[tuple[str, str]] = set()
    claims = list(claims)
    for claim in claims[:MAX_QUOTES_ACCEPTED]:
        if (claim.segment_id, claim.quote) in seen:
            continue
        seen.add((claim.segment_id, claim.quote))
        quote = redactor.restore(claim.quote) if redactor is not None else claim.quote
        got = verify_quote(quote, index, claimed_segment_id=claim.segment_id)
        if isinstance(got, EvidenceQuote):
            if not any(k.segment_id == got.segment_id and k.quote == got.quote for k in kept):
                kept.append(got)
        else:
            dropped.append(got)
    if len(claims) > MAX_QUOTES_ACCEPTED:
        dropped.append(DroppedQuote(quote=f"({len(claims) - MAX_QUOTES_ACCEPTED} more quotes)",
                                    reason=f"not checked: at most {MAX_QUOTES_ACCEPTED} quotes are checked per answer"))
    return kept, dropped


def apply_evidence_rules(c: Criterion, model_score: int, rationale: str, claims, index: QuoteIndex,
                         passages: list[Passage], redactor=None) -> ProposedScore:
    """Enforce the evidence rules on one model answer (verified quotes or score 0).

    `rationale` is the model's own text (in redacted form with --redact); the proposal carries it
    restored for people. Quotes in sentences flagged as addressed to the AI are refused by `index`."""
    quotes, dropped = _verify(claims, index, redactor)
    rationale = rationale[:MAX_RATIONALE_CHARS]
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


def require_scorecard(guide: Guide, stage: Stage) -> None:
    """A UsageError unless `stage` has a scorecard to draft (a debrief meeting has none)."""
    if not stage.scorecard:
        from evaluator.errors import UsageError

        raise UsageError(f"stage {stage.id!r} has no scorecard to fill in",
                         hint="pick a stage with a scorecard: " + ", ".join(s.id for s in guide.stages if s.scorecard))


def evaluate(transcript: Transcript, guide: Guide, stage: Stage, alignment: Alignment, *, client=None,
             opts: EvaluateOptions | None = None, llm_info: dict | None = None, progress=None) -> Draft:
    """Propose a score for every criterion of the stage; `client` None means no LLM (passages only).

    A re-run is cheap because the LLM client caches answers keyed by everything that determines them
    (model, prompt version, the exact messages), not because an older draft is reused."""
    from evaluator import __version__

    opts = opts or EvaluateOptions()
    started = time.perf_counter()
    flags = detect_injection(transcript)
    redactor = None
    if opts.redact:
        from evaluator.redact import Redactor

        redactor = Redactor.for_transcript(transcript)
    ctx = _Ctx(transcript=transcript, stage=stage, alignment=alignment, withheld=withheld_ranges(flags))
    index = QuoteIndex(transcript, flags)
    warnings = list(transcript.meta.warnings) + list(alignment.warnings)
    require_scorecard(guide, stage)
    criteria = [c for c in stage.scorecard if c.kind != CriterionKind.overall]
    overall = [c for c in stage.scorecard if c.kind == CriterionKind.overall]
    budget = stage_budget(stage, opts)
    passages = {c.id: passages_for(ctx, c, budget_tokens=budget) for c in criteria}
    proposals: dict[str, ProposedScore] = {}
    model_rationales: dict[str, str] = {}  # as the model wrote them (redacted form), for the overall request
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
        salt = {"redaction": "on" if opts.redact else "off"}  # an answer never crosses redaction settings
        jobs = [LLMJob(messages=criterion_messages(guide, stage, c, passages[c.id], opts, redactor),
                       response_model=assessment_model(c), prompt_id=p.id,
                       prompt_version=_version_key(prompt_versions), cache_salt=salt) for c in criteria]
        results = client.map_complete(jobs, on_done=progress) if jobs else []
        for c, res in zip(criteria, results):
            if isinstance(res, LLMError):
                proposals[c.id] = ProposedScore(
                    criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
                    status="failed", error=res.one_line(), passages=passages[c.id],
                    rationale="The LLM call failed; re-run `evaluate` to fill this in (answers already received "
                              "are cached).")
                continue
            v = res.value
            ps = apply_evidence_rules(c, v.score, v.rationale, v.quotes, index, passages[c.id], redactor)
            ps.usage = res.usage
            ps.cached = res.cached
            proposals[c.id] = ps
            model_rationales[c.id] = v.rationale
        for c in overall:
            proposals[c.id] = _overall(client, guide, stage, c, [proposals[x.id] for x in criteria], model_rationales,
                                       index, opts, prompt_versions, redactor)
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
                        "not the candidate's words, or flagged); see each criterion")
    for f in flags:
        warnings.append(f"{f.segment_id} ({fmt_time(f.start_s)}, {f.speaker or 'unknown'}): a sentence addressed to "
                        f"the AI ({f.pattern}) was withheld from the model and is not evidence: "
                        f"\u201c{f.text[:100]}\u201d")
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
        elapsed_s=round(time.perf_counter() - started, 3), coverage=coverage_summary(alignment),
        injection_flags=flags, redacted=opts.redact, warnings=warnings, transcript=transcript,
    )


def _version_key(versions: dict[str, str]) -> str:
    return "+".join(f"{k}@{v}" for k, v in sorted(versions.items()))


def _overall(client, guide, stage, c: Criterion, others: list[ProposedScore], model_rationales: dict[str, str],
             index: QuoteIndex, opts: EvaluateOptions, versions: dict, redactor) -> ProposedScore:
    from evaluator.llm import LLMError

    with_evidence = [o for o in others if o.quotes]
    if not with_evidence:
        return ProposedScore(criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale,
                             anchors=c.anchors, status="needs_reviewer", based_on=[o.criterion_id for o in others],
                             rationale="No criterion has verified candidate evidence, so there is nothing to base a "
                                       "recommendation on; a person must decide.")
    prompt = load_prompt("score_overall")
    versions[prompt.id] = prompt.version
    # Everything from the model or the transcript is data, in the form the model may see: its own
    # rationale as it wrote it (placeholders kept) and the verified quotes redacted again.
    rows: list[tuple[str, str]] = []
    for o in others:
        if o.status == "proposed":
            head, why = f"- {o.criterion_id} ({o.criterion_name}): {o.score} / {o.scale[1]}. ", \
                model_rationales.get(o.criterion_id, "")
        elif o.status == "no_evidence":
            head, why = f"- {o.criterion_id} ({o.criterion_name}): 0 / {o.scale[1]}. ", NOT_ENOUGH_INFORMATION
        else:
            head, why = f"- {o.criterion_id} ({o.criterion_name}): needs a reviewer. ", ""
        rows.append((head, why))
        rows += [(f"    [{q.segment_id}] ", f"\u201c{q.quote}\u201d") for q in o.quotes]
    msgs = prompt.render(role=guide.role, stage_name=stage.name, anchors=_anchors_text(c),
                         criteria=fence(rows, redactor, label="CRITERIA_DATA"),
                         allowed_scores=", ".join(str(k) for k in sorted(c.anchors)), max_quotes=str(opts.max_quotes))
    try:
        res = client.complete(msgs, overall_model(c), prompt_id=prompt.id, prompt_version=prompt.version,
                              cache_salt={"redaction": "on" if redactor is not None else "off"})
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
