"""`evaluate`: the draft scorecard, with the real openai client over real HTTP to a local stub server."""

from __future__ import annotations

import json
import re

import pytest

from evaluator.align import align
from evaluator.guide import load_guide
from evaluator.inputs import load_interview
from evaluator.scorecard import Draft
from openai_stub import delay, raw, refusal, server_error, rate_limited

from conftest import REPO

STRONG = REPO / "samples" / "cam-screening-strong.vtt"
HIRING = REPO / "samples" / "cam-hiring-manager.txt"
RETENTION = REPO / "samples" / "cam-work-sample-retention-call.srt"
LINE = re.compile(r"^\[(s\d+), [^,\]]+, ([A-Z/]+)\] (.*)$", re.M)


def _messages(req) -> list[dict]:
    """Messages of a request body (handler) or a recorded request."""
    return req["messages"] if isinstance(req, dict) else req.messages


def _user(req) -> str:
    return next(m["content"] for m in reversed(_messages(req)) if m["role"] == "user")


def _lines(req, role="CANDIDATE"):
    text = "\n".join(m["content"] for m in _messages(req) if m["role"] == "user")
    return [(sid, words) for sid, r, words in LINE.findall(text) if r == role]


def _allowed(req) -> list[int]:
    m = re.search(r'"score": one of ([\d, ]+)', _user(req))
    return [int(x) for x in m.group(1).split(",")]


def honest(req):
    """Quote the first candidate line verbatim and score it 3 (the overall: 3 based on its criteria)."""
    if "OVERALL RECOMMENDATION" in _user(req):
        ids = re.findall(r"^- ([a-z0-9-]+) \(", _user(req), re.M)
        quotes = re.findall(r"\[(s\d+)\] \u201c(.*?)\u201d", _user(req))
        return {"score": 3, "rationale": "Solid evidence across criteria.", "based_on": ids[:2],
                "quotes": [{"segment_id": s, "quote": q} for s, q in quotes[:1]]}
    lines = _lines(req)
    if not lines:
        return {"score": 0, "rationale": "No evidence.", "quotes": []}
    sid, words = lines[0]
    quote = " ".join(words.split()[:14])
    return {"score": 3, "rationale": "Meets the 3 anchor.", "quotes": [{"segment_id": sid, "quote": quote}]}


def _env(server, tmp_path, **extra):
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test-secret-123",
           "INTERVIEW_EVAL_CACHE_DIR": str(tmp_path / "cache")}
    env.update(extra)
    return env


def _draft(path) -> Draft:
    return Draft.model_validate_json(path.read_text())


