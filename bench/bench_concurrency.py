"""Concurrency trials of the review files: parallel `review` processes on one draft, counting what is lost.

    .venv/bin/python bench/bench_concurrency.py [--parallel 50] [--rounds 3]

Trial 1: N processes of ONE reviewer each add a note to the same criterion at once (every note must survive).
Trial 2: two reviewers decide every criterion and finish at the same moment (both finals must exist).
Trial 3: two people revise the same final at once (both changes must be in the revision chain).
Prints, per trial, how many of the expected records were lost (target: 0) and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from scorecard_fixtures import make_draft, write_draft  # noqa: E402


def _spawn(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
    return subprocess.Popen([sys.executable, "-m", "evaluator.cli", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _run_all(cmds: list[list[str]]) -> list[tuple[int, str]]:
    procs = [_spawn(c) for c in cmds]
    return [(p.wait(), p.stderr.read()) for p in procs]


def _decide_all(draft, reviewer: str, score: int) -> list[str]:
    args = ["review", draft, "--reviewer", reviewer]
    for p in make_draft().scores:
        s = score if p.kind != "overall" else max(1, min(score, 4))
        args += ["--set", f"{p.criterion_id}={s}:trial"]
    return args


def trial_notes(folder: Path, n: int) -> tuple[int, int]:
    d = write_draft(folder / "notes.json")
    results = _run_all([["review", d, "--reviewer", "Dana", "--note", f"upselling-skills=note {i}"] for i in range(n)])
    from evaluator.store import FileStore

    state = json.loads(FileStore().state_path(d, "Dana").read_text())
    kept = set(state["criteria"]["upselling-skills"]["notes"].splitlines())
    failed = sum(code != 0 for code, _ in results)
    return n - len(kept & {f"note {i}" for i in range(n)}), failed


def trial_finals(folder: Path) -> tuple[int, int]:
    d = write_draft(folder / "finals.json")
    results = _run_all([_decide_all(d, "Dana", 3), _decide_all(d, "Kim", 2)])
    reviewers = {json.loads(p.read_text())["reviewer"] for p in folder.glob("finals.final*.json")}
    return 2 - len(reviewers & {"Dana", "Kim"}), sum(code != 0 for code, _ in results)


def trial_revisions(folder: Path) -> tuple[int, int]:
    d = write_draft(folder / "revs.json")
    _run_all([_decide_all(d, "Dana", 3)])
    final = folder / "revs.final.json"
    results = _run_all([["review", final, "--reviewer", "Kim", "--set", "upselling-skills=1:kim"],
                        ["review", final, "--reviewer", "Lee", "--set", "data-driven-approach=2:lee"]])
    latest = max(folder.glob("revs.final.r*.json"), key=lambda p: int(p.stem.rsplit(".r", 1)[1]))
    scores = {c["criterion_id"]: c["final_score"] for c in json.loads(latest.read_text())["criteria"]}
    lost = (scores["upselling-skills"] != 1) + (scores["data-driven-approach"] != 2)
    return lost, sum(code != 0 for code, _ in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parallel", type=int, default=50, help="processes in the same-reviewer trial")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    totals = {"notes": [0, 0], "finals": [0, 0], "revisions": [0, 0]}
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for name, fn in (("notes", lambda: trial_notes(folder, args.parallel)),
                             ("finals", lambda: trial_finals(folder)), ("revisions", lambda: trial_revisions(folder))):
                t0 = time.perf_counter()
                lost, failed = fn()
                totals[name][0] += lost
                totals[name][1] += failed
                print(f"round {r + 1} {name:9s}: lost {lost}, failed processes {failed}, "
                      f"{time.perf_counter() - t0:.1f} s")
    expected = {"notes": args.parallel, "finals": 2, "revisions": 2}
    for name, (lost, failed) in totals.items():
        print(f"TOTAL {name:9s}: lost {lost} of {expected[name] * args.rounds}, failed processes {failed}")


if __name__ == "__main__":
    main()
