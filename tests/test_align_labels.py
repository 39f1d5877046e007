"""Question detection on the labelled set (samples/labels): precision, recall and location.

Targets (issue: alignment): precision >= 0.95, recall >= 0.95, and the location right (the same or
an adjacent interviewer turn as the labelled one) for >= 0.95 of detected questions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluator.align import align, build_turns
from evaluator.guide import load_guide
from evaluator.inputs import load_interview
from evaluator.text import normalize
from evaluator.transcript import Role

from conftest import REPO

LABELS = sorted((REPO / "samples" / "labels").glob("*.yaml"))


def _score_one(label: dict) -> dict:
    guide = load_guide(label["guide"])
    stage = guide.stage(label["stage"])
    t = load_interview(REPO / label["transcript"], guide=guide, stage=stage,
                       interviewer=label.get("interviewer"), candidate=label.get("candidate"))
    al = align(t, stage, guide=guide)
    # interviewer-turn index of every segment
    turn_of: dict[str, int] = {}
    k = -1
    for turn in build_turns(t):
        if turn.role == Role.interviewer:
            k += 1
            for s in turn.segments:
                turn_of[s.id] = k
    out = {"tp": 0, "fp": 0, "fn": 0, "loc_ok": 0, "errors": []}
    for q in label.get("questions") or []:
        m = al.match(q["id"])
        truth = bool(q["asked"])
        if m.asked and truth:
            out["tp"] += 1
            want = normalize(q["asked_at"])
            seg = next((s for s in t.segments if want in normalize(s.text)), None)
            assert seg is not None, f"{label['transcript']}: label snippet not found: {q['asked_at']!r}"
            got = turn_of.get(m.segment_ids[0], -99)
            if abs(got - turn_of.get(seg.id, -1)) <= 1:
                out["loc_ok"] += 1
            else:
                out["errors"].append(f"{q['id']} located at {m.segment_ids[0]}, labelled {seg.id}")
        elif m.asked and not truth:
            out["fp"] += 1
            out["errors"].append(f"{q['id']} false positive at {m.segment_ids[0]}: {m.asked_text[-80:]!r}")
        elif truth:
            out["fn"] += 1
            out["errors"].append(f"{q['id']} missed (labelled at {q['asked_at']!r})")
    return out


def test_question_detection_meets_the_targets_on_the_labelled_set():
    if not LABELS:
        pytest.skip("no labels")
    tot = {"tp": 0, "fp": 0, "fn": 0, "loc_ok": 0}
    report = []
    for path in LABELS:
        label = yaml.safe_load(path.read_text(encoding="utf-8"))
        r = _score_one(label)
        for k in tot:
            tot[k] += r[k]
        report += [f"  {path.stem}: {e}" for e in r["errors"]]
    precision = tot["tp"] / max(tot["tp"] + tot["fp"], 1)
    recall = tot["tp"] / max(tot["tp"] + tot["fn"], 1)
    location = tot["loc_ok"] / max(tot["tp"], 1)
    summary = (f"alignment on {len(LABELS)} labelled interviews: precision {precision:.3f}, recall {recall:.3f}, "
               f"location {location:.3f} (tp {tot['tp']}, fp {tot['fp']}, fn {tot['fn']})")
    print("\n" + summary + ("\n" + "\n".join(report) if report else ""))
    assert precision >= 0.95 and recall >= 0.95 and location >= 0.95, summary + "\n" + "\n".join(report)
