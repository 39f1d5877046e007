"""Nothing lost, nothing mislabelled: concurrent reviews, colliding names, drafts under review, tampering,
failed evaluations and inputs that are not what they seem."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evaluator import review as rv
from evaluator.errors import ReviewError
from evaluator.scorecard import FinalScorecard, sealed
from evaluator.store import FileStore, load_scorecard
from scorecard_fixtures import make_draft, write_draft

from conftest import REPO

ALL = ["relevant-experience", "high-volume-outreach-comfort", "data-driven-approach", "upselling-skills",
       "industry-knowledge", "goal-achieve-a-90-or-higher-customer", "overall-recommendation"]


@pytest.fixture(scope="module")
def draft():
    return make_draft(status={"industry-knowledge": "no_evidence"})


@pytest.fixture
def draft_file(tmp_path, draft):
    return write_draft(tmp_path / "draft.json", draft)


def _review(draft_file, reviewer, *args):
    """The real CLI in a subprocess (a separate process, as two people or two terminals would be)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
    return subprocess.Popen([sys.executable, "-m", "evaluator.cli", "review", str(draft_file), "--reviewer",
                             reviewer, *map(str, args)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait(procs):
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout, stderr))
    return out


# ---------------------------------------------------------------- concurrency


def test_parallel_decisions_of_one_reviewer_are_all_kept(draft_file):
    n = 12
    procs = [_review(draft_file, "Dana", "--note", f"upselling-skills=note {i}") for i in range(n)]
    procs += [_review(draft_file, "Dana", "--confirm", cid) for cid in ALL[:3]]
    results = _wait(procs)
    assert all(code == 0 for code, _, _ in results), [e for _, _, e in results]
    state = json.loads(FileStore().state_path(draft_file, "Dana").read_text())
    notes = state["criteria"]["upselling-skills"]["notes"].splitlines()
    assert sorted(notes) == sorted(f"note {i}" for i in range(n))
    assert all(state["criteria"][cid]["decision"]["action"] == "confirm" for cid in ALL[:3])
    assert len(state["log"]) == n + 3


def _decide_all_args(score: int) -> list[str]:
    args = []
    for cid in ALL[:-1]:
        args += ["--set", f"{cid}={score}:seen it"]
    return args + ["--set", f"overall-recommendation={min(score, 4) or 1}:overall"]


def test_two_reviewers_finishing_at_once_both_keep_their_final(draft_file):
    results = _wait([_review(draft_file, "Dana", *_decide_all_args(3)),
                     _review(draft_file, "Kim", *_decide_all_args(2))])
    assert all(code == 0 for code, _, _ in results), [e for _, _, e in results]
    finals = [FinalScorecard.model_validate_json(p.read_text()) for p in draft_file.parent.glob("draft.final*.json")]
    assert sorted(f.reviewer for f in finals) == ["Dana", "Kim"]
    by = {f.reviewer: {c.criterion_id: c.final_score for c in f.criteria} for f in finals}
    assert by["Dana"]["upselling-skills"] == 3 and by["Kim"]["upselling-skills"] == 2


def test_two_revisions_of_one_final_at_once_are_both_kept(draft_file):
    code, _, err = _wait([_review(draft_file, "Dana", *_decide_all_args(3))])[0]
    assert code == 0, err
    final = draft_file.parent / "draft.final.json"
    results = _wait([_review(final, "Kim", "--set", "upselling-skills=1:no numbers"),
                     _review(final, "Lee", "--set", "data-driven-approach=2:thin")])
    assert all(code == 0 for code, _, _ in results), [e for _, _, e in results]
    r3 = FinalScorecard.model_validate_json((draft_file.parent / "draft.final.r3.json").read_text())
    scores = {c.criterion_id: c.final_score for c in r3.criteria}
    assert scores["upselling-skills"] == 1 and scores["data-driven-approach"] == 2
    assert {c.decision.reviewer for c in r3.criteria} >= {"Kim", "Lee"}


def test_non_latin_reviewer_names_keep_separate_reviews(run_cli, draft_file):
    for who, score in (("李雷", 2), ("王芳", 4)):
        r = run_cli(["review", draft_file, "--reviewer", who, "--set", f"upselling-skills={score}:why"])
        assert r.exit_code == 0, r.stderr
    store = FileStore()
    a, b = store.state_path(draft_file, "李雷"), store.state_path(draft_file, "王芳")
    assert a != b and a.name.startswith("draft.review.李雷-")
    assert json.loads(a.read_text())["criteria"]["upselling-skills"]["decision"]["score"] == 2
    assert json.loads(b.read_text())["criteria"]["upselling-skills"]["decision"]["score"] == 4


