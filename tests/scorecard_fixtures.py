"""Draft scorecards for tests, built from a real sample transcript and a bundled guide (no LLM).

`make_draft()` reads a sample, assigns roles, loads the guide stage and builds a ProposedScore per
criterion whose quotes are copied verbatim from candidate segments and located with
`evaluator.evidence.locate_quote`, so they obey the same rules as `evaluate`'s.
"""

from __future__ import annotations

from pathlib import Path

from evaluator.evidence import locate_quote
from evaluator.findings import CoverageSummary, QuestionCoverage
from evaluator.formats import read_transcript
from evaluator.guide import load_guide
from evaluator.roles import assign_roles
from evaluator.scorecard import Draft, EvidenceCounts, EvidenceQuote, InjectionFlag, ProposedScore, SourceInfo, sealed
from evaluator.transcript import Role

REPO = Path(__file__).resolve().parent.parent


def candidate_quotes(transcript, n: int, *, offset: int = 0, words: int = 10) -> list[EvidenceQuote]:
    """n verbatim quotes (the first `words` words of long candidate segments), located in the transcript."""
    long = [s for s in transcript.by_role(Role.candidate) if len(s.text.split()) >= words]
    out = []
    for seg in long[offset: offset + n]:
        q = locate_quote(" ".join(seg.text.split()[:words]), transcript)
        assert isinstance(q, EvidenceQuote), q
        out.append(q)
    return out


def make_draft(sample: str = "samples/cam-screening-strong.vtt", *, guide: str = "customer-account-manager",
               stage: str = "screening", scores: dict[str, int | None] | None = None,
               status: dict[str, str] | None = None, candidate: str = "Marcus Lee",
               interviewers: list[str] | None = None, default_score: int = 3,
               llm_configured: bool = True, transcript_role_names: dict | None = None) -> Draft:
    """A draft of `sample` for `guide`/`stage`: every criterion proposed at `default_score` (or `scores[id]`),
    each with two located candidate quotes; `status[id]` = 'needs_reviewer' / 'failed' / 'no_evidence' gives
    that kind of proposal instead (no score, or 0 and no quotes)."""
    t = assign_roles(read_transcript(REPO / sample), **(transcript_role_names or {}))
    g = load_guide(guide)
    st = g.stage(stage)
    scores = scores or {}
    status = status or {}
    props = []
    for i, c in enumerate(st.scorecard):
        kind = status.get(c.id, "proposed")
        score = scores.get(c.id, default_score)
        quotes = candidate_quotes(t, 2, offset=2 * i) if kind == "proposed" else []
        if kind in ("needs_reviewer", "failed"):
            score = None
        elif kind == "no_evidence":
            score = 0 if 0 in c.anchors else None
        props.append(ProposedScore(
            criterion_id=c.id, criterion_name=c.name, kind=c.kind.value, scale=c.scale, anchors=c.anchors,
            status=kind, score=score, model_score=score,
            rationale=f"Test rationale for {c.name}." if kind == "proposed" else "",
            quotes=quotes, error="LLM timed out" if kind == "failed" else None,
            based_on=[x.id for x in st.scorecard if x.kind.value != "overall"] if c.kind.value == "overall" else []))
    n_quotes = sum(len(p.quotes) for p in props)
    src = SourceInfo(guide_id=g.id, guide_role=g.role, guide_version=g.version, guide_sha256=g.content_sha256(),
                     stage_id=st.id, stage_name=st.name, transcript_source=sample,
                     transcript_sha256=t.meta.source_sha256, transcript_content_sha256=t.content_sha256(),
                     llm_model="test-model" if llm_configured else None)
    speakers = {s.speaker for s in t.by_role(Role.interviewer)}
    return sealed(Draft(candidate=candidate, interviewers=interviewers if interviewers is not None else sorted(speakers),
                 source=src, llm_configured=llm_configured, scores=props,
                 evidence=EvidenceCounts(proposed=n_quotes, verified=n_quotes),
                 coverage=CoverageSummary(
                     asked=len(st.questions), total=len(st.questions), asked_pct=100.0, method="offline",
                     directions_given=True,
                     questions=[QuestionCoverage(question_id=q.id, text=q.text, asked=True, start_s=60.0 * (n + 1),
                                                 confidence=0.9, areas_covered=len(q.areas_to_cover),
                                                 areas_total=len(q.areas_to_cover))
                                for n, q in enumerate(st.questions)]),
                 injection_flags=[InjectionFlag(segment_id=t.segments[3].id, start_s=t.segments[3].start_s,
                                                speaker=t.segments[3].speaker, text=t.segments[3].text,
                                                pattern="test flag")] if sample.endswith("hiring-manager.txt") else [],
                 warnings=[], transcript=t))


def write_draft(path: Path, draft: Draft | None = None, **kw) -> Path:
    """Write a draft (default `make_draft(**kw)`), sealed as `evaluate` writes it, as JSON and return the path."""
    draft = sealed(draft or make_draft(**kw))
    path.write_text(draft.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path