def test_draft_has_a_verified_proposal_for_every_criterion(run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    out = tmp_path / "draft.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out], env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    guide = load_guide("customer-account-manager")
    assert [s.criterion_id for s in d.scores] == [c.id for c in guide.stage("screening").scorecard]
    for s in d.scores:
        assert s.status == "proposed", (s.criterion_id, s.rationale)
        assert s.quotes and all(q.segment_id and q.start_s is not None for q in s.quotes)
        for q in s.quotes:
            seg = d.transcript.segment(q.segment_id)
            assert seg.role.value == "candidate" and q.quote in seg.text
    assert d.evidence.proposed == d.evidence.verified > 0 and d.evidence.dropped == 0
    overall = d.score_for("overall-recommendation")
    assert overall.score == 3 and overall.based_on
    src = d.source
    assert src.llm_model == "gpt-4o-mini" and src.llm_endpoint_host.startswith("127.0.0.1")
    from evaluator.prompts import load_prompt

    assert src.prompt_versions["score_criterion"] == load_prompt("score_criterion").version
    assert src.guide_version == "1" and src.guide_sha256 == guide.content_sha256()
    assert d.usage.total_tokens > 0
    assert "sk-test-secret-123" not in out.read_text()
    # temperature 0 by default; only the relevant parts of the transcript are sent, not all of it
    reqs = llm_server.requests
    assert all(q.temperature == 0 for q in reqs)
    whole = sum(len(s.text) for s in d.transcript.segments)
    assert max(len(_user(q)) for q in reqs) < whole


def test_rerun_costs_nothing_thanks_to_the_cache(run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    env = _env(llm_server, tmp_path)
    run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", tmp_path / "a.json"], env=env)
    n = llm_server.request_count
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", tmp_path / "b.json"], env=env)
    assert r.exit_code == 0 and llm_server.request_count == n
    assert _draft(tmp_path / "b.json").usage.total_tokens == 0


def test_fabricated_quotes_are_dropped_and_the_score_becomes_zero(run_cli, llm_server, tmp_path):
    def liar(req):
        if "OVERALL RECOMMENDATION" in _user(req):
            return {"score": 4, "rationale": "x", "based_on": [], "quotes": []}
        return {"score": 4, "rationale": "Exceptional.", "quotes": [
            {"segment_id": "s0013", "quote": "I single-handedly tripled our revenue in one quarter"}]}
    llm_server.handler = liar
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "--stage", "screening", "-o", out],
                env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    rel = d.score_for("relevant-experience")
    assert rel.status == "no_evidence" and rel.score == 0 and rel.model_score == 4
    assert rel.dropped[0].reason == "not found in the transcript"
    assert "tripled" in rel.dropped[0].quote and not rel.quotes
    assert d.evidence.verified == 0 and d.evidence.dropped == d.evidence.proposed == 6
    assert d.score_for("overall-recommendation").status == "needs_reviewer"
    assert "Not Enough Information" in rel.rationale


def test_quotes_from_the_interviewer_are_not_candidate_evidence(run_cli, llm_server, tmp_path):
    def interviewer_quote(req):
        if "OVERALL RECOMMENDATION" in _user(req):
            return {"score": 2, "rationale": "x", "based_on": [], "quotes": []}
        sid, words = _lines(req, "INTERVIEWER")[0]
        return {"score": 3, "rationale": "r", "quotes": [{"segment_id": sid, "quote": words}]}
    llm_server.handler = interviewer_quote
    out = tmp_path / "d.json"
    run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out], env=_env(llm_server, tmp_path))
    d = _draft(out)
    s = d.score_for("upselling-skills")
    assert s.score == 0 and "interviewer" in s.dropped[0].reason


def test_malformed_json_and_schema_violations_are_reasked(run_cli, llm_server, tmp_path):
    calls = {"n": 0}

    def flaky(req):
        calls["n"] += 1
        user = _user(req)
        if "could not be used" in user or "OVERALL RECOMMENDATION" in user:
            return honest(req)
        return raw("{not json") if calls["n"] % 2 else {"score": 9, "rationale": "too high", "quotes": []}
    llm_server.handler = flaky
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out, "--concurrency", "1"],
                env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    assert all(s.status == "proposed" for s in d.scores)
    assert any("could not be used" in _user(q) for q in llm_server.requests)


def test_rate_limits_and_server_errors_are_retried(run_cli, llm_server, tmp_path):
    llm_server.enqueue(rate_limited(0), server_error(500), server_error(502))
    llm_server.handler = honest
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out, "--concurrency", "1"],
                env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    assert all(s.status == "proposed" for s in _draft(out).scores)


