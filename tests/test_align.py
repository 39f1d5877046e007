"""Alignment behaviours beyond the labelled set: answers, areas, follow-ups, extra questions, bad input."""

from __future__ import annotations

import json

import pytest

from evaluator.align import align, align_offline, detect_stage
from evaluator.errors import AlignmentError, UsageError
from evaluator.guide import Guide, Stage, load_guide
from evaluator.inputs import load_interview
from evaluator.transcript import Role, Segment, Transcript

from conftest import REPO

CAM = "customer-account-manager"


@pytest.fixture(scope="module")
def cam():
    return load_guide(CAM)


def _t(*turns: tuple[str, str]) -> Transcript:
    roles = {"I": Role.interviewer, "C": Role.candidate}
    return Transcript(segments=[Segment(id=f"s{i:04d}", start_s=i * 10.0, end_s=i * 10.0 + 9, speaker=who,
                                        role=roles[who], text=text) for i, (who, text) in enumerate(turns)])


def _stage(*questions: str, directions: str = "") -> Stage:
    return Stage(id="onsite", name="Onsite", directions_candidate=directions,
                 questions=[{"id": f"onsite-q{i}", "text": q} for i, q in enumerate(questions, 1)])


def test_a_guide_question_the_directions_mention_is_still_found():
    st = _stage("Please tell me about yourself.", "What attracted you to this company?",
                directions="Thanks for coming in. I will start by asking you to tell me about yourself, then we "
                           "will go through your experience. Please tell me about yourself in a few minutes.")
    t = _t(("I", "Thanks for coming in today. I will start by asking you to tell me about yourself, then we will "
                 "go through your experience."),
           ("C", "Sounds good."),
           ("I", "Please tell me about yourself."),
           ("C", "I have run customer success for six years, most recently at a payroll startup."))
    al = align(t, st)
    m = al.match("onsite-q1")
    assert m.asked and m.segment_ids == ["s0002"]
    assert al.directions_segment_ids == ["s0000"]


def test_a_two_word_question_does_not_match_a_passing_remark():
    st = _stage("Why should we hire you?", "Tell me about your most recent role and what you owned there.")
    remark = _t(("I", "We hire a lot of people in the spring, so is your start date flexible?"),
                ("C", "Yes, I can start in March."))
    assert not align(remark, st).match("onsite-q1").asked
    asked = _t(("I", "Last one from me. So why should we hire you over the other people we are talking to?"),
               ("C", "Because I have done this exact job for five years."))
    assert align(asked, st).match("onsite-q1").asked


def test_one_long_turn_is_not_the_location_of_every_question(cam):
    monologue = ("Welcome back to the show. Today we talk about customer success in early education, about the "
                 "most recent role people had, their key responsibilities and metrics, high-volume outreach and "
                 "calls per day, how teams use data for retention strategies, upselling customers, and industry "
                 "trends in education technology. Our guest has done all of it. So, where did it all start?")
    t = _t(("I", monologue), ("C", "It started when I was a teacher and got tired of the software we used."))
    al = align(t, cam.stage("screening"))
    assert len(al.asked) <= 1, [(m.question_id, m.method) for m in al.asked]


def test_a_stacked_question_is_the_location_of_each_question_it_asks(cam):
    t = _t(("I", "Let me ask two at once. Tell me about your most recent role in customer success, your key "
                 "responsibilities and performance metrics, and how comfortable are you with high-volume outreach, "
                 "like making 60-70 calls per day?"),
           ("C", "I manage 150 accounts on renewal rate and NPS, and I make about fifty calls a day now."))
    al = align(t, cam.stage("screening"))
    assert {m.question_id for m in al.asked} == {"screening-q2", "screening-q3"}
    assert al.match("screening-q2").segment_ids == al.match("screening-q3").segment_ids == ["s0000"]


