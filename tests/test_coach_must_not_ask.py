"""Must-not-ask detection, case by case: a flag needs a question (or a request for information) from the
interviewer, addressed to the candidate about the candidate or their household, on a protected topic.

The cases live in tests/data/coach/cases/must_not_ask.yaml (development cases written for the rules, not a
measurement). Run with `-s` to see precision and recall per category over them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluator.coach import find_must_not_ask
from evaluator.transcript import Role, Segment, Transcript, segment_id

CASES_FILE = Path(__file__).parent / "data" / "coach" / "cases" / "must_not_ask.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def expected_categories(case: dict) -> set[str]:
    """The categories a case must be flagged with (empty for a lawful case)."""
    if case.get("lawful"):
        return set()
    flag = case["flag"]
    return set(flag if isinstance(flag, list) else [flag])


def interviewer_turn(say: str, after: str | None = None, asked: str | None = None) -> Transcript:
    """A transcript: the interviewer's earlier question `asked` and the candidate's `after` line (if any), the
    interviewer's `say` (the last interviewer segment), a short reply."""
    lines = ([("Ivy", Role.interviewer, asked)] if asked else []) + ([("Cal", Role.candidate, after)] if after else [])
    lines += [("Ivy", Role.interviewer, say), ("Cal", Role.candidate, "Okay.")]
    return Transcript(segments=[Segment(id=segment_id(i), start_s=10.0 * i, speaker=sp, role=role, text=text)
                                for i, (sp, role, text) in enumerate(lines)])


def flagged_categories(case: dict) -> set[str]:
    """The categories the rules flag in a case's `say` turn."""
    t = interviewer_turn(case["say"], case.get("after"), case.get("asked"))
    said = t.segments[-2].id
    return {f.category for f in find_must_not_ask(t) if f.segment_id == said}


def test_cases_cover_every_category_and_both_outcomes():
    cats = [c for case in CASES for c in expected_categories(case)]
    assert len({*cats}) >= 11
    assert sum(1 for case in CASES if case.get("lawful")) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["say"][:60])
def test_must_not_ask_case(case):
    assert flagged_categories(case) == expected_categories(case), case.get("why", "")


def test_precision_and_recall_per_category_on_the_cases():
    counts: dict[str, dict[str, int]] = {}
    for case in CASES:
        want, got = expected_categories(case), flagged_categories(case)
        for c in want | got:
            row = counts.setdefault(c, {"tp": 0, "fp": 0, "fn": 0})
            row["tp" if c in want and c in got else "fp" if c in got else "fn"] += 1
    print()
    for c, row in sorted(counts.items()):
        p = row["tp"] / (row["tp"] + row["fp"]) if row["tp"] + row["fp"] else 1.0
        r = row["tp"] / (row["tp"] + row["fn"]) if row["tp"] + row["fn"] else 1.0
        print(f"  {c:<36} tp={row['tp']:>3} fp={row['fp']:>3} fn={row['fn']:>3}  precision={p:.2f} recall={r:.2f}")
    assert all(row["fp"] == 0 and row["fn"] == 0 for row in counts.values()), counts


def test_candidate_turns_are_never_flagged_even_when_they_ask():
    t = Transcript(segments=[
        Segment(id="s0000", start_s=0, speaker="Ivy", role=Role.interviewer, text="What questions do you have?"),
        Segment(id="s0001", start_s=5, speaker="Cal", role=Role.candidate,
                text="How old are your kids? And what's the parental leave like, since I'm pregnant?")])
    assert find_must_not_ask(t) == []


def test_a_personal_question_refers_to_what_the_candidate_said_before_it_while_the_questions_stay_personal():
    lines = [("Ivy", Role.interviewer, "How about that game this weekend?"),
             ("Cal", Role.candidate, "My husband made me watch the whole thing. We moved here for his job."),
             ("Ivy", Role.interviewer, "So how long have you been out, if you don't mind me asking?"),
             ("Cal", Role.candidate, "I'd rather keep the focus on the role."),
             ("Ivy", Role.interviewer, "Of course. And does he work too, or is he home?"),
             ("Cal", Role.candidate, "He works."),
             ("Ivy", Role.interviewer, "Tell me about your biggest account."),
             ("Cal", Role.candidate, "A school district; their director and I met weekly."),
             ("Ivy", Role.interviewer, "Of course. And does he work too, or is he home?")]
    t = Transcript(segments=[Segment(id=segment_id(i), start_s=10.0 * i, speaker=sp, role=role, text=text)
                             for i, (sp, role, text) in enumerate(lines)])
    by_segment = {(f.segment_id, f.category) for f in find_must_not_ask(t)}
    assert (segment_id(4), "family_status") in by_segment  # the husband, two candidate turns back
    assert not any(seg == segment_id(8) for seg, _ in by_segment)  # after a lawful question: context reset
