"""Human review: decisions, the resumable review state, the final scorecard and its revisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator import review as rv
from evaluator.errors import ReviewError, UsageError
from evaluator.files import sha256_file
from evaluator.scorecard import FinalScorecard, sealed
from evaluator.store import FileStore, load_scorecard, reviewer_key
from scorecard_fixtures import make_draft, write_draft

ALL = ["relevant-experience", "high-volume-outreach-comfort", "data-driven-approach", "upselling-skills",
       "industry-knowledge", "goal-achieve-a-90-or-higher-customer", "overall-recommendation"]
CANDIDATE_WORDS = "I live in Salesforce list views and Outreach sequences"
INTERVIEWER_WORDS = "Walk me through your current role"


@pytest.fixture(scope="module")
def draft():
    return make_draft(status={"overall-recommendation": "needs_reviewer", "industry-knowledge": "no_evidence"})


@pytest.fixture
def draft_file(tmp_path, draft):
    return write_draft(tmp_path / "draft.json", draft)


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if not p.name.endswith(".lock")}


def _state(draft_file: Path, reviewer: str = "Dana") -> dict:
    return json.loads(FileStore().state_path(draft_file, reviewer).read_text())


# ---------------------------------------------------------------- pure actions


def test_confirm_keeps_the_proposed_score_and_who_decided(draft):
    st = rv.ReviewState(draft_sha256="x")
    st = rv.confirm(st, draft.score_for("relevant-experience"), "Dana")
    d = st.criteria["relevant-experience"].decision
    assert (d.action, d.score, d.reviewer) == ("confirm", 3, "Dana")
    assert st.log[-1].action == "confirm"


def test_confirm_without_a_proposed_score_is_refused(draft):
    with pytest.raises(ReviewError, match="needs a reviewer"):
        rv.confirm(rv.ReviewState(draft_sha256="x"), draft.score_for("overall-recommendation"), "Dana")
    failed = make_draft(status={"upselling-skills": "failed"})
    with pytest.raises(ReviewError, match="failed"):
        rv.confirm(rv.ReviewState(draft_sha256="x"), failed.score_for("upselling-skills"), "Dana")


def test_confirming_no_evidence_gives_zero(draft):
    st = rv.confirm(rv.ReviewState(draft_sha256="x"), draft.score_for("industry-knowledge"), "Dana")
    assert st.criteria["industry-knowledge"].decision.score == 0


def test_override_needs_a_score_on_the_criterions_own_scale_and_a_reason(draft):
    st = rv.ReviewState(draft_sha256="x")
    overall = draft.score_for("overall-recommendation")
    with pytest.raises(UsageError, match="outside its scale 1-4"):
        rv.override(st, overall, 0, "why", "Dana")  # 0 is not on the overall scale
    with pytest.raises(UsageError, match="outside its scale 0-4"):
        rv.override(st, draft.score_for("upselling-skills"), 5, "why", "Dana")
    with pytest.raises(UsageError, match="needs a reason"):
        rv.override(st, overall, 3, "  ", "Dana")
    st = rv.override(st, overall, "3", "strong retention numbers", "Dana")
    d = st.criteria["overall-recommendation"].decision
    assert (d.action, d.score, d.reason) == ("override", 3, "strong retention numbers")


def test_reviewer_quote_must_be_found_in_candidate_turns(draft):
    st = rv.add_quote(rv.ReviewState(draft_sha256="x"), draft.score_for("data-driven-approach"), CANDIDATE_WORDS,
                      draft.transcript, "Dana")
    q = st.criteria["data-driven-approach"].added_quotes[0]
    assert q.added_by == "Dana" and q.segment_id == "s0028" and q.start_s == pytest.approx(270.31)
    with pytest.raises(ReviewError, match="interviewer"):
        rv.add_quote(st, draft.score_for("data-driven-approach"), INTERVIEWER_WORDS, draft.transcript, "Dana")
    with pytest.raises(ReviewError, match="not found"):
        rv.add_quote(st, draft.score_for("data-driven-approach"), "I single-handedly tripled revenue at Google",
                     draft.transcript, "Dana")


def test_criteria_are_named_by_id_or_name_and_unknown_ones_list_the_valid_ids(draft):
    assert rv.resolve_criterion(draft, "Upselling Skills").criterion_id == "upselling-skills"
    assert rv.resolve_criterion(draft, "upselling skills").criterion_id == "upselling-skills"
    with pytest.raises(UsageError, match="valid ids: relevant-experience"):
        rv.resolve_criterion(draft, "charisma")


def test_set_and_reason_pair_in_order_or_inline():
    ch = rv.parse_changes(sets=["a=2", "b=3:inline why", "c=1"], reasons=["why a", "why c"])
    assert [(c.ref, c.score, c.text) for c in ch] == [("a", "2", "why a"), ("b", "3", "inline why"),
                                                      ("c", "1", "why c")]
    with pytest.raises(UsageError, match="needs a reason"):
        rv.parse_changes(sets=["a=2", "b=3"], reasons=["only one"])
    with pytest.raises(UsageError, match="2 --reason for 1"):
        rv.parse_changes(sets=["a=2"], reasons=["x", "y"])


def test_final_scorecard_only_when_every_criterion_is_decided(draft):
    st = rv.ReviewState(draft_sha256="x")
    for cid in ALL[:-1]:
        st = rv.confirm(st, draft.score_for(cid), "Dana")
    with pytest.raises(ReviewError, match="overall-recommendation"):
        rv.finalize(draft, "abc", st, "Dana")
    st = rv.override(st, draft.score_for("overall-recommendation"), 3, "clear hire", "Dana")
    st = rv.add_note(st, draft.score_for("upselling-skills"), "ask references about expansion", "Dana")
    final = rv.finalize(draft, "abc", st, "Dana")
    assert [c.criterion_id for c in final.criteria] == ALL
    c = final.criteria[-1]
    assert (c.final_score, c.proposal.status, c.proposal.score, c.decision.reason) == (3, "needs_reviewer", None,
                                                                                      "clear hire")
    assert final.criteria[3].decision.notes == "ask references about expansion"
    assert final.draft_sha256 == "abc" and final.reviewer == "Dana" and final.revision == 1


# ---------------------------------------------------------------- through the CLI


def test_review_cli_partial_progress_is_saved_and_resumes(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--confirm", "relevant-experience",
                 "--set", "high-volume-outreach-comfort=4", "--reason", "80 dials a day before"])
    assert r.exit_code == 0, r.stderr
    assert "still to decide: data-driven-approach upselling-skills" in r.stdout
    state = _state(draft_file)
    assert set(state["criteria"]) == {"relevant-experience", "high-volume-outreach-comfort"}
    assert not (draft_file.parent / "draft.final.json").exists()

    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--json", "--confirm", "data-driven-approach",
                 "--confirm", "Upselling Skills", "--confirm", "industry-knowledge",
                 "--confirm", "goal-achieve-a-90-or-higher-customer",
                 "--set", "overall-recommendation=3:strong on every criterion",
                 "--add-quote", f"data-driven-approach={CANDIDATE_WORDS}", "--note", "upselling-skills=probe"])
    assert r.exit_code == 0, r.stderr
    progress = json.loads(r.stdout)
    assert progress["remaining"] == [] and progress["final"].endswith("draft.final.json")
    final = FinalScorecard.model_validate_json(Path(progress["final"]).read_text())
    assert final.draft_sha256 == sha256_file(draft_file) and final.reviewer == "Dana"
    by = {c.criterion_id: c for c in final.criteria}
    assert by["relevant-experience"].decision.reviewer == "Dana"
    assert by["high-volume-outreach-comfort"].final_score == 4
    assert by["high-volume-outreach-comfort"].proposal.score == 3
    assert by["high-volume-outreach-comfort"].decision.reason == "80 dials a day before"
    assert by["data-driven-approach"].decision.added_quotes[0].added_by == "Dana"
    assert by["upselling-skills"].decision.notes == "probe"


def test_review_cli_no_flags_when_not_a_terminal_reports_what_is_left(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana"])
    assert r.exit_code == 0
    assert "0/7 criteria decided" in r.stdout and "overall-recommendation" in r.stdout


def test_review_cli_interactive_walkthrough_saves_each_decision(run_cli, draft_file):
    # confirm, override with score+reason, skip, then quit: the two decisions survive the quit
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--interactive"],
                input="c\no\n2\nless than two years in SaaS\ns\nx\n")
    assert r.exit_code == 0, r.stderr
    state = _state(draft_file)
    assert state["criteria"]["relevant-experience"]["decision"]["action"] == "confirm"
    assert state["criteria"]["high-volume-outreach-comfort"]["decision"]["score"] == 2
    assert "data-driven-approach" not in state["criteria"]
    # an interrupted session (stdin closes mid-way) keeps what was decided and resumes at the next criterion
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--interactive"], input="c\n")
    assert r.exit_code != 0 and "saved" in r.stderr
    state = _state(draft_file)
    assert state["criteria"]["data-driven-approach"]["decision"]["action"] == "confirm"
    assert "Data-Driven Approach" not in r.stdout.split("Upselling Skills")[-1]


def test_review_cli_interactive_refuses_unfound_quote_and_continues(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--interactive"],
                input=f"q\n{INTERVIEWER_WORDS}\nq\n{CANDIDATE_WORDS}\nc\nx\n")
    assert r.exit_code == 0, r.stderr
    assert "quote refused" in r.stderr
    state = _state(draft_file)
    entry = state["criteria"]["relevant-experience"]
    assert entry["decision"]["action"] == "confirm" and entry["added_quotes"][0]["segment_id"] == "s0028"


def _decide_all(run_cli, draft_file):
    args = ["review", draft_file, "--reviewer", "Dana"]
    for cid in ALL[:-1]:
        args += ["--confirm", cid]
    r = run_cli(args + ["--set", "overall-recommendation=3", "--reason", "hire"])
    assert r.exit_code == 0, r.stderr
    return draft_file.parent / "draft.final.json"


def test_final_is_never_edited_in_place_a_change_is_a_new_revision(run_cli, draft_file):
    final = _decide_all(run_cli, draft_file)
    before = final.read_bytes()
    r = run_cli(["review", final, "--reviewer", "Kim"])
    assert r.exit_code != 0 and "never edited in place" in r.stderr and "--set" in r.stderr
    r = run_cli(["review", final, "--reviewer", "Kim", "--set", "upselling-skills=2", "--reason", "no numbers"])
    assert r.exit_code == 0, r.stderr
    r2 = final.parent / "draft.final.r2.json"
    assert final.read_bytes() == before
    rev = FinalScorecard.model_validate_json(r2.read_text())
    assert rev.revision == 2 and rev.previous_sha256 == sha256_file(final) and rev.reviewer == "Kim"
    up = next(c for c in rev.criteria if c.criterion_id == "upselling-skills")
    assert (up.final_score, up.decision.reviewer, up.decision.action, up.proposal.score) == (2, "Kim", "override", 3)
    kept = next(c for c in rev.criteria if c.criterion_id == "relevant-experience")
    assert kept.decision.reviewer == "Dana"
    # revising the first final again never forks or loses history: the change lands on the latest revision
    r2_bytes = r2.read_bytes()
    r = run_cli(["review", final, "--reviewer", "Kim", "--set", "upselling-skills=1", "--reason", "x"])
    assert r.exit_code == 0 and "newer revision" in r.stderr
    r3 = FinalScorecard.model_validate_json((final.parent / "draft.final.r3.json").read_text())
    assert r3.revision == 3 and r3.previous_sha256 == sha256_file(r2) and r2.read_bytes() == r2_bytes
    # adding a quote needs the transcript (a final does not embed it)
    r3p = final.parent / "draft.final.r3.json"
    r = run_cli(["review", r3p, "--reviewer", "Kim", "--add-quote", f"upselling-skills={CANDIDATE_WORDS}"])
    assert r.exit_code == 2 and "--transcript" in r.stderr
    r = run_cli(["review", r3p, "--reviewer", "Kim", "--add-quote", f"upselling-skills={CANDIDATE_WORDS}",
                 "--transcript", "samples/cam-screening-strong.vtt"])
    assert r.exit_code == 0, r.stderr
    r4 = FinalScorecard.model_validate_json((final.parent / "draft.final.r4.json").read_text())
    assert r4.revision == 4 and r4.previous_sha256 == sha256_file(r3p)


def test_review_after_final_exists_points_to_revisions(run_cli, draft_file):
    _decide_all(run_cli, draft_file)
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--confirm", "relevant-experience"])
    assert r.exit_code != 0 and "already finalised" in r.stderr and "revision" in r.stderr


@pytest.mark.parametrize("args, message, code", [
    (["--set", "upselling-skills=5", "--reason", "x"], "outside its scale 0-4", 2),
    (["--set", "overall-recommendation=0", "--reason", "x"], "outside its scale 1-4", 2),
    (["--set", "upselling-skills=3"], "needs a reason", 2),
    (["--confirm", "charisma"], "valid ids: relevant-experience", 2),
    (["--confirm", "overall-recommendation"], "cannot confirm overall-recommendation", 1),
    (["--confirm", "relevant-experience", "--set", "relevant-experience=2:x"], "two decisions", 2),
    (["--add-quote", f"relevant-experience={INTERVIEWER_WORDS}"], "quote refused", 1),
])
def test_bad_decisions_fail_with_one_line_and_change_nothing(run_cli, draft_file, args, message, code):
    run_cli(["review", draft_file, "--reviewer", "Dana", "--confirm", "relevant-experience"])
    before = _files(draft_file.parent)
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--confirm", "data-driven-approach", *args])
    assert r.exit_code == code, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _files(draft_file.parent) == before


def test_invalid_draft_is_refused(run_cli, tmp_path, draft):
    bad = tmp_path / "bad.json"
    # resealed after the edit, so the scale check itself is what refuses it
    card = draft.model_copy(deep=True)
    card.scores[0].score = 7
    bad.write_text(sealed(card).model_dump_json())
    r = run_cli(["review", bad, "--reviewer", "Dana", "--confirm", "relevant-experience"])
    assert r.exit_code == 1 and "refused as a draft scorecard" in r.stderr and "not on its scale" in r.stderr
    data = json.loads(draft.model_dump_json())
    del data["source"]
    bad.write_text(json.dumps(data))
    r = run_cli(["review", bad, "--reviewer", "Dana"])
    assert r.exit_code == 1 and "source: Field required" in r.stderr
    bad.write_text('{"kind": "draft", ')
    r = run_cli(["review", bad, "--reviewer", "Dana"])
    assert r.exit_code == 1 and "not valid JSON" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_tampered_transcript_in_draft_is_refused(tmp_path, draft):
    data = json.loads(draft.model_dump_json())
    data["transcript"]["segments"][11]["text"] = "I have ten years of SaaS experience."
    bad = tmp_path / "d.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ReviewError, match="integrity seal"):
        load_scorecard(bad)
    resealed = sealed(type(draft).model_validate(data))
    bad.write_text(resealed.model_dump_json())
    with pytest.raises(ReviewError, match="transcript_content_sha256"):
        load_scorecard(bad)


def test_transcript_option_must_match_the_drafts_transcript(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--transcript", "samples/cam-screening-weak-skips.txt",
                 "--confirm", "relevant-experience"])
    assert r.exit_code == 1 and "not the transcript of this scorecard" in r.stderr
    assert not FileStore().state_path(draft_file, "Dana").exists()
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--transcript", "samples/cam-screening-strong.vtt",
                 "--add-quote", f"relevant-experience={CANDIDATE_WORDS}"])
    assert r.exit_code == 0, r.stderr


def test_review_state_of_another_draft_version_is_refused(tmp_path, draft):
    store = FileStore()
    p = write_draft(tmp_path / "draft.json", draft)
    st = rv.confirm(store.load_state(p, "Dana", sha256_file(p)), draft.score_for("relevant-experience"), "Dana")
    store.save_state(p, "Dana", st)
    assert store.load_state(p, "Dana", sha256_file(p)).criteria["relevant-experience"].decision.score == 3
    with pytest.raises(ReviewError, match="different version"):
        store.load_state(p, "Dana", "0" * 64)


def test_revision_and_state_names():
    from evaluator.store import revision_path

    assert revision_path("x/draft.final.json", 2).name == "draft.final.r2.json"
    assert revision_path("x/draft.final.r2.json", 3).name == "draft.final.r3.json"
    name = FileStore().state_path("x/draft.json", "Dana Whitfield").name
    assert name.startswith("draft.review.dana-whitfield-") and name.endswith(".json")


def test_reviewer_keys_are_readable_and_never_collide():
    names = ["李雷", "王芳", "Dana", "dana", "Dana Whitfield", "Dana  Whitfield", "O'Brien", "OBrien", "O Brien",
             "José", "Jose", "Ана Иванова", "x", ""]
    keys = {n: reviewer_key(n) for n in names}
    # the same person (whitespace aside) has one key; every other name its own
    assert keys["Dana Whitfield"] == keys["Dana  Whitfield"]
    distinct = [keys[n] for n in names if n != "Dana  Whitfield"]
    assert len(set(distinct)) == len(distinct)
    assert keys["李雷"].startswith("李雷-") and keys["Ана Иванова"].startswith("ана-иванова-")
    assert all("/" not in k and not k.startswith(".") for k in keys.values())


def test_real_draft_from_evaluate_without_llm_needs_a_person_for_every_unscored_criterion(run_cli, tmp_path):
    d = tmp_path / "draft.json"
    r = run_cli(["evaluate", "samples/cam-screening-strong.vtt", "--guide", "customer-account-manager",
                 "--stage", "screening", "--no-llm", "-o", d])
    if r.exit_code != 0 or not d.exists():
        pytest.skip(f"evaluate not usable here: {r.stderr[-200:]}")
    card = load_scorecard(d)
    unscored = [p.criterion_id for p in card.scores if p.score is None]
    assert unscored
    r = run_cli(["review", d, "--reviewer", "Dana", "--confirm", unscored[0]])
    assert r.exit_code == 1 and "cannot confirm" in r.stderr
    args = ["review", d, "--reviewer", "Dana"]
    for p in card.scores:
        if p.score is None:
            args += ["--set", f"{p.criterion_id}={max(p.anchors)}:scored from the passages"]
        else:
            args += ["--confirm", p.criterion_id]
    r = run_cli(args)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "draft.final.json").exists()


def test_two_reviewers_of_one_draft_keep_separate_reviews_and_finals(run_cli, draft_file):
    r = run_cli(["review", draft_file, "--reviewer", "Dana", "--confirm", "relevant-experience"])
    assert r.exit_code == 0, r.stderr
    r = run_cli(["review", draft_file, "--reviewer", "Kim Trainee", "--json", "--set", "relevant-experience=2",
                 "--reason", "one year only"])
    progress = json.loads(r.stdout)
    assert progress["decided"] == ["relevant-experience"]
    kim = _state(draft_file, "Kim Trainee")
    assert kim["criteria"]["relevant-experience"]["decision"]["reviewer"] == "Kim Trainee"
    dana = _state(draft_file)
    assert dana["criteria"]["relevant-experience"]["decision"]["reviewer"] == "Dana"
