"""Questions that must not be asked appear in the coverage audit and the scorecards, not only in `coach`
(issue 11): each with its time and segment, counted in the batch coverage table."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator import review as rv
from evaluator.coach import coach, prohibited_questions
from evaluator.coverage import batch_coverage, interview_coverage
from evaluator.formats import read_transcript
from evaluator.guide import load_guide
from evaluator.render import (
    render_batch_markdown,
    render_coverage_markdown,
    render_scorecard_html,
    render_scorecard_markdown,
)
from evaluator.roles import assign_roles
from evaluator.scorecard import Draft, FinalScorecard
from scorecard_fixtures import make_draft

DATA = Path(__file__).parent / "data" / "coach"
GUIDE = load_guide("customer-account-manager")
# 01_cam_screening: five questions that must not be asked (see 01_cam_screening.yaml).
SCREENING = "tests/data/coach/01_cam_screening.txt"
ROLES = {"interviewer": "Dana Whitfield", "candidate": "Sam Ortiz"}


def screening():
    return assign_roles(read_transcript(DATA / "01_cam_screening.txt"), **ROLES)


def test_prohibited_questions_are_the_coaching_reports_flags():
    t = screening()
    flags = prohibited_questions(t)
    assert [f.segment_id for f in flags] == [f.segment_id for f in coach(t).must_not_ask]
    assert len(flags) == 5 and all(f.kind == "must_not_ask" and f.category for f in flags)


def test_coverage_audit_lists_prohibited_questions_with_time_and_segment():
    t = screening()
    cov = interview_coverage(t, GUIDE, GUIDE.stage("screening"))
    assert len(cov.prohibited_questions) == 5
    md = render_coverage_markdown(cov)
    assert "**Questions that must not be asked: 5** — see below" in md
    first = cov.prohibited_questions[0]
    assert f"{first.time} `{first.segment_id}`" in md and "where were you born originally?" in md
    assert md.index("Questions that must not be asked") < md.index("| id | question |")


def test_coverage_audit_of_a_clean_interview_says_none():
    t = assign_roles(read_transcript(DATA / "09_cam_behavioral_clean.txt"),
                     interviewer="Lena Brooks", candidate="Ana Ruiz")
    cov = interview_coverage(t, GUIDE, GUIDE.stage("behavioral"))
    assert cov.prohibited_questions == []
    md = render_coverage_markdown(cov)
    assert "**Questions that must not be asked: 0**" in md and "## Questions that must not be asked" not in md


def test_batch_coverage_table_counts_prohibited_questions_per_interview():
    clean = assign_roles(read_transcript(DATA / "09_cam_behavioral_clean.txt"),
                         interviewer="Lena Brooks", candidate="Ana Ruiz")
    items = [interview_coverage(screening(), GUIDE, GUIDE.stage("screening")),
             interview_coverage(clean, GUIDE, GUIDE.stage("behavioral"))]
    md = render_batch_markdown(batch_coverage(GUIDE, items, []))
    header = next(line for line in md.splitlines() if line.startswith("| interview |"))
    assert header.rstrip(" |").endswith("must not ask")
    rows = {line.split(" | ")[0].strip("| "): line for line in md.splitlines() if line.startswith("| 0")}
    assert rows["01_cam_screening.txt"].rstrip(" |").endswith("**5**")
    assert rows["09_cam_behavioral_clean.txt"].rstrip(" |").endswith("0")


@pytest.fixture(scope="module")
def flagged_draft() -> Draft:
    draft = make_draft(SCREENING, stage="screening", candidate="Sam Ortiz", transcript_role_names=ROLES)
    return draft.model_copy(update={"prohibited_questions": prohibited_questions(draft.transcript)})


def test_draft_scorecard_shows_prohibited_questions_in_markdown_and_html(flagged_draft):
    flags = flagged_draft.prohibited_questions
    assert len(flags) == 5
    md = render_scorecard_markdown(flagged_draft)
    assert "**Questions that must not be asked: 5**" in md
    assert md.index("## Questions that must not be asked") < md.index("## Summary")
    for f in flags:
        assert f"{f.time} `{f.segment_id}`" in md
    page = render_scorecard_html(flagged_draft)
    assert "Questions that must not be asked: 5" in page
    assert all(f"{f.time} ({f.segment_id})" in page for f in flags)
    assert page.index("Questions that must not be asked") < page.index("<h2>Summary</h2>")


def test_draft_keeps_prohibited_questions_in_json_and_reads_old_drafts(flagged_draft):
    again = Draft.model_validate_json(flagged_draft.model_dump_json())
    assert again.prohibited_questions == flagged_draft.prohibited_questions
    old = flagged_draft.model_dump(mode="json")
    del old["prohibited_questions"]
    assert Draft.model_validate(old).prohibited_questions == []
    assert "must not be asked" not in render_scorecard_markdown(Draft.model_validate(old))


def test_final_scorecard_shows_prohibited_questions(flagged_draft):
    st = rv.ReviewState(draft_sha256="d" * 64)
    for p in flagged_draft.scores:
        st = rv.confirm(st, p, "Karen Liu") if p.score is not None else rv.override(st, p, 2, "scored", "Karen Liu")
    final = rv.finalize(flagged_draft, "d" * 64, st, "Karen Liu")
    final = final.model_copy(update={"prohibited_questions": flagged_draft.prohibited_questions})
    assert FinalScorecard.model_validate_json(final.model_dump_json()).prohibited_questions
    assert "**Questions that must not be asked: 5**" in render_scorecard_markdown(final)
    assert "Questions that must not be asked: 5" in render_scorecard_html(final)