def test_each_match_records_the_signal_that_found_it(cam):
    t = _t(("I", "How comfortable are you with high-volume outreach, such as making 60-70 calls per day?"),
           ("C", "Very comfortable, I make about sixty a day now."),
           ("I", "And you're good to work here, no visa stuff, nothing like that?"),
           ("C", "Correct, green card."))
    st = cam.stage("screening")
    both = align_offline(t, st)
    assert both.signals == ["lexical", "semantic"] and both.semantic_model
    assert both.match("screening-q3").method == "both"
    lexical = align_offline(t, st, signals=("lexical",))
    assert lexical.semantic_model is None and lexical.match("screening-q3").method == "lexical"
    semantic = align_offline(t, st, signals=("semantic",))
    assert semantic.match("screening-q3").method == "semantic"
    assert all(m.method is None for m in both.questions if not m.asked)
    with pytest.raises(UsageError, match="signal"):
        align_offline(t, st, signals=("vibes",))


def test_answer_span_runs_until_the_next_guide_question(cam):
    t = _t(("I", "Tell me about a time when you successfully upsold a customer. What was your approach?"),
           ("C", "At my last job I noticed a preschool chain was hitting the seat limit every month."),
           ("I", "How did you identify the upsell opportunity?"),
           ("C", "Their usage report showed ninety five percent of seats used for three months straight."),
           ("I", "How do you stay current with industry trends, especially in the education technology sector?"),
           ("C", "I read EdSurge every morning."))
    al = align(t, cam.stage("screening"))
    up = al.match("screening-q5")
    assert up.asked and up.segment_ids == ["s0000"]
    assert up.answer_segment_ids == ["s0001", "s0003"] and up.answered
    assert [f.asked for f in up.follow_ups] == [True, False, False]
    assert up.follow_ups[0].segment_id == "s0002"
    assert al.match("screening-q6").answer_segment_ids == ["s0005"]


def test_a_question_asked_but_not_answered_has_no_answer(cam):
    t = _t(("I", "Tell me about a time when you successfully upsold a customer, what was"),
           ("C", "Sorry, you cut out."),
           ("I", "No worries. What questions do you have about the role or our company?"),
           ("C", "What does onboarding look like for new account managers here?"))
    al = align(t, cam.stage("screening"))
    m = al.match("screening-q5")
    assert m.asked and not m.answered


def test_areas_covered_point_at_the_candidates_words(cam):
    t = _t(("I", "Can you give me an example of how you've used data to inform your customer retention strategies?"),
           ("C", "I built a usage dashboard in Looker and analyzed login data weekly. "
                 "Those insights changed our renewal strategy and we cut churn from 14 to 9 percent."))
    m = align(t, cam.stage("screening")).match("screening-q4")
    by_area = {a.area: a for a in m.areas}
    assert by_area["Data analysis skills"].status in ("covered", "partly")
    assert by_area["Results achieved"].status == "covered"
    assert by_area["Results achieved"].segment_ids == ["s0001"]
    assert "14 to 9 percent" in by_area["Results achieved"].quote


def test_an_area_covered_without_its_question_is_marked_outside_the_answer(cam):
    t = _t(("I", "Tell me about your most recent role in customer success. What were your key responsibilities?"),
           ("C", "I manage renewals for 180 accounts. I also stay current with industry trends by reading EdSurge "
                 "and going to ISTE, which is proactive information seeking about edtech."))
    m = align(t, cam.stage("screening")).match("screening-q6")
    assert not m.asked
    assert any(a.outside_answer and a.status == "covered" for a in m.areas)


def test_questions_not_in_the_guide_are_listed(cam):
    t = _t(("I", "Did you find the office okay this morning?"), ("C", "Yes, easily."),
           ("I", "How comfortable are you with high-volume outreach, such as making 60-70 calls per day?"),
           ("C", "Very comfortable, I make about sixty a day now."))
    al = align(t, cam.stage("screening"))
    assert [e.text for e in al.extra_questions] == ["Did you find the office okay this morning?"]


def test_no_interviewer_turns_says_how_to_fix_it(cam):
    t = _t(("C", "Tell me about a time when you successfully upsold a customer."), ("C", "I did it once."))
    al = align(t, cam.stage("screening"))
    assert not any(q.asked for q in al.questions)
    assert any("no interviewer turns" in w and "--interviewer" in w for w in al.warnings)