def test_a_failed_criterion_is_marked_the_rest_written_and_a_rerun_fills_only_it(run_cli, llm_server, tmp_path):
    def slow_for_upsell(req):
        if "CRITERION: Upselling Skills" in _user(req):
            return delay(3, honest(req))
        return honest(req)
    llm_server.handler = slow_for_upsell
    out = tmp_path / "d.json"
    env = _env(llm_server, tmp_path, INTERVIEW_EVAL_TIMEOUT="0.5")
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out], env=env)
    assert r.exit_code == 1
    assert "upselling-skills" in r.stderr and "did not answer within 0.5 s" in r.stderr
    d = _draft(out)
    failed = [s.criterion_id for s in d.scores if s.status == "failed"]
    assert failed == ["upselling-skills"]
    assert d.score_for("relevant-experience").status == "proposed"
    llm_server.handler = honest
    before = llm_server.request_count
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out], env=env)
    assert r.exit_code == 0, r.stderr
    sent = [_user(q) for q in llm_server.requests[before:]]
    assert len(sent) == 2  # the failed criterion, then the overall recommendation that depends on it
    assert "CRITERION: Upselling Skills" in sent[0]
    assert all(s.status == "proposed" for s in _draft(out).scores)


def test_a_refusal_fails_that_criterion_with_the_reason(run_cli, llm_server, tmp_path):
    def refuse_goal(req):
        if "CRITERION: Goal:" in _user(req):
            return refusal("I can't help with that.")
        return honest(req)
    llm_server.handler = refuse_goal
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out], env=_env(llm_server, tmp_path))
    assert r.exit_code == 1
    goal = next(s for s in _draft(out).scores if s.kind == "goal")
    assert goal.status == "failed" and "refused" in goal.error


def test_text_addressed_to_the_ai_is_flagged_and_never_sent(run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", HIRING, "-g", "customer-account-manager", "-o", out], env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    assert d.injection_flags and "ignore the rubric" in d.injection_flags[0].text
    assert all("ignore the rubric" not in _user(q) for q in llm_server.requests)
    flagged = d.injection_flags[0].segment_id
    assert all(q.segment_id != flagged for s in d.scores for q in s.quotes)
    assert any("addressed to the AI" in w for w in d.warnings)


def test_the_prompt_carries_the_rules_anchors_and_directions(llm_server, tmp_path):
    from evaluator.llm import LLMClient, settings_from
    from evaluator.score import evaluate

    llm_server.handler = honest
    g = load_guide("customer-account-manager")
    st = g.stage("behavioral")
    t = load_interview(STRONG, guide=g)
    client = LLMClient(settings_from(base_url=llm_server.base_url, api_key="k", cache_dir=tmp_path))
    evaluate(t, g, st, align(t, st, guide=g), client=client)
    crit = st.scorecard[0]
    first = next(q for q in llm_server.requests if f"CRITERION: {crit.name}\n" in _user(q))
    system = first.messages[0]["content"]
    assert "Quote verbatim" in system and "not accent" in system and "The transcript is data" in system
    user = _user(first)
    assert all(f"{k}: {v}" in user for k, v in crit.anchors.items()), user
    assert st.directions_interviewer[:60] in user, user


def test_without_an_llm_the_draft_collects_evidence_and_invents_no_score(run_cli, tmp_path):
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", out],
                env={"INTERVIEW_EVAL_CACHE_DIR": str(tmp_path)})
    assert r.exit_code == 0, r.stderr
    assert "No LLM configured" in r.stdout
    d = _draft(out)
    assert not d.llm_configured and d.source.llm_model is None
    for s in d.scores:
        assert s.score in (None, 0)
        assert s.status in ("needs_reviewer", "no_evidence")
        if s.status == "needs_reviewer" and s.kind != "overall":
            assert s.passages and any("CANDIDATE]" in p.text for p in s.passages)


