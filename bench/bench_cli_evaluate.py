"""`evaluate` outside the LLM, as a person runs it: the real CLI, start-up included, on every bundled sample.

    .venv/bin/python bench/bench_cli_evaluate.py --baseline /path/to/older/checkout [--repeat 5]

Runs `interview-eval evaluate SAMPLE --guide G --no-llm -o OUT` for each sample transcript with this checkout
and with the baseline checkout (another clone or worktree of the project, e.g. the commit before a change),
alternating, best of `--repeat` per sample and side. Each side runs with its own checkout's `.venv` when it has one
(its own dependencies, as a user of that version has them), else with this Python; PYTHONPATH selects the code.
Prints the total wall time per side and the ratio this/baseline (target of issue 13: <= 0.5), plus the time of
`--help` (start-up alone).

`--llm` runs every side against a local OpenAI-compatible stub that answers at once (tests/openai_stub.py with
bench_evaluate's well-behaved model, `--no-cache`), so the time is everything outside the LLM with an LLM
configured: the `openai` import and client set-up, prompts, quote checks, included.

    .venv/bin/python bench/bench_cli_evaluate.py --baseline /path/to/older/checkout --llm
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkout_cli import run_cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [("samples/cam-screening-strong.vtt", "customer-account-manager"),
           ("samples/cam-screening-weak-skips.txt", "customer-account-manager"),
           ("samples/cam-hiring-manager.txt", "customer-account-manager"),
           ("samples/cam-behavioral-marcus-lee.vtt", "customer-account-manager"),
           ("samples/cam-work-sample-retention-call.srt", "customer-account-manager"),
           ("samples/cso-behavioral-strong.txt", "customer-success-operations-specialist"),
           ("samples/cso-behavioral-weak.vtt", "customer-success-operations-specialist")]


def _once(code: Path, args: list[str], cache: Path, llm_url: str | None = None) -> float:
    llm = dict(OPENAI_BASE_URL=llm_url, OPENAI_API_KEY="sk-bench") if llm_url else {}
    return run_cli(code, args, INTERVIEW_EVAL_CACHE_DIR=str(cache), **llm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="another checkout of the project")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--llm", action="store_true", help="with an instant local LLM stub instead of --no-llm")
    args = ap.parse_args()
    if args.llm:
        sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]
        from bench_evaluate import answer
        from openai_stub import OpenAIStub

        with OpenAIStub(handler=answer) as server:
            run(args, server.base_url)
    else:
        run(args, None)


def run(args, llm_url: str | None) -> None:
    mode = ["--model", "bench-model", "--no-cache"] if llm_url else ["--no-llm"]
    sides = {"this": REPO, "baseline": args.baseline.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        totals = {k: 0.0 for k in sides}
        helps = {k: min(_once(code, ["--help"], tmp) for _ in range(args.repeat)) for k, code in sides.items()}
        for sample, guide in SAMPLES:
            best = {k: float("inf") for k in sides}
            for _ in range(args.repeat):
                for name, code in sides.items():
                    out = tmp / f"{name}-{Path(sample).stem}.json"
                    out.unlink(missing_ok=True)
                    best[name] = min(best[name], _once(code, ["evaluate", str(code / sample), "--guide", guide,
                                                              *mode, "-o", str(out)], tmp / name, llm_url))
            for k in sides:
                totals[k] += best[k]
            print(f"{sample:45s} this {best['this']:.2f} s  baseline {best['baseline']:.2f} s  "
                  f"ratio {best['this'] / best['baseline']:.2f}")
    print(f"--help: this {helps['this']:.2f} s, baseline {helps['baseline']:.2f} s")
    print(f"TOTAL evaluate {' '.join(mode)} over {len(SAMPLES)} samples: this {totals['this']:.2f} s, baseline "
          f"{totals['baseline']:.2f} s, ratio {totals['this'] / totals['baseline']:.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
