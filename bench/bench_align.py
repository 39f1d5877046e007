"""Alignment speed on a 90-minute (15,000-word) transcript, per signal, cold and warm.

    .venv/bin/python bench/bench_align.py [--repeat 5]

Target: aligning a 90-minute interview takes under 1 second on this 2-core machine, with both
signals, cold (the first alignment in a new process: importing numpy and loading the bundled
embedding model included) and warm (the model loaded, no memoised words or vectors of an earlier
run). Printed as absolute times and as ratios to the baseline, reading the same transcript's
JSON from disk, measured in the same run.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from long_transcript import long_transcript  # noqa: E402

METHODS = {"lexical": ("lexical",), "semantic": ("semantic",), "both": ("lexical", "semantic")}

# One cold alignment in a fresh interpreter: everything it needs is imported and loaded inside the timing.
_COLD = """
import sys, time, json
path, signals = sys.argv[1], tuple(sys.argv[2].split(","))
from evaluator.formats import read_transcript
from evaluator.guide import load_guide
t = read_transcript(path)
stage = load_guide("customer-account-manager").stage("screening")
t0, c0 = time.perf_counter(), time.process_time()
from evaluator.align import align_offline
al = align_offline(t, stage, signals=signals)
print(json.dumps({"s": time.perf_counter() - t0, "cpu": time.process_time() - c0, "asked": len(al.asked)}))
"""


def best(fn, repeat: int) -> tuple[float, float]:
    """The fastest of `repeat` runs: (wall seconds, CPU seconds of this process)."""
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(times)


def _forget() -> None:
    """Drop memoised words, fuzzy matches and sentence vectors, so a warm run redoes all the work."""
    from evaluator import align as A, semantic as S, text as T

    A._concept_words.cache_clear()
    A._fuzzy_eq.cache_clear()
    T.stem.cache_clear()
    S._cache.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from evaluator.align import align_offline
    from evaluator.formats import read_transcript
    from evaluator.guide import load_guide

    t = long_transcript()
    words = sum(len(s.text.split()) for s in t.segments)
    stage = load_guide("customer-account-manager").stage("screening")
    print(f"transcript: {len(t.segments)} segments, {words} words, {t.meta.duration_s / 60:.0f} minutes")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "long.json"
        path.write_text(t.model_dump_json())
        read_s, _ = best(lambda: read_transcript(path), args.repeat)
        print(f"baseline (read transcript JSON): {read_s * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores (wall times grow with the load; CPU times much less)")
        repo = Path(__file__).resolve().parent.parent
        for name, signals in METHODS.items():
            cold = []
            for _ in range(max(1, args.repeat // 2)):
                out = subprocess.run([sys.executable, "-c", _COLD, str(path), ",".join(signals)], cwd=repo,
                                     capture_output=True, text=True, check=True)
                cold.append(json.loads(out.stdout.splitlines()[-1]))
            cold_s, cold_cpu = min((c["s"], c["cpu"]) for c in cold)

            def warm():
                _forget()
                return align_offline(t, stage, signals=signals)

            warm()  # model loaded; what follows starts from no memoised words or vectors
            warm_s, warm_cpu = best(warm, args.repeat)
            met = "met" if max(cold_s, warm_s) < 1 else "NOT met"
            print(f"{name:8s} cold {cold_s * 1000:5.0f} ms wall, {cold_cpu * 1000:5.0f} ms CPU "
                  f"({cold_s / read_s:5.1f}x baseline)   warm {warm_s * 1000:5.0f} ms wall, {warm_cpu * 1000:5.0f} ms CPU "
                  f"({warm_s / read_s:5.1f}x)   asked {cold[0]['asked']}/{len(stage.questions)}   "
                  f"target < 1000 ms wall: {met}")


if __name__ == "__main__":
    main()
