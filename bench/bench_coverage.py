"""Batch coverage audit speed: `interview-eval coverage DIR` over N interviews, one worker vs all cores.

    .venv/bin/python bench/bench_coverage.py [--sizes 100 500] [--repeat 1]

The folder holds N copies (distinct names and content hashes) of the bundled batch interviews. Each side is
the real CLI in a subprocess (interpreter start, imports, guide load included). Prints interviews/second for
`--jobs 1` and for the default (the usable cores), and the ratio of the two wall times. `--baseline DIR` also
times another checkout (e.g. the code before the process pool) on the same folder, with its own `.venv` when it
has one and without `--jobs`.

    .venv/bin/python bench/bench_coverage.py --baseline /path/to/older/checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkout_cli import run_cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "samples" / "batch").iterdir())


def make_folder(folder: Path, n: int) -> None:
    for i in range(n):
        src = SOURCES[i % len(SOURCES)]
        text = src.read_text(encoding="utf-8")
        if src.suffix == ".txt":  # a distinct file: one more line at the end
            text += "\n"
        (folder / f"{i:04d}-{src.name}").write_text(text, encoding="utf-8")


def run(folder: Path, jobs: int | None, code: Path = REPO) -> float:
    return run_cli(code, ["coverage", str(folder), "--guide", "customer-account-manager", "--json"]
                   + (["--jobs", str(jobs)] if jobs else []))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs per side")
    ap.add_argument("--baseline", type=Path, help="another checkout, timed on the same folder (one process)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"usable cores: {cores}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            make_folder(folder, n)
            one = min(run(folder, 1) for _ in range(args.repeat))
            many = min(run(folder, None) for _ in range(args.repeat))
            print(f"N={n}: --jobs 1 {one:.1f} s ({n / one:.1f} interviews/s); all cores {many:.1f} s "
                  f"({n / many:.1f} interviews/s); time ratio {many / one:.2f}")
            if args.baseline:
                base = min(run(folder, None, args.baseline.resolve()) for _ in range(args.repeat))
                print(f"       baseline {base:.1f} s ({n / base:.1f} interviews/s); all cores / baseline "
                      f"{many / base:.2f}")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
