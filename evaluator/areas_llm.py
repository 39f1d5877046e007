"""`coverage --areas llm`: an LLM judges which areas to cover each answer covered, checked like evidence.

Kept out of `align` so alignment stays offline and never reaches an LLM or a prompt. The same rules as
scoring apply: the answer is sent fenced as data, sentences addressed to the AI are withheld and never
accepted as a quote, and names and contact details are redacted when asked.
"""

from __future__ import annotations

from pydantic import BaseModel

from evaluator.align import Alignment, AreaCoverage, CoverageStatus
from evaluator.guide import Stage
from evaluator.transcript import Transcript


class _AreaClaim(BaseModel):
    index: int
    status: CoverageStatus
    segment_id: str = ""
    quote: str = ""


class _AreaClaims(BaseModel):
    areas: list[_AreaClaim]


def refine_areas_with_llm(al: Alignment, transcript: Transcript, stage: Stage, client, *,
                          redact: bool = False) -> Alignment:
    """Ask the LLM which areas each answer covered; accept a 'covered'/'partly' claim only when its
    quote is found in the candidate's words of that answer (as evidence quotes are) and is not in a
    flagged sentence. Failed calls keep the offline result."""
    from evaluator.evidence import QuoteIndex, detect_injection, fence_lines, transcript_line, verify_quote, \
        withheld_ranges
    from evaluator.llm import LLMError, LLMJob
    from evaluator.prompts import load_prompt
    from evaluator.scorecard import EvidenceQuote
    from evaluator.text import fmt_time

    prompt = load_prompt("areas_to_cover")
    flags = detect_injection(transcript)
    withheld = withheld_ranges(flags)
    index = QuoteIndex(transcript, flags)
    redactor = None
    if redact:
        from evaluator.redact import Redactor

        redactor = Redactor.for_transcript(transcript)
    hide = redactor.redact if redactor is not None else (lambda text: text)
    segs = {s.id: s for s in transcript.segments}
    out = al.model_copy(deep=True)
    out.method = "llm"
    jobs, targets = [], []
    for q, m in zip(stage.questions, out.questions):
        if not m.asked or not m.answer_segment_ids or not q.areas_to_cover:
            continue
        lines = [transcript_line(segs[i], segs[i].role.value.upper(), withheld.get(i, []))
                 for i in m.segment_ids + m.answer_segment_ids if i in segs]
        msgs = prompt.render(question=hide(q.text),
                             areas="\n".join(f"{k}. {hide(a)}" for k, a in enumerate(q.areas_to_cover, 1)),
                             passage=fence_lines(lines, redactor))
        jobs.append(LLMJob(messages=msgs, response_model=_AreaClaims, prompt_id=prompt.id,
                           prompt_version=prompt.version, cache_salt={"redaction": "on" if redact else "off"}))
        targets.append((q, m))
    results = client.map_complete(jobs) if jobs else []
    rejected = 0
    for (q, m), res in zip(targets, results):
        if isinstance(res, LLMError):
            out.warnings.append(f"{q.id}: areas judged offline (LLM call failed: {res.one_line()})")
            continue
        for claim in res.value.areas[: len(m.areas) * 2]:
            k = claim.index - 1
            if not 0 <= k < len(m.areas):
                continue
            if claim.status == "not":
                if not m.areas[k].outside_answer:
                    m.areas[k] = AreaCoverage(area=m.areas[k].area, status="not", score=0.0)
                continue
            quote = redactor.restore(claim.quote) if redactor is not None else claim.quote
            got = verify_quote(quote, index, claimed_segment_id=claim.segment_id or None)
            if isinstance(got, EvidenceQuote) and got.segment_id in m.answer_segment_ids:
                m.areas[k] = AreaCoverage(area=m.areas[k].area, status=claim.status, score=1.0 if
                                          claim.status == "covered" else 0.5, segment_ids=got.segment_ids,
                                          quote=got.quote)
            else:
                rejected += 1
    if rejected:
        out.warnings.append(f"{rejected} LLM area claim(s) had no quote found in the candidate's answer and were "
                            "not accepted (the offline judgement stands)")
    for f in flags:
        out.warnings.append(f"{f.segment_id} ({fmt_time(f.start_s)}): a sentence addressed to the AI ({f.pattern}) "
                            f"was withheld from the model and is not evidence: \u201c{f.text[:100]}\u201d")
    return out