def test_a_symlinked_draft_shares_the_review_of_its_target(run_cli, draft_file, tmp_path):
    link_dir = tmp_path / "elsewhere"
    link_dir.mkdir()
    link = link_dir / "linked.json"
    link.symlink_to(draft_file)
    assert run_cli(["review", link, "--reviewer", "Dana", "--confirm", ALL[0]]).exit_code == 0
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--json", "--confirm", ALL[1]])
    assert json.loads(r.stdout)["decided"] == ALL[:2]
    assert not list(link_dir.glob("*.review.*"))


# ---------------------------------------------------------------- drafts under review are never replaced


def test_evaluate_refuses_to_replace_a_draft_under_review(run_cli, tmp_path):
    d = tmp_path / "d.json"
    args = ["evaluate", "samples/cam-screening-strong.vtt", "--guide", "customer-account-manager", "--stage",
            "screening", "--no-llm", "-o", d]
    assert run_cli(args).exit_code == 0
    card = load_scorecard(d)
    assert run_cli(["review", d, "--reviewer", "Dana", "--set", f"{card.scores[0].criterion_id}=2:x"]).exit_code == 0
    before = d.read_bytes()
    r = run_cli(args)
    assert r.exit_code == 1 and "under review" in r.stderr and "-o" in r.stderr
    assert d.read_bytes() == before
    # the review still belongs to the draft it was started on
    assert run_cli(["review", d, "--reviewer", "Dana", "--confirm", card.scores[1].criterion_id]).exit_code in (0, 1)
    assert "different version" not in run_cli(["review", d, "--reviewer", "Dana"]).stderr


def test_convert_never_overwrites_its_input(run_cli, tmp_path):
    src = tmp_path / "x.vtt"
    src.write_bytes((REPO / "samples" / "cam-screening-strong.vtt").read_bytes())
    before = src.read_bytes()
    r = run_cli(["transcript", "convert", src, src])
    assert r.exit_code == 1 and "is the input file" in r.stderr
    assert src.read_bytes() == before


# ---------------------------------------------------------------- tampering


def test_a_hand_edited_score_is_refused_everywhere(run_cli, tmp_path, draft):
    data = json.loads(draft.model_dump_json())
    data["scores"][0]["score"] = 4
    bad = tmp_path / "d.json"
    bad.write_text(json.dumps(data))
    for args in (["review", bad, "--reviewer", "Dana", "--confirm", ALL[0]], ["report", bad], ["debrief", bad]):
        r = run_cli(args)
        assert r.exit_code == 1 and "edited after it was written" in r.stderr, (args, r.stderr)


def test_an_invented_quote_is_refused_even_when_the_seal_is_recomputed(tmp_path, draft):
    card = draft.model_copy(deep=True)
    q = card.scores[0].quotes[0]
    card.scores[0].quotes[0] = q.model_copy(update={"quote": "I closed every renewal single-handedly for five years"})
    bad = tmp_path / "d.json"
    bad.write_text(sealed(card).model_dump_json())
    with pytest.raises(ReviewError, match="not the candidate's words"):
        load_scorecard(bad)


def test_an_interviewer_sentence_passed_off_as_a_candidate_quote_is_refused(tmp_path, draft):
    card = draft.model_copy(deep=True)
    iv = next(s for s in card.transcript.segments if s.role.value == "interviewer" and len(s.text.split()) > 6)
    q = card.scores[0].quotes[0]
    card.scores[0].quotes[0] = q.model_copy(update={"quote": iv.text, "segment_id": iv.id, "segment_ids": [iv.id]})
    bad = tmp_path / "d.json"
    bad.write_text(sealed(card).model_dump_json())
    with pytest.raises(ReviewError, match="not by the candidate|not the candidate"):
        load_scorecard(bad)


