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


def test_oversized_answers_are_reasked_and_the_draft_stays_small(llm_server, tmp_path):
    """A 200 kB rationale or 10,000 quotes is a validation error the client re-asks, not a 140 MB draft."""
    from evaluator.llm import LLMClient, settings_from
    from evaluator.score import evaluate

    def bloated(req):
        users = [m["content"] for m in _messages(req) if m["role"] == "user"]
        if any("could not be used" in u for u in users):
            if any("OVERALL RECOMMENDATION" in u for u in users):
                return {"score": 3, "rationale": "Solid.", "based_on": [], "quotes": []}
            return honest(req)
        if "OVERALL RECOMMENDATION" in _user(req):
            return {"score": 3, "rationale": "x" * 200_000, "based_on": ["a"] * 5000, "quotes": []}
        good = honest(req)
        if "CRITERION: Relevant Experience" in _user(req):
            return {**good, "quotes": good["quotes"] * 10_000}
        return {**good, "rationale": "y" * 200_000}

    llm_server.handler = bloated
    g = load_guide("customer-account-manager")
    st = g.stage("screening")
    t = load_interview(STRONG, guide=g)
    client = LLMClient(settings_from(base_url=llm_server.base_url, api_key="k", cache_dir=tmp_path))
    d = evaluate(t, g, st, align(t, st, guide=g), client=client)
    assert all(s.status == "proposed" for s in d.scores), [(s.criterion_id, s.status, s.error) for s in d.scores]
    assert len(d.model_dump_json()) < 200_000
    reasks = [_user(q) for q in llm_server.requests if "could not be used" in _user(q)]
    assert any("at most 2000 characters" in r for r in reasks)
    # 10,000 quotes: refused unread for its size by the client, or by the response model's list limit
    assert any("at most 8 items" in r or "byte limit" in r for r in reasks)


def test_at_most_a_few_claims_are_verified_whatever_an_answer_holds():
    from evaluator.evidence import QuoteIndex
    from evaluator.score import MAX_QUOTES_ACCEPTED, QuoteClaim, apply_evidence_rules

    g = load_guide("customer-account-manager")
    c = g.stage("screening").scorecard[0]
    t = load_interview(STRONG, guide=g)
    seg = next(s for s in t.segments if s.role.value == "candidate" and len(s.text.split()) > 10)
    claims = [QuoteClaim(segment_id=seg.id, quote=" ".join(seg.text.split()[:8]))] * 10_000
    ps = apply_evidence_rules(c, 3, "r", claims, QuoteIndex(t), [])
    assert ps.status == "proposed" and len(ps.quotes) == 1
    assert len(ps.dropped) == 1 and f"at most {MAX_QUOTES_ACCEPTED}" in ps.dropped[0].reason
    assert ps.dropped[0].quote == f"({10_000 - MAX_QUOTES_ACCEPTED} more quotes)"


def test_a_rerun_onto_an_existing_draft_asks_again_when_the_model_or_cache_setting_changes(
        run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    env = _env(llm_server, tmp_path)
    out = tmp_path / "d.json"
    args = ["evaluate", STRONG, "-g", "customer-account-manager", "--stage", "screening", "-o", out]
    assert run_cli(args + ["--model", "model-a"], env=env).exit_code == 0
    n_criteria = sum(1 for s in _draft(out).scores if s.kind != "overall")
    first = llm_server.request_count
    r = run_cli(args + ["--model", "model-b"], env=env)
    assert r.exit_code == 0, r.stderr
    again = llm_server.requests[first:]
    assert len(again) == n_criteria + 1 and all(q.model == "model-b" for q in again)
    assert _draft(out).source.llm_model == "model-b"
    second = llm_server.request_count
    assert run_cli(args + ["--model", "model-b", "--no-cache"], env=env).exit_code == 0
    assert llm_server.request_count - second == n_criteria + 1


def test_the_line_packer_keeps_whole_lines_and_cuts_a_long_line_at_sentences():
    from evaluator.score import pack_lines

    short = [f"[s{i:04d}, 0:{i:02d}, CANDIDATE] Line {i} is short." for i in range(30)]
    chunks = pack_lines("\n".join(short), 200)
    assert all(len(c) <= 200 for c in chunks) and len(chunks) > 1
    assert [x for c in chunks for x in c.split("\n")] == short  # whole lines, in order, none lost
    long_line = "[s0100, 9:59, CANDIDATE] " + " ".join(f"Sentence number {k} says something." for k in range(40))
    pieces = pack_lines(long_line, 300)
    assert len(pieces) > 1 and all(len(p) <= 300 for p in pieces)
    assert all(p.startswith("[s0100, 9:59, CANDIDATE] ") for p in pieces)  # each piece keeps its marker
    assert all(p.endswith("something.") for p in pieces)  # cut at sentence boundaries
    text = " ".join(p.removeprefix("[s0100, 9:59, CANDIDATE] ") for p in pieces)
    assert text == long_line.removeprefix("[s0100, 9:59, CANDIDATE] ")
    one_sentence = "[s0001, 0:01, CANDIDATE] " + "word " * 200
    assert all(len(p) <= 120 and p.startswith("[s0001, 0:01, CANDIDATE] ") for p in pack_lines(one_sentence, 120))
    assert pack_lines("", 100) == [""]


def test_long_passages_are_cut_into_the_most_relevant_chunks_within_budget():
    from evaluator.score import CHARS_PER_TOKEN, _Ctx, passages_for

    g = load_guide("customer-account-manager")
    st = g.stage("work-sample")
    t = load_interview(RETENTION, guide=g)
    ctx = _Ctx(transcript=t, stage=st, alignment=align(t, st, guide=g))
    for c in st.scorecard:
        if c.kind.value == "overall":
            continue
        ps = passages_for(ctx, c, budget_tokens=200)
        assert ps and sum(len(p.text) for p in ps) // CHARS_PER_TOKEN <= 200
        for p in ps:
            assert all(LINE.match(x) for x in p.text.split("\n")), p.text
