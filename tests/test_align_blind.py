"""The aligner on the blind set (tests/data/blind_align): a third guide (IT Service Desk Analyst,
imported from text) and 24 interviews written and labelled by a session that had not seen the
matching rules. Nothing was tuned on it: the thresholds were chosen on samples/labels first.

    .venv/bin/python tests/alignment_scoring.py tests/data/blind_align/*.labels.yaml

Measured when the set arrived (before any change; see the commit log):
    lexical  questions P 0.964 R 0.505 L 0.963; areas P 0.959 R 0.210; follow-ups P 1.000 R 0.455
    semantic questions P 0.987 R 0.692 L 0.838; areas P 0.914 R 0.446; follow-ups P 0.722 R 0.574
    both     questions P 0.964 R 0.748 L 0.863; areas P 0.920 R 0.587; follow-ups P 0.780 R 0.613
After prompt statements count as asking (align.PROMPT_*, chosen on the development set
tests/data/dev_align, not on this one):
    lexical  questions P 0.968 R 0.561 L 0.950; areas P 0.960 R 0.216; follow-ups P 1.000 R 0.441
    semantic questions P 0.988 R 0.738 L 0.848; areas P 0.909 R 0.479; follow-ups P 0.741 R 0.597
    both     questions P 0.966 R 0.794 L 0.859; areas P 0.920 R 0.620; follow-ups P 0.778 R 0.620
The floors below sit a little under those numbers: they catch a regression, they are not targets.
"""

from __future__ import annotations

import pytest

from alignment_scoring import assert_floors, load_labelled
from conftest import DATA, REPO

BLIND = sorted((DATA / "blind_align").glob("*.labels.yaml"))

FLOORS = {
    "lexical": dict(precision=0.93, recall=0.48, location=0.93, area_precision=0.93, area_recall=0.19),
    "semantic": dict(precision=0.95, recall=0.66, location=0.80, area_precision=0.88, area_recall=0.42),
    "both": dict(precision=0.93, recall=0.77, location=0.83, area_precision=0.89, area_recall=0.59,
                 follow_up_precision=0.74, follow_up_recall=0.58),
}


@pytest.mark.parametrize("method", list(FLOORS))
def test_alignment_holds_its_floors_on_the_blind_set(method):
    if not BLIND:
        pytest.skip("no blind set")
    assert_floors(BLIND, method, FLOORS[method], what="blind interviews")


def test_every_blind_interview_is_accepted_and_most_stages_are_detected():
    from evaluator.align import detect_stage
    from evaluator.inputs import check_interview, load_interview

    right = wrong_but_confident = 0
    for p in BLIND:
        label, guide, stage, _ = load_labelled(p, REPO)
        t = load_interview(p.parent / label["transcript"], guide=guide)  # roles inferred, as in a batch
        assert check_interview(t, guide) == [], p.name
        guess = detect_stage(t, guide)
        right += guess.stage_id == stage.id
        wrong_but_confident += guess.confident and guess.stage_id != stage.id
    # measured: 17 of 24 right (12 of them confident), none confidently wrong
    assert right >= 16 and wrong_but_confident <= 1, (right, wrong_but_confident)
