"""Calibration: reference vs trainee, and the AI vs the humans' final scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator import review as rv
from evaluator.calibrate import calibrate_files, quadratic_weighted_kappa
from evaluator.errors import UsageError
from evaluator.render import render_calibration_markdown
from scorecard_fixtures import make_draft

SAMPLES = ["samples/cam-screening-strong.vtt", "samples/batch/01-whitfield-nguyen.vtt",
           "samples/batch/05-brooks-adeyemi.vtt"]


def test_kappa_matches_a_hand_computed_example():
    # a = [0,1,2], b = [0,2,2] on 0-2. Observed disagreement: one pair (1,2), weight 1 -> 1.
    # Expected: hist a = [1,1,1], hist b = [1,0,2]; sum (i-j)^2 * ha_i * hb_j / 3 = (8 + 3 + 4) / 3 = 5.
    # kappa = 1 - 1/5 = 0.8
    assert quadratic_weighted_kappa([0, 1, 2], [0, 2, 2], 0, 2) == pytest.approx(0.8)
    assert quadratic_weighted_kappa([1, 2, 3, 4], [1, 2, 3, 4], 0, 4) == pytest.approx(1.0)
    # perfectly reversed on a symmetric spread: -1
    assert quadratic_weighted_kappa([0, 4], [4, 0], 0, 4) == pytest.approx(-1.0)
    # no variation at all: undefined
    assert quadratic_weighted_kappa([3, 3], [3, 3], 0, 4) is None
    assert quadratic_weighted_kappa([], [], 0, 4) is None


def _final(draft, reviewer, scores):
    st = rv.ReviewState(draft_sha256="0" * 64)
    for p in draft.scores:
        want = scores.get(p.criterion_id, p.score)
        if want == p.score:
            st = rv.confirm(st, p, reviewer)
        else:
            st = rv.override(st, p, want, f"{reviewer} saw {want}", reviewer)
    return rv.finalize(draft, "0" * 64, st, reviewer)


@pytest.fixture(scope="module")
def scorecards(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal")
    (root / "ref").mkdir()
    (root / "trainee").mkdir()
    drafts = [make_draft(s, candidate=f"C{i}", default_score=3) for i, s in enumerate(SAMPLES)]
    # the trainee scores upselling 1 higher everywhere, and relevant experience 2 lower on the second interview
    for i, d in enumerate(drafts):
        ref = _final(d, "Ref", {})
        tr = _final(d, "Trainee", {"upselling-skills": 4, **({"relevant-experience": 1} if i == 1 else {})})
        (root / "ref" / f"{i}.final.json").write_text(ref.model_dump_json())
        (root / "trainee" / f"{i}.final.json").write_text(tr.model_dump_json())
    # a trainee scorecard of an interview the reference did not score stays unpaired
    extra = _final(make_draft("samples/batch/02-whitfield-mendoza.txt", candidate="X"), "Trainee", {})
    (root / "trainee" / "extra.final.json").write_text(extra.model_dump_json())
    return root


def test_reference_vs_trainee_per_criterion(scorecards):
    r = calibrate_files([str(scorecards / "ref")], [str(scorecards / "trainee")])
    assert r.mode == "reference-vs-trainee" and r.interviews == 3 and r.pairs == 21
    by = {c.criterion_id: c for c in r.criteria}
    up = by["upselling-skills"]
    assert (up.n, up.exact, up.within_one, up.mean_diff) == (3, 0.0, 1.0, 1.0)
    assert up.kappa == 0.0  # always 3 vs always 4: no agreement beyond chance
    rel = by["relevant-experience"]
    assert (rel.exact, rel.within_one, rel.mean_diff) == (pytest.approx(2 / 3, abs=1e-3), pytest.approx(2 / 3, abs=1e-3),
                                                          pytest.approx(-2 / 3, abs=1e-3))
    assert rel.most_divergent[0].interview == "01-whitfield-nguyen.vtt" and rel.most_divergent[0].diff == -2
    assert by["industry-knowledge"].exact == 1.0
    assert r.divergent_interviews[0].interview == "01-whitfield-nguyen.vtt"
    assert len(r.unpaired) == 1 and "extra.final.json" in r.unpaired[0]
    assert r.overall.n == 21 and r.overall.kappa is not None
    md = render_calibration_markdown(r)
    assert "| Upselling Skills | 3 | 0% | 100% | 0.00 | +1.00 |" in md


def test_ai_vs_human_counts_overrides_per_criterion_and_reviewer(tmp_path):
    d1 = make_draft(candidate="A", default_score=3, status={"overall-recommendation": "needs_reviewer"})
    d2 = make_draft("samples/batch/01-whitfield-nguyen.vtt", candidate="B", default_score=3,
                    status={"overall-recommendation": "needs_reviewer"})
    f1 = _final(d1, "Dana", {"upselling-skills": 1, "overall-recommendation": 3})
    f2 = _final(d2, "Leah", {"upselling-skills": 2, "relevant-experience": 4, "overall-recommendation": 4})
    paths = []
    for i, f in enumerate((f1, f2)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(f.model_dump_json())
    r = calibrate_files(ai_vs_human=[str(p) for p in paths])
    assert r.mode == "ai-vs-human" and r.other_label == "AI (proposal)"
    ov = {o.criterion_id: o for o in r.overrides}
    up = ov["upselling-skills"]
    assert (up.decisions, up.ai_scored, up.overrides, up.override_rate, up.mean_change) == (2, 2, 2, 1.0, -1.5)
    assert "Dana saw 1" in up.reasons
    assert ov["relevant-experience"].override_rate == 0.5
    assert ov["industry-knowledge"].overrides == 0
    o = ov["overall-recommendation"]
    assert (o.ai_scored, o.scored_by_person, o.override_rate) == (0, 2, None)
    by = {c.criterion_id: c for c in r.criteria}
    assert by["upselling-skills"].mean_diff == 1.5  # the AI scores higher than the humans
    assert "overall-recommendation" not in by  # the AI had no score to compare
    assert {(v.reviewer, v.overrides) for v in r.reviewers} == {("Dana", 1), ("Leah", 2)}


def test_calibrate_cli_markdown_and_json(run_cli, scorecards):
    r = run_cli(["calibrate", "--reference", scorecards / "ref", "--trainee", scorecards / "trainee"])
    assert r.exit_code == 0, r.stderr
    assert "# Calibration: trainee vs reference" in r.stdout and "| Relevant Experience |" in r.stdout
    r = run_cli(["calibrate", "--reference", scorecards / "ref", "--trainee", scorecards / "trainee", "--json"])
    doc = json.loads(r.stdout)
    assert doc["kind"] == "calibration" and doc["pairs"] == 21
    r = run_cli(["calibrate", "--ai-vs-human", scorecards / "ref", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["mode"] == "ai-vs-human"


def test_calibrate_cli_usage_errors(run_cli, scorecards, tmp_path):
    r = run_cli(["calibrate", "--reference", scorecards / "ref"])
    assert r.exit_code == 2 and "--trainee" in r.stderr
    r = run_cli(["calibrate", "--reference", scorecards / "ref", "--trainee", scorecards / "trainee" / "extra.final.json"])
    assert r.exit_code == 2 and "no interview was scored by both" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run_cli(["calibrate", "--ai-vs-human", tmp_path / "empty"])
    assert r.exit_code == 2 and "no scorecards found" in r.stderr


def test_drafts_are_not_human_decisions(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(make_draft().model_dump_json())
    with pytest.raises(UsageError, match="no final scorecards"):
        calibrate_files(ai_vs_human=[str(p)])
