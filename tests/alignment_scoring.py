"""Scoring the aligner against labelled interviews (samples/labels, tests/data/blind_align).

A label file names a transcript, a guide (id or file) and a stage, and per guide question:
`asked`, `asked_at` (a snippet of the interviewer's words where it was asked), optionally
`areas` (each area to cover: covered | partly | not) and `follow_ups_asked` (the follow-ups asked,
by text or 1-based index).

    .venv/bin/python tests/alignment_scoring.py samples/labels/*.yaml   # prints P/R per signal
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evaluator.align import align_offline, build_turns  # noqa: E402
from evaluator.guide import Guide, load_guide  # noqa: E402
from evaluator.inputs import load_interview  # noqa: E402
from evaluator.text import normalize  # noqa: E402
from evaluator.transcript import Role  # noqa: E402

METHODS = {"lexical": ("lexical",), "semantic": ("semantic",), "both": ("lexical", "semantic")}


@dataclass
class Tally:
    """Counts for questions, locations, areas ("covered or partly" vs "not") and follow-ups."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    loc_ok: int = 0
    area_tp: int = 0
    area_fp: int = 0
    area_fn: int = 0
    area_tn: int = 0
    fu_tp: int = 0
    fu_fp: int = 0
    fu_fn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for k, v in vars(other).items():
            if k == "errors":
                self.errors += v
            else:
                setattr(self, k, getattr(self, k) + v)

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    @property
    def precision(self) -> float:
        return self._ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self._ratio(self.tp, self.tp + self.fn)

    @property
    def location(self) -> float:
        return self._ratio(self.loc_ok, self.tp)

    @property
    def area_precision(self) -> float:
        return self._ratio(self.area_tp, self.area_tp + self.area_fp)

    @property
    def area_recall(self) -> float:
        return self._ratio(self.area_tp, self.area_tp + self.area_fn)

    @property
    def area_labels(self) -> int:
        return self.area_tp + self.area_fp + self.area_fn + self.area_tn

    @property
    def follow_up_precision(self) -> float:
        return self._ratio(self.fu_tp, self.fu_tp + self.fu_fp)

    @property
    def follow_up_recall(self) -> float:
        return self._ratio(self.fu_tp, self.fu_tp + self.fu_fn)

    def summary(self) -> str:
        s = (f"questions P {self.precision:.3f} R {self.recall:.3f} location {self.location:.3f} "
             f"(tp {self.tp}, fp {self.fp}, fn {self.fn})")
        if self.area_labels:
            s += (f"; areas P {self.area_precision:.3f} R {self.area_recall:.3f} "
                  f"({self.area_labels} labelled)")
        if self.fu_tp + self.fu_fp + self.fu_fn:
            s += f"; follow-ups P {self.follow_up_precision:.3f} R {self.follow_up_recall:.3f}"
        return s


def _guide(label: dict, base: Path) -> Guide:
    ref = str(label["guide"])
    p = base / ref
    if p.is_file():
        if p.suffix in (".yaml", ".yml"):
            return load_guide(p)
        from evaluator.guide_import import import_guide_file

        return import_guide_file(p).guide
    return load_guide(ref)


def _area_statuses(q: dict, areas: list[str]) -> dict[str, str]:
    """Area labels as {area text: status}; accepts a list of {area, status}, a {text: status} map,
    or a list of statuses in guide order."""
    raw = q.get("areas")
    if not raw:
        return {}
    if isinstance(raw, dict):
        items = list(raw.items())
    elif all(isinstance(x, str) for x in raw):
        items = list(zip(areas, raw))
    else:
        items = [(x.get("area") or x.get("text"), x.get("status")) for x in raw]
    out = {}
    for text, status in items:
        hit = next((a for a in areas if normalize(a) == normalize(str(text))), None)
        if hit is None:  # a shortened label: the guide area that starts with it
            hit = next((a for a in areas if normalize(a).startswith(normalize(str(text)))), None)
        if hit is not None:
            out[hit] = str(status)
    return out


@lru_cache(maxsize=256)
def load_labelled(path: Path, base: Path):
    """The label, guide, stage and transcript (roles set) of one label file; read once per process."""
    label = yaml.safe_load(path.read_text(encoding="utf-8"))
    guide = _guide(label, path.parent if (path.parent / str(label["guide"])).is_file() else base)
    stage = guide.stage(label["stage"]) if label.get("stage") else guide.stages[0]
    tpath = base / label["transcript"] if (base / label["transcript"]).is_file() else path.parent / label["transcript"]
    t = load_interview(tpath, guide=guide, stage=stage,
                       interviewer=label.get("interviewer"), candidate=label.get("candidate"))
    return label, guide, stage, t


