"""The debrief packet: one candidate's scorecards joined across stages and interviewers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator import review as rv
from evaluator.debrief import build_debrief, debrief_files, same_competency
from evaluator.errors import ReviewError
from evaluator.render import render_debrief_markdown
from scorecard_fixtures import make_draft, write_draft

HM = dict(sample="samples/cam-hiring-manager.txt", stage="hiring-manager")
WS = dict(sample="samples/cam-work-sample-retention-call.srt", stage="work-sample")


def _final(draft, reviewer, scores=None):
    st = rv.ReviewState(draft_sha256="0" * 64)
    for p in draft.scores:
        want = (scores or {}).get(p.criterion_id)
        if want is not None and want != p.score:
            st = rv.override(st, p, want, "seen differently", reviewer)
        elif p.score is None:
            st = rv.override(st, p, 2, "scored by hand", reviewer)
        else:
            st = rv.confirm(st, p, reviewer)
    return rv.finalize(draft, "0" * 64, st, reviewer)


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    d = tmp_path_factory.mktemp("loop")
    screening = _final(make_draft(candidate="Marcus Lee", default_score=3), "Dana Whitfield",
                       {"overall-recommendation": 4})
    hm = _final(make_draft(**HM, candidate="Marcus Lee", default_score=3,
                           scores={"relevant-experience": 1, "overall-recommendation": 2}), "Karen Liu")
    ws_draft = make_draft(**WS, candidate="", default_score=3, status={"product-knowledge": "no_evidence"})
    paths = []
    for name, card in (("screening.final.json", screening), ("hm.final.json", hm)):
        (d / name).write_text(card.model_dump_json())
        paths.append(d / name)
    paths.append(write_draft(d / "ws.json", ws_draft))
    return paths


def test_competencies_match_tolerantly_across_stages():
    assert same_competency("Data-Driven Approach", "Data-Driven Decision Making")
    assert same_competency("Communication Skills", "Effective Communication")
    assert same_competency("Customer-Centric Approach", "Customer-Centric Mindset")
    assert same_competency("Problem-Solving", "Proactive Problem-Solving")
    assert not same_competency("Customer Retention Skills", "Customer-Centric Mindset")
    assert not same_competency("Relevant Experience", "Performance History")


def test_packet_joins_stages_with_scores_quotes_and_who_gave_them(loop):
    packet = debrief_files([str(p) for p in loop])
    assert packet.candidate == "Marcus Lee" and packet.guide_id == "customer-account-manager"
    assert [r.stage_id for r in packet.scorecards] == ["screening", "work-sample", "hiring-manager"]
    rel = next(c for c in packet.competencies if c.name == "Relevant Experience")
    assert [(s.stage_id, s.score, s.given_by) for s in rel.scores] == [
        ("screening", 3, "Dana Whitfield"), ("hiring-manager", 1, "Karen Liu")]
    assert rel.disagreement and rel.spread == 2 and rel.scores[0].quotes
    assert rel.scores[1].reason == ""  # Karen confirmed the AI's 1
    data = next(c for c in packet.competencies if c.name == "Data-Driven Decision Making")
    assert data.essential and [s.criterion_id for s in data.scores] == ["data-driven-approach"]
    assert any(d.startswith("Relevant Experience: scores 1-3") for d in packet.disagreements)
    assert any(d.startswith("Overall recommendation: 2-4") for d in packet.disagreements)
    assert [(s.stage_id, s.score, s.label) for s in packet.overall] == [
        ("screening", 4, "Strong Hire"), ("work-sample", 3, "Hire"), ("hiring-manager", 2, "No Hire")]
    assert packet.overall[0].reason == "seen differently"


def test_goals_gaps_and_agenda(loop):
    packet = debrief_files([str(p) for p in loop])
    goals = {g.goal: g for g in packet.goals}
    retention = goals["Achieve a 90% or higher customer retention rate within assigned portfolio"]
    assert [(r.stage_id, r.given_by, r.interviewers) for r in retention.ratings] == [
        ("screening", "Dana Whitfield", ["Dana Whitfield"])]
    assert goals["Maintain an average customer satisfaction score of 4.5/5 or higher"].ratings == []
    assert "Resilience and Adaptability: not assessed in any stage of this loop" in packet.gaps
    assert any(g.startswith("Product Knowledge: no evidence gathered") for g in packet.gaps)
    assert [a.id for a in packet.agenda] == [f"debrief-q{i}" for i in range(1, 8)]
    assert any("unreviewed draft" in w for w in packet.warnings)
    assert any("could not tell who the candidate is" in w for w in packet.warnings)
    md = render_debrief_markdown(packet)
    for heading in ("## Overall recommendations", "## Disagreements", "## Coverage gaps", "## Competencies",
                    "## Goals", "## Agenda: Debrief Meeting questions"):
        assert heading in md


def test_different_candidates_are_refused(tmp_path):
    a = write_draft(tmp_path / "a.json", candidate="Marcus Lee")
    b = write_draft(tmp_path / "b.json", **HM, candidate="")  # falls back to the candidate speaker: Devon Price
    with pytest.raises(ReviewError, match="different candidates.*Marcus Lee.*Devon Price"):
        debrief_files([a, b])


def test_different_guides_are_refused(tmp_path):
    a = make_draft(candidate="Marcus Lee")
    b = make_draft(candidate="Marcus Lee")
    b.source.guide_id = "customer-success-operations-specialist"
    b.source.guide_role = "Customer Success Operations Specialist"
    with pytest.raises(ReviewError, match="different guides or roles"):
        build_debrief([(Path("a.json"), a), (Path("b.json"), b)])


def test_latest_revision_and_final_replace_older_files(tmp_path, run_cli):
    d = write_draft(tmp_path / "draft.json", candidate="Marcus Lee")
    args = ["review", d, "--reviewer", "Dana"]
    for p in make_draft().scores:
        args += ["--confirm", p.criterion_id]
    assert run_cli(args).exit_code == 0
    f = tmp_path / "draft.final.json"
    assert run_cli(["review", f, "--reviewer", "Dana", "--set", "upselling-skills=1:no numbers"]).exit_code == 0
    packet = debrief_files([tmp_path])
    assert [(r.kind, r.revision) for r in packet.scorecards] == [("final", 2)]
    up = next(c for c in packet.competencies if c.name == "Upselling Skills")
    assert up.scores[0].score == 1


def test_debrief_cli_writes_html_and_json(run_cli, loop, tmp_path):
    out = tmp_path / "packet.html"
    r = run_cli(["debrief", *loop, "-o", out])
    assert r.exit_code == 0, r.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Debrief packet: Marcus Lee" in page and "http" not in page
    r = run_cli(["debrief", *loop, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["kind"] == "debrief"
    r = run_cli(["debrief", *loop, "--guide", "customer-success-operations-specialist"])
    assert r.exit_code == 1 and "not the guide the scorecards were made with" in r.stderr


def test_debrief_cli_refuses_mixed_candidates_in_one_line(run_cli, tmp_path):
    a = write_draft(tmp_path / "a.json", candidate="Marcus Lee")
    b = write_draft(tmp_path / "b.json", candidate="Jenna Park")
    r = run_cli(["debrief", a, b, "-o", tmp_path / "p.md"])
    assert r.exit_code == 1 and "different candidates" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.md").exists()
