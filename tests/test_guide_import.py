"""The importer reads guides in the published text format exactly as they are."""

from __future__ import annotations

import pytest

from evaluator.errors import GuideError
from evaluator.guide import CriterionKind, StageKind, dump_guide_yaml, load_guide, parse_guide_yaml
from evaluator.guide_import import clean_line, import_guide_file, import_guide_text

from conftest import DATA, REPO

EXPECTED = {
    "000_e0d86f1303fc4141.txt": [
        ("screening", 7, 7), ("work-sample", 0, 7), ("hiring-manager", 4, 6), ("behavioral", 3, 7),
        ("executive", 3, 7), ("debrief", 7, 0), ("reference-check", 7, 6),
    ],
    "003_762c402e206a1e82.txt": [
        ("screening", 6, 13), ("work-sample", 0, 12), ("hiring-manager", 6, 9), ("behavioral", 3, 9),
        ("executive", 3, 9), ("debrief", 8, 0), ("reference-check", 7, 12),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_imports_with_the_expected_questions_and_criteria_per_stage(seeds_dir, name):
    result = import_guide_file(seeds_dir / name)
    got = [(s.id, len(s.questions), len(s.scorecard)) for s in result.guide.stages]
    assert got == EXPECTED[name]
    assert result.unplaced == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_round_trips_through_yaml_unchanged(seeds_dir, name):
    guide = import_guide_file(seeds_dir / name).guide
    again = parse_guide_yaml(dump_guide_yaml(guide))
    assert again == guide
    assert dump_guide_yaml(again) == dump_guide_yaml(guide)


def test_broken_emoji_bytes_are_stripped_from_stage_headings(seeds_dir):
    guide = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt").guide
    assert [s.name for s in guide.stages][:5] == [
        "Screening Interview", "Work Sample: Customer Journey Optimization", "Hiring Manager Interview",
        "Behavioral Competency Interview", "Executive Interview",
    ]
    assert guide.role == "Customer Success Operations Specialist"


def test_clean_line_keeps_accented_words_and_strips_decoration():
    assert clean_line("\u03c0\u00a8\u03b2\u03c0\u00bc Executive Interview") == "Executive Interview"
    assert clean_line("Customer Account Manager \U0001F91D") == "Customer Account Manager"
    assert clean_line("\u00c9valuation finale") == "\u00c9valuation finale"


def test_glued_guidance_and_areas_marker_is_read_like_the_plain_one(seeds_dir):
    cam = import_guide_file(seeds_dir / "000_e0d86f1303fc4141.txt").guide
    cso = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt").guide
    q = cam.stage("screening").questions[1]
    assert q.areas_to_cover == ["Relevance of past experience", "Key performance indicators (KPIs)",
                                "Volume of accounts managed"]
    assert len(q.follow_ups) == 3
    assert cso.stage("screening").questions[0].areas_to_cover[0] == "Specific process that was improved"


def test_hiring_process_overview_is_kept_as_text_not_as_stages(seeds_dir):
    guide = import_guide_file(seeds_dir / "000_e0d86f1303fc4141.txt").guide
    overview = next(s for s in guide.sections if s.title == "Hiring Process")
    assert "Screening Interview" in overview.text
    assert len(guide.stages) == 7


def test_faq_is_kept_as_a_section_and_not_read_as_questions(seeds_dir):
    guide = import_guide_file(seeds_dir / "000_e0d86f1303fc4141.txt").guide
    faq = guide.sections[-1]
    assert faq.title.startswith("Frequently Asked Questions")
    assert "Q: How should I prepare" in faq.text
    assert all("prepare before using" not in q.text for s in guide.stages for q in s.questions)


def test_overall_recommendation_scales(seeds_dir):
    cam = import_guide_file(seeds_dir / "000_e0d86f1303fc4141.txt").guide
    cso = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt").guide
    overall = cam.stage("screening").criterion("overall-recommendation")
    assert overall.kind == CriterionKind.overall and overall.scale == (1, 4)
    assert not overall.allows_not_enough_information
    ref = cso.stage("reference-check").criterion("Overall Recommendation from Reference")
    assert ref.kind == CriterionKind.overall and ref.scale == (0, 4)
    goal = cam.stage("screening").scorecard[5]
    assert goal.kind == CriterionKind.goal and goal.id.startswith("goal-")


def test_debrief_and_reference_guidance_blocks(seeds_dir):
    cam = import_guide_file(seeds_dir / "000_e0d86f1303fc4141.txt").guide
    cso = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt").guide
    dq = cam.stage("debrief").questions[0]
    assert dq.text.startswith("Does anyone have any questions")
    assert dq.guidance.startswith("The meeting facilitator")
    rq = cso.stage("reference-check").questions[0]
    assert rq.guidance.splitlines() == [
        "- Establish the context of the professional relationship",
        "- Determine the reference's ability to speak to the candidate's customer success and operations skills",
    ]
    assert len(rq.follow_ups) == 2


def test_competency_tags_link_tolerantly_and_unmatched_tags_stay_visible(seeds_dir):
    result = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt")
    ex = result.guide.stage("executive")
    q3 = ex.questions[2]
    assert q3.competencies == ["Analytical Thinking", "Process Optimization"]
    assert q3.criteria == ["analytical-thinking"]
    assert ("executive-q3", "Process Optimization") in ex.unmatched_tags()
    assert any("Process Optimization" in w for w in result.warnings)
    screening = result.guide.stage("screening")
    from evaluator.guide import match_tag
    assert match_tag("Adaptability", screening.scorecard).id == "adaptability-in-fast-paced-environment"
    assert match_tag("Analytical Thinking", screening.scorecard).id == "analytical-thinking-and-data-driven-approach"


def test_work_sample_keeps_best_practices_materials_and_candidate_directions(seeds_dir):
    cso = import_guide_file(seeds_dir / "003_762c402e206a1e82.txt").guide
    ws = cso.stage("work-sample")
    assert ws.kind == StageKind.work_sample
    assert len(ws.best_practices) == 6 and len(ws.materials) == 5
    assert "- Proposing specific, measurable improvements" in ws.directions_candidate
    assert ws.directions_candidate.endswith("questions about the exercise?")


def test_a_third_role_in_the_same_format_imports(tmp_path):
    result = import_guide_file(DATA / "guides" / "data-analyst.txt")
    g = result.guide
    assert g.role == "Data Analyst"
    assert [(s.id, s.kind.value, len(s.questions), len(s.scorecard)) for s in g.stages] == [
        ("screening", "screening", 2, 2), ("technical-deep-dive", "other", 2, 5),
        ("debrief", "debrief", 2, 0), ("reference-check", "reference-check", 1, 2),
    ]
    deep = g.stage("Technical Deep Dive")
    assert deep.questions[0].criteria == ["analytical-rigor", "curiosity"]
    assert deep.questions[1].competencies == ["Stakeholder Communication", "Storytelling"]
    assert deep.questions[1].criteria == ["stakeholder-communication-skills"]
    assert [c.name for c in g.essential_competencies] == ["Analytical Rigor", "Stakeholder Communication", "Curiosity"]
    assert g.example_goals == ["Ship a self-serve support dashboard within 90 days", "Cut weekly reporting time by 50%"]
    assert parse_guide_yaml(dump_guide_yaml(g)) == g


def test_text_the_importer_cannot_place_is_reported_and_kept():
    text = (DATA / "guides" / "data-analyst.txt").read_text(encoding="utf-8").replace(
        "Interview Questions\nWalk me through",
        "Interview Questions\n- a stray bullet with no question\nWalk me through", 1)
    result = import_guide_text(text, source="stray.txt")
    assert [u.text for u in result.unplaced] == ["- a stray bullet with no question"]
    assert result.unplaced[0].line == 28
    assert "- a stray bullet with no question" in result.guide.stage("screening").notes
    assert any("stray.txt, line 28" in w for w in result.warnings)


def test_text_without_stages_is_refused_with_a_clear_error():
    with pytest.raises(GuideError, match="no interview stages found"):
        import_guide_text("# README\n\nThis project does things.\n", source="README.md")


def test_bundled_rubrics_are_what_the_importer_produces(seeds_dir):
    for seed, name in (("000_e0d86f1303fc4141.txt", "customer-account-manager"),
                       ("003_762c402e206a1e82.txt", "customer-success-operations-specialist")):
        imported = import_guide_file(seeds_dir / seed).guide
        bundled = load_guide(name)
        assert bundled == imported, f"rubrics/{name}.yaml is stale: re-run `interview-eval guides import`"
        assert (REPO / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8") == dump_guide_yaml(imported)