def score_label(path: Path, signals: tuple[str, ...], *, base: Path | None = None) -> Tally:
    """Align one labelled interview with `signals` and count what it got right."""
    label, guide, stage, t = load_labelled(path, base or REPO)
    al = align_offline(t, stage, guide=guide, signals=signals)
    turn_of: dict[str, int] = {}
    k = -1
    for turn in build_turns(t):
        if turn.role == Role.interviewer:
            k += 1
            for s in turn.segments:
                turn_of[s.id] = k
    out = Tally()
    name = path.stem
    for q in label.get("questions") or []:
        m = al.match(q["id"])
        truth = bool(q["asked"])
        if m.asked and truth:
            out.tp += 1
            want = normalize(q["asked_at"])
            seg = next((s for s in t.segments if want in normalize(s.text)), None)
            assert seg is not None, f"{path}: label snippet not found: {q['asked_at']!r}"
            got = turn_of.get(m.segment_ids[0], -99)
            if abs(got - turn_of.get(seg.id, -1)) <= 1:
                out.loc_ok += 1
            else:
                out.errors.append(f"{name}: {q['id']} located at {m.segment_ids[0]}, labelled {seg.id}")
        elif m.asked and not truth:
            out.fp += 1
            out.errors.append(f"{name}: {q['id']} false positive ({m.method}) at {m.segment_ids[0]}: "
                              f"{m.asked_text[-80:]!r}")
        elif truth:
            out.fn += 1
            out.errors.append(f"{name}: {q['id']} missed (labelled at {q['asked_at']!r})")
        gq = stage.question(q["id"])
        got_areas = {a.area: a.status for a in m.areas}
        for area, status in _area_statuses(q, gq.areas_to_cover).items():
            want_hit, got_hit = status in ("covered", "partly"), got_areas.get(area, "not") in ("covered", "partly")
            if want_hit and got_hit:
                out.area_tp += 1
            elif got_hit:
                out.area_fp += 1
                out.errors.append(f"{name}: {q['id']} area {area!r} found but labelled not")
            elif want_hit:
                out.area_fn += 1
                out.errors.append(f"{name}: {q['id']} area {area!r} missed (labelled {status})")
            else:
                out.area_tn += 1
        if "follow_ups_asked" in q and truth and m.asked:
            # follow-ups by text, or by 1-based index into the guide's follow-ups
            want_fu = {normalize(gq.follow_ups[f - 1] if isinstance(f, int) else f)
                       for f in q.get("follow_ups_asked") or []}
            for fm in m.follow_ups:
                w = normalize(fm.text) in want_fu
                if w and fm.asked:
                    out.fu_tp += 1
                elif fm.asked:
                    out.fu_fp += 1
                    out.errors.append(f"{name}: {q['id']} follow-up {fm.text!r} found ({fm.method}) but not asked")
                elif w:
                    out.fu_fn += 1
                    out.errors.append(f"{name}: {q['id']} follow-up {fm.text!r} missed")
    return out


def score_set(paths: list[Path], method: str, *, base: Path | None = None) -> Tally:
    """The tally over a set of label files for one method (lexical, semantic, both)."""
    tot = Tally()
    for p in paths:
        tot.add(score_label(p, METHODS[method], base=base))
    return tot


def assert_floors(paths: list[Path], method: str, floors: dict[str, float], *, what: str) -> Tally:
    """Score `paths` with `method`, print the summary, and fail naming every measure below its floor."""
    tot = score_set(paths, method)
    summary = f"{method} on {len(paths)} {what}: {tot.summary()}"
    print("\n" + summary)
    low = {k: round(getattr(tot, k), 3) for k, floor in floors.items() if getattr(tot, k) < floor}
    assert not low, f"{summary}\nbelow the floor: {low}\n" + "\n".join(tot.errors)
    return tot


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv
    paths = [Path(p) for p in args] or sorted((REPO / "samples" / "labels").glob("*.yaml"))
    for method in METHODS:
        tot = score_set(paths, method)
        print(f"{method:8s} on {len(paths)} interviews: {tot.summary()}")
        if method == "both" or verbose:
            print("\n".join("    " + e for e in tot.errors))