def test_no_candidate_turns_is_warned(cam):
    t = _t(("I", "Tell me about a time when you successfully upsold a customer. What was your approach?"))
    al = align(t, cam.stage("screening"))
    assert al.match("screening-q5").asked and not al.match("screening-q5").answered
    assert any("no candidate turns" in w for w in al.warnings)


def test_an_empty_transcript_is_an_error(cam):
    with pytest.raises(AlignmentError, match="empty"):
        align(Transcript(), cam.stage("screening"))


def test_a_stage_without_questions_falls_back_and_says_so(cam):
    t = load_interview(REPO / "samples" / "cam-work-sample-retention-call.srt", guide=cam)
    al = align(t, cam.stage("work-sample"))
    assert al.questions == []
    assert any("no scripted questions" in w and "scorecard" in w for w in al.warnings)


def test_duplicate_question_texts_are_matched_and_warned(cam):
    data = cam.model_dump()
    st = data["stages"][0]
    dup = dict(st["questions"][4], id="screening-q8")
    st["questions"].append(dup)
    g = Guide.model_validate(data)
    t = _t(("I", "Tell me about a time when you successfully upsold a customer. What was your approach?"),
           ("C", "Sure, at ClassNest I upsold a chain of six centers to the premium plan."))
    al = align(t, g.stage("screening"))
    assert al.match("screening-q5").asked and al.match("screening-q8").asked
    assert any("duplicate question text" in w for w in al.warnings)


@pytest.mark.parametrize("sample, stage", [
    ("cam-screening-strong.vtt", "screening"), ("cam-hiring-manager.txt", "hiring-manager"),
    ("cam-work-sample-retention-call.srt", "work-sample"),
])
def test_stage_detection_names_the_right_stage(cam, sample, stage):
    t = load_interview(REPO / "samples" / sample, guide=cam)
    guess = detect_stage(t, cam)
    assert guess.stage_id == stage and guess.confidence > 0


def test_stage_detection_says_when_nothing_matches(cam):
    t = _t(("I", "Lovely weather today, isn't it?"), ("C", "It really is, the sun is out."))
    guess = detect_stage(t, cam)
    assert "no stage matches well" in guess.reason and not guess.confident


@pytest.mark.parametrize("path, guide, stage", [
    ("samples/alignment/cam-screening-paraphrased.txt", CAM, "screening"),  # the lowest score of the labelled set
    ("samples/alignment/cso-hiring-manager-mixed.txt", "customer-success-operations-specialist", "hiring-manager"),
    ("tests/data/not_interviews/teams-transcript-2026-11-19-1400.vtt", CAM, "screening"),
])
def test_stage_detection_is_confident_on_real_interviews(path, guide, stage):
    g = load_guide(guide)
    guess = detect_stage(load_interview(REPO / path, guide=g), g)
    assert guess.stage_id == stage and guess.confident, guess.reason


@pytest.mark.parametrize("path, guide", [
    ("tests/data/not_interviews/churn-and-burn-ep42-customer-success-in-childcare.vtt", CAM),
    ("tests/data/not_interviews/cs-team-standup-2026-11-30.vtt", CAM),
    # a real interview, matched against the wrong guide
    ("tests/data/not_interviews/teams-transcript-2026-11-19-1400.vtt", "customer-success-operations-specialist"),
])
def test_stage_detection_is_not_confident_on_other_talk_and_lists_the_stages(path, guide):
    g = load_guide(guide)
    guess = detect_stage(load_interview(REPO / path, guide=g), g)
    assert not guess.confident, guess.reason
    assert [c.score for c in guess.candidates] == sorted((c.score for c in guess.candidates), reverse=True)
    assert {c.stage_id for c in guess.candidates} == set(guess.scores)
    assert all(c.stage_name in guess.reason for c in guess.candidates)
    assert "--stage" not in guess.reason  # the fix is the caller's to word (pick_stage: "name it with --stage")