def test_a_hand_edited_final_is_refused(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana", *_decide_all_args(3)])
    assert r.exit_code == 0, r.stderr
    final = draft_file.parent / "draft.final.json"
    data = json.loads(final.read_text())
    data["criteria"][0]["final_score"] = 4
    final.write_text(json.dumps(data))
    r = run_cli(["report", final])
    assert r.exit_code == 1 and "edited after it was written" in r.stderr


def test_a_draft_without_criteria_cannot_be_finalised(draft):
    empty = draft.model_copy(update={"scores": []})
    with pytest.raises(ReviewError, match="no criteria"):
        rv.finalize(empty, "0" * 64, rv.ReviewState(draft_sha256="0" * 64), "Dana")


# ---------------------------------------------------------------- failed evaluations say so


def test_evaluate_json_exits_non_zero_when_every_llm_call_failed(run_cli, llm_server, tmp_path):
    # the stub answers every request with HTTP 400 ("no scripted response"): every call fails
    d = tmp_path / "d.json"
    r = run_cli(["evaluate", "samples/cam-screening-strong.vtt", "--guide", "customer-account-manager", "--stage",
                 "screening", "--json", "-o", d], env={"OPENAI_BASE_URL": llm_server.base_url,
                                                       "OPENAI_API_KEY": "sk-test"})
    assert r.exit_code == 1
    doc = json.loads(r.stdout)  # still exactly one JSON document
    assert all(s["status"] == "failed" for s in doc["scores"] if s["kind"] != "overall")
    assert "every" in r.stderr and "could not be scored" in r.stderr


# ---------------------------------------------------------------- inputs


def test_utf16_transcripts_are_read(run_cli, tmp_path):
    text = (REPO / "samples" / "cam-screening-weak-skips.txt").read_text(encoding="utf-8")
    for enc in ("utf-16", "utf-16-be", "utf-32"):
        p = tmp_path / f"t-{enc}.txt"
        data = text.encode(enc)
        if enc == "utf-16-be":
            data = b"\xfe\xff" + data
        p.write_bytes(data)
        r = run_cli(["transcript", "show", p, "--json"])
        assert r.exit_code == 0, (enc, r.stderr)
        assert len(json.loads(r.stdout)["segments"]) > 10


def test_an_oversized_transcript_is_refused_before_it_is_read(run_cli, tmp_path):
    from evaluator.formats import MAX_TRANSCRIPT_BYTES

    big = tmp_path / "huge.vtt"
    cue = "00:00:01.000 --> 00:00:05.000\n<v Dana>so tell me about your most recent role please\n\n"
    with big.open("w") as fh:
        fh.write("WEBVTT\n\n")
        fh.write(cue * (MAX_TRANSCRIPT_BYTES // len(cue) + 10))
    r = run_cli(["transcript", "show", big])
    assert r.exit_code == 1 and "MB is more than" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_prohibited_questions_reach_the_draft_and_the_final(run_cli, tmp_path):
    src = tmp_path / "screening.txt"
    text = (REPO / "samples" / "cam-screening-weak-skips.txt").read_text(encoding="utf-8")
    src.write_text(text.rstrip() + "\n[00:30:00] Rob Kessler: Before we wrap up, how old are you? "
                   "And do you have kids at home?\n", encoding="utf-8")
    d = tmp_path / "d.json"
    r = run_cli(["evaluate", src, "--guide", "customer-account-manager", "--stage", "screening", "--no-llm", "-o", d])
    assert r.exit_code == 0, r.stderr
    card = load_scorecard(d)
    cats = {f.category for f in card.prohibited_questions}
    assert {"age", "family_status"} <= cats
    args = ["review", d, "--reviewer", "Dana"]
    for p in card.scores:
        args += ["--set", f"{p.criterion_id}={max(p.anchors)}:scored by hand"]
    assert run_cli(args).exit_code == 0
    final = load_scorecard(tmp_path / "d.final.json")
    assert {f.category for f in final.prohibited_questions} == cats
    assert "must not be asked" in run_cli(["report", tmp_path / "d.final.json"]).stdout


def test_scorecard_kinds_are_the_guides_criterion_kinds():
    import typing

    from evaluator.guide import CriterionKind
    from evaluator.scorecard import CriterionKindName

    assert set(typing.get_args(CriterionKindName)) == {k.value for k in CriterionKind}


def test_ctrl_c_during_the_llm_wave_exits_at_once_without_a_traceback_or_a_draft(llm_server, tmp_path):
    import signal
    import time

    llm_server.handler = lambda req: {"score": 0, "rationale": "r", "quotes": []}
    llm_server.latency_s = 20  # every request would hold the process for 20 s
    out = tmp_path / "d.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
    env.update(OPENAI_BASE_URL=llm_server.base_url, OPENAI_API_KEY="sk-test",
               INTERVIEW_EVAL_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "evaluator.cli", "evaluate", str(REPO / "samples/cam-screening-strong.vtt"),
                             "--guide", "customer-account-manager", "--model", "m", "-o", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not llm_server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llm_server.requests, "no request reached the server"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=15)
    assert time.monotonic() - t0 < 5  # not after the requests in flight
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "error: interrupted"  # one line that says why, not a silent exit
    assert not out.exists() and not list(tmp_path.glob(".d.json*.tmp"))
