"""Interviewer coaching measured on the held-out set in tests/data/coach_heldout/.

The set was written blind by someone who had not seen the rules: five transcripts, each with a
`*.labels.yaml` listing every expected flag (`flags: [{kind, category, snippet}]`) and lines that must not be
flagged as must-not-ask (`lawful: [{snippet}]`). Its category names are the labeller's own; `CATEGORY_MAP`
translates them to the rules' slugs. The stage is screening when the file name says so, else behavioral.
Once the rules were tuned on these files the figures stopped being blind; they now guard against regressions.
Run with `-s` to see precision and recall per flag family.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluator.coach import CATEGORY_NAMES, CoachReport, coach
from evaluator.formats import read_transcript
from evaluator.guide import load_guide
from evaluator.text import normalize

from test_coach import FAMILIES, lawful_flagged, match_flags, pr, print_pr

DATA = Path(__file__).parent / "data" / "coach_heldout"
LABEL_FILES = sorted(DATA.glob("*.labels.yaml"))
GUIDE = "customer-account-manager"
# The labeller's category names -> the rules' category slugs (names not listed are already the same).
CATEGORY_MAP = {
    "marital_family": "family_status",
    "children": "family_status",
    "arrests": "arrest_record",
    "sexual_orientation_gender": "sexual_orientation_gender_identity",
}


def rule_category(label_category: str) -> str:
    """The rules' slug for a category name used in the held-out labels."""
    return CATEGORY_MAP.get(label_category, label_category)


def stage_id(transcript_name: str) -> str:
    """Screening when the file name says so, else behavioral (the set covers those two stages)."""
    return "screening" if "screening" in transcript_name else "behavioral"


def _labels(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


_RESULTS: dict = {}


def evaluate_heldout() -> dict:
    """Coach every held-out transcript once; match flags to labels by kind, snippet and (mapped) category."""
    if _RESULTS:
        return _RESULTS
    guide = load_guide(GUIDE)
    counts = {f: {"tp": 0, "fp": 0, "fn": 0} for f in FAMILIES}
    categories: dict = {}
    misses: list[str] = []
    lawful_hits: list[str] = []
    reports: dict[str, CoachReport] = {}
    for lf in LABEL_FILES:
        lab = _labels(lf)
        t = read_transcript(DATA / lab["transcript"])
        report = coach(t, guide.stage(stage_id(lab["transcript"])), guide=guide,
                       interviewer=lab["interviewer"], candidate=lab["candidate"])
        reports[lf.name] = report
        match_flags(report, lab.get("flags") or [], counts, misses, lf.name, text_key="snippet",
                    category=rule_category, categories=categories)
        lawful_hits += lawful_flagged(report, [x["snippet"] for x in lab.get("lawful") or []], lf.name)
    _RESULTS.update(counts=counts, categories=categories, misses=misses, lawful_hits=lawful_hits, reports=reports)
    return _RESULTS


# ---------------------------------------------------------------- the labels themselves


def test_heldout_set_is_present_and_covers_every_flag_kind():
    assert len(LABEL_FILES) >= 5
    kinds = {e["kind"] for lf in LABEL_FILES for e in _labels(lf).get("flags") or []}
    assert kinds == set(FAMILIES)


@pytest.mark.parametrize("label_file", LABEL_FILES, ids=lambda p: p.name)
def test_heldout_labels_quote_interviewer_lines_and_known_categories(label_file):
    lab = _labels(label_file)
    t = read_transcript(DATA / lab["transcript"])
    interviewer_lines = [normalize(s.text) for s in t.segments if s.speaker == lab["interviewer"]]
    all_lines = [normalize(s.text) for s in t.segments]
    assert interviewer_lines, f"no turns by {lab['interviewer']!r}"
    for e in lab.get("flags") or []:
        assert e["kind"] in FAMILIES, e
        assert any(normalize(e["snippet"]) in line for line in interviewer_lines), f"not an interviewer line: {e}"
        if e["kind"] == "must_not_ask":
            assert rule_category(e["category"]) in CATEGORY_NAMES, (
                f"{label_file.name}: category {e['category']!r} has no rules slug; add it to CATEGORY_MAP")
    for law in lab.get("lawful") or []:
        assert any(normalize(law["snippet"]) in line for line in all_lines), f"lawful snippet not found: {law}"


# ---------------------------------------------------------------- the measurement


def test_heldout_lawful_lines_are_not_flagged_must_not_ask():
    res = evaluate_heldout()
    assert res["lawful_hits"] == []


def test_heldout_precision_and_recall_meet_targets():
    res = evaluate_heldout()
    counts = res["counts"]
    print()
    for line in res["misses"]:
        print("  " + line)
    print_pr(counts, res["categories"])
    quality = {k: sum(counts[f][k] for f in FAMILIES[1:]) for k in ("tp", "fp", "fn")}
    mp, mr = pr(counts["must_not_ask"])
    qp, qr = pr(quality)
    print(f"COACH HELD-OUT SUMMARY: must_not_ask precision={mp:.2f} recall={mr:.2f}; "
          f"question_quality precision={qp:.2f} recall={qr:.2f} over {len(LABEL_FILES)} transcripts")
    assert mp >= 0.9 and mr >= 0.9, (mp, mr, res["misses"])
    assert qp >= 0.8 and qr >= 0.8, (qp, qr, res["misses"])


def test_heldout_flags_cite_the_labelled_interviewers_turns():
    reports = evaluate_heldout()["reports"]
    for lf in LABEL_FILES:
        lab = _labels(lf)
        t = read_transcript(DATA / lab["transcript"])
        for f in reports[lf.name].must_not_ask + reports[lf.name].question_quality:
            seg = t.segment(f.segment_id)
            assert seg.speaker == lab["interviewer"] and f.line == seg.text, (lf.name, f.segment_id)


@pytest.mark.parametrize("line", [
    "How many kids were enrolled across your centers?",
    "How many children attend the largest center?",
])
def test_enrolment_questions_in_a_childcare_business_are_not_about_the_candidates_family(line):
    from evaluator.coach import find_must_not_ask
    from evaluator.transcript import Role, Segment, Transcript

    t = Transcript(segments=[Segment(id="s0000", start_s=0, speaker="I", role=Role.interviewer, text=line),
                             Segment(id="s0001", start_s=5, speaker="C", role=Role.candidate, text="About 400.")])
    assert find_must_not_ask(t) == []