def test_coverage_cli_single_interview_json_and_html(run_cli, tmp_path):
    r = run_cli(["coverage", "samples/cam-screening-weak-skips.txt", "-g", CAM, "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["stage_id"] == "screening" and doc["total"] == 7
    skipped = {q["question_id"] for q in doc["questions"] if not q["asked"]}
    assert {"screening-q4", "screening-q5"} <= skipped
    out = tmp_path / "cov.html"
    r = run_cli(["coverage", "samples/cam-screening-weak-skips.txt", "-g", CAM, "-o", out])
    assert r.exit_code == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Required questions asked" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_coverage_cli_batch_tables_per_interviewer_and_most_skipped(run_cli):
    r = run_cli(["coverage", "samples/batch", "-g", CAM, "--stage", "screening", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["interviews"]) == 6
    ortiz = next(s for s in doc["per_interviewer"] if s["interviewer"] == "Sam Ortiz")
    assert {"screening-q1", "screening-q7"} <= set(ortiz["often_skipped"])
    top = {(s["question_id"]) for s in doc["most_skipped"][:3]}
    assert "screening-q1" in top or "screening-q7" in top
    r = run_cli(["coverage", "samples/batch/*.vtt", "-g", CAM, "--stage", "screening"])
    assert r.exit_code == 0 and "Per interviewer" in r.stdout


def test_coverage_cli_bad_inputs(run_cli, tmp_path):
    r = run_cli(["coverage", tmp_path / "nope.vtt", "-g", CAM])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    r = run_cli(["coverage", "samples/cam-screening-strong.vtt", "-g", CAM, "--stage", "lunch"])
    assert r.exit_code == 2 and "valid stages" in r.stderr
    r = run_cli(["coverage", "samples/cam-screening-strong.vtt", "-g", CAM, "-o", tmp_path / "x.pdf"])
    assert r.exit_code == 2 and not (tmp_path / "x.pdf").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    r = run_cli(["coverage", empty, "-g", CAM, "--stage", "screening"])
    assert r.exit_code == 1 and "empty" in r.stderr


def test_llm_area_claims_are_accepted_only_with_a_quote_from_the_answer(run_cli, llm_server, tmp_path):
    import re as _re

    def judge(body):
        user = body["messages"][-1]["content"]
        cand = _re.findall(r"^\[(s\d+), [^\]]*CANDIDATE\] (.*)$", user, _re.M)
        n = len(_re.findall(r"^\d+\. ", user, _re.M))
        claims = [{"index": 1, "status": "covered", "segment_id": cand[0][0] if cand else "",
                   "quote": " ".join(cand[0][1].split()[:10]) if cand else ""}]
        claims += [{"index": k, "status": "covered", "segment_id": "s0001",
                    "quote": "I doubled revenue on every account I ever touched"} for k in range(2, n + 1)]
        return {"areas": claims}

    llm_server.handler = judge
    env = {"OPENAI_BASE_URL": llm_server.base_url, "OPENAI_API_KEY": "k", "INTERVIEW_EVAL_CACHE_DIR": str(tmp_path)}
    r = run_cli(["coverage", "samples/cam-screening-strong.vtt", "-g", CAM, "--areas", "llm", "--json"], env=env)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    al = doc["alignment"]
    assert al["method"] == "llm"
    asked = [q for q in al["questions"] if q["asked"] and q["answer_segment_ids"]]
    assert all(q["areas"][0]["status"] == "covered" and q["areas"][0]["quote"] for q in asked)
    assert not any("doubled revenue" in (a["quote"] or "") for q in al["questions"] for a in q["areas"])
    assert any("not accepted" in w for w in al["warnings"])


def test_llm_areas_without_an_endpoint_is_a_usage_error(run_cli):
    r = run_cli(["coverage", "samples/cam-screening-strong.vtt", "-g", CAM, "--areas", "llm"])
    assert r.exit_code == 2 and "OPENAI_API_KEY" in r.stderr