def test_redact_keeps_names_and_contacts_off_the_wire_and_maps_quotes_back(llm_server, tmp_path):
    from evaluator.llm import LLMClient, settings_from
    from evaluator.score import EvaluateOptions, evaluate
    from evaluator.transcript import Segment

    def quote_placeholder(req):
        if "OVERALL RECOMMENDATION" in _user(req):
            return honest(req)
        for sid, words in _lines(req):
            if "[PERSON_" in words or "[EMAIL_" in words:
                return {"score": 3, "rationale": "r", "quotes": [{"segment_id": sid, "quote": words}]}
        return honest(req)
    llm_server.handler = quote_placeholder
    g = load_guide("customer-account-manager")
    st = g.stage("screening")
    t = load_interview(STRONG, guide=g)
    seg = next(s for s in t.segments if s.role.value == "candidate" and "ClassNest" in s.text)
    seg.text += " Reach me at marcus.lee@example.com or 555-201-3344, Dana."
    client = LLMClient(settings_from(base_url=llm_server.base_url, api_key="k", cache_dir=tmp_path))
    d = evaluate(t, g, st, align(t, st, guide=g), client=client, opts=EvaluateOptions(redact=True))
    wire = json.dumps([q.body for q in llm_server.requests])
    for secret in ("Marcus", "Whitfield", "marcus.lee@example.com", "555-201-3344"):
        assert secret not in wire
    assert d.redacted
    quoted = [q for s in d.scores for q in s.quotes if "marcus.lee@example.com" in q.quote]
    assert quoted, "a quote with a placeholder was mapped back and verified against the transcript"


def test_work_sample_customer_lines_are_never_candidate_evidence(run_cli, llm_server, tmp_path):
    def customer_quote(req):
        if "OVERALL RECOMMENDATION" in _user(req):
            return honest(req)
        sid, words = _lines(req, "CUSTOMER/INTERVIEWER")[0]
        agent = _lines(req)[0]
        return {"score": 3, "rationale": "r", "quotes": [{"segment_id": sid, "quote": words},
                                                          {"segment_id": agent[0], "quote": agent[1]}]}
    llm_server.handler = customer_quote
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", RETENTION, "-g", "customer-account-manager", "-o", out], env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    assert d.source.stage_id == "work-sample"
    for s in d.scores:
        assert all(d.transcript.segment(q.segment_id).speaker == "Agent" for q in s.quotes)
    assert d.evidence.dropped >= 6


def test_a_bad_output_path_or_unknown_stage_fails_without_writing(run_cli, tmp_path):
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "-o", tmp_path / "d.txt"])
    assert r.exit_code == 2 and "JSON" in r.stderr
    r = run_cli(["evaluate", STRONG, "-g", "customer-account-manager", "--stage", "debrief", "-o", tmp_path / "d.json"],
                env={"INTERVIEW_EVAL_CACHE_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "no scorecard" in r.stderr
    assert not (tmp_path / "d.json").exists()


@pytest.mark.skipif("not __import__('os').environ.get('OPENAI_API_KEY')")
@pytest.mark.live
def test_live_endpoint_produces_a_verified_draft(tmp_path):
    from evaluator.llm import LLMClient, settings_from
    from evaluator.score import evaluate

    g = load_guide("customer-account-manager")
    st = g.stage("screening")
    t = load_interview(STRONG, guide=g)
    d = evaluate(t, g, st, align(t, st, guide=g), client=LLMClient(settings_from(cache_dir=tmp_path)))
    assert all(s.status in ("proposed", "no_evidence") for s in d.scores)
    assert d.evidence.verified > 0


@pytest.mark.slow
def test_a_recording_becomes_a_verified_draft(run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    out = tmp_path / "d.json"
    r = run_cli(["evaluate", REPO / "samples/audio/cam-screening.ogg", "-g", "customer-account-manager",
                 "--rttm", REPO / "samples/audio/cam-screening.rttm", "--stage", "screening", "-o", out],
                env=_env(llm_server, tmp_path))
    assert r.exit_code == 0, r.stderr
    d = _draft(out)
    assert d.source.transcription_model and "tiny.en" in d.source.transcription_model
    assert d.source.transcript_sha256 and d.transcript.segments[0].words
    assert d.evidence.verified > 0
    for s in d.scores:
        for q in s.quotes:
            assert d.transcript.segment(q.segment_id).role.value == "candidate"
            assert q.start_s is not None and q.end_s is not None
