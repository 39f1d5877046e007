#!/usr/bin/env python3
"""Benchmark `interview-eval transcribe` against faster-whisper called directly, and score WER.

Every side runs in a fresh subprocess on the same file with the same model and options, so each
includes interpreter start, imports, model load, decoding and inference. Per-run peak RSS comes
from os.wait4 on that child. Runs alternate between the sides and the best of --repeat is kept for
each (less noise from other work on the machine). Sides:

- wrapper          `interview-eval transcribe --no-cache` (the default path)
- wrapper-hit      the same command with its transcript cached (what a re-run costs)
- wrapper-batched  `--no-cache --batched` (faster-whisper's BatchedInferencePipeline)
- direct           a minimal faster-whisper script, WhisperModel defaults (cpu_threads=0: 4 threads)
- direct-threads   the same script with the wrapper's cpu_threads (so `wrapper / direct-threads`
                   is the wrapper's own overhead, and `direct / direct-threads` the thread choice)

    .venv/bin/python bench/bench_transcribe.py                       # the screening sample
    .venv/bin/python bench/bench_transcribe.py call.m4a --model small.en --reference call.ref.txt
    .venv/bin/python bench/bench_transcribe.py samples/audio/cam-retention-call-stereo.ogg \
        --channels interviewer,candidate --reference samples/audio/cam-retention-call-stereo.ref.txt

Targets: wrapper/direct time <= 1.03 and memory <= 1.05; RTF <= 0.1 with tiny.en on a 2-core CPU.
WER needs `jiwer` (pip install jiwer) and a reference transcript: `[mm:ss] Name: words` lines or
plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_AUDIO = ROOT / "samples" / "audio" / "cam-screening.ogg"

# The baseline: what a user of faster-whisper would write, with our options.
DIRECT = r"""
import json, sys
from faster_whisper import WhisperModel, decode_audio
model_path, audio_path, opts, device, compute_type, split, threads = sys.argv[1:8]
opts = json.loads(opts)
m = WhisperModel(model_path, device=device, compute_type=compute_type, local_files_only=True,
                 cpu_threads=int(threads))
parts = decode_audio(audio_path, split_stereo=True) if split == "1" else [audio_path]
texts = []
for part in parts:
    segments, info = m.transcribe(part, **opts)
    texts += [(s.start, s.text.strip()) for s in segments]
texts.sort()
print(json.dumps([t for _, t in texts]))
"""


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, str, float]:
    """Run a command; return (wall seconds, peak RSS MB of that child, stdout, CPU seconds user+sys)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(cmd[:4])} ... failed ({proc.returncode}): "
                     f"{err.read().decode(errors='replace').strip()[-500:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode(), usage.ru_utime + usage.ru_stime


def reference_words(path: Path) -> str:
    """The words of a reference transcript, without `[mm:ss]` stamps and `Name:` prefixes."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"^\s*[\[(][\d:.,\s-]+[\])]\s*", "", line)
        line = re.sub(r"^[A-Z][\w .'-]{0,40}:\s+", "", line)
        lines.append(line)
    return " ".join(lines)


def wer_text(text: str) -> str:
    """Normalise for WER: '%' spoken as 'percent', then the project's normalize (case, punctuation)."""
    from evaluator.text import normalize

    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    return normalize(text.replace("-", " "))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate with jiwer on normalised text."""
    try:
        import jiwer
    except ImportError:
        sys.exit("error: --reference needs jiwer — pip install jiwer")
    return jiwer.wer(wer_text(reference), wer_text(hypothesis))


# Fixed costs: what the wrapper imports on top of faster-whisper, timed alone (short runs are less
# at the mercy of a busy machine than whole transcriptions).
STARTUP = {
    "python -c pass": "pass",
    "import faster_whisper (direct)": "import faster_whisper",
    "import typer": "import typer",
    "import evaluator.cli": "import evaluator.cli",
    "+ transcribe, formats, roles": "import evaluator.cli, evaluator.transcribe, evaluator.formats, evaluator.roles",
    "+ one typer parse (pydantic schemas)": "import evaluator.cli, evaluator.transcribe, evaluator.formats, "
    "evaluator.roles\nfrom evaluator.transcript import Transcript\nTranscript.model_validate({'segments': []})\n"
    "import typer, typing\napp = typer.Typer()\n@app.command()\ndef f(n: typing.Annotated[int, typer.Option()] = 1): pass\n"
    "app(['--n', '2'], standalone_mode=False)",
    "faster_whisper + all of the above": "import faster_whisper, evaluator.cli, evaluator.transcribe, "
    "evaluator.formats, evaluator.roles\nimport typer, typing\napp = typer.Typer()\n@app.command()\n"
    "def f(n: typing.Annotated[int, typer.Option()] = 1): pass\napp(['--n', '2'], standalone_mode=False)",
}


def startup(env: dict, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` wall seconds of each STARTUP snippet in a fresh interpreter."""
    best = {name: float("inf") for name in STARTUP}
    for _ in range(repeat):
        for name, code in STARTUP.items():
            best[name] = min(best[name], run_measured([sys.executable, "-c", code], env)[0])
    return best


SIDES = ("wrapper", "wrapper-hit", "wrapper-batched", "direct", "direct-threads")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=DEFAULT_AUDIO)
    ap.add_argument("--model", default=None, help="as `transcribe --model` (default: the bundled tiny.en)")
    ap.add_argument("--channels", default=None, help="as `transcribe --channels`, e.g. interviewer,candidate")
    ap.add_argument("--reference", type=Path, default=None, help="reference transcript for WER")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side; the best is kept (default 3)")
    ap.add_argument("--batch-size", type=int, default=8, help="as `transcribe --batch-size` (default 8)")
    ap.add_argument("--sides", default=",".join(SIDES), help=f"comma-separated subset of {','.join(SIDES)}")
    ap.add_argument("--startup", type=int, default=0, metavar="N",
                    help="also time the wrapper's extra imports alone, best of N (e.g. 10)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    sides = [x for x in args.sides.split(",") if x]
    if any(x not in SIDES for x in sides) or "direct" not in sides:
        ap.error(f"--sides: a subset of {','.join(SIDES)} that includes direct")
    if args.reference is None:
        guess = args.audio.with_suffix(".ref.txt")
        args.reference = guess if guess.is_file() else None

    from evaluator.audio import decode_audio
    from evaluator.transcribe import asr_options, default_cpu_threads, parse_channels, pick_device, resolve_model

    chans = parse_channels(args.channels)
    resolved = resolve_model(args.model, verify=False)
    device, compute_type = pick_device("auto")
    threads = default_cpu_threads()
    duration = decode_audio(args.audio).duration_s
    opts = asr_options("en")

    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_EVAL_")}
    env["ORT_DISABLE_TELEMETRY"] = "1"  # the direct script too: no DNS lookups from the benchmark
    # faster-whisper's modules come with .pyc files from pip; without this the wrapper would compile
    # every evaluator module from source on every run (sandboxes often set it), which users never pay.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as td:
        env["INTERVIEW_EVAL_CACHE_DIR"] = td  # never touch the user's cache
        out = {side: Path(td) / f"{side}.json" for side in sides}
        wrapper = [sys.executable, "-m", "evaluator.cli", "transcribe", str(args.audio)]
        if args.model:
            wrapper += ["--model", args.model]
        if chans:
            wrapper += ["--channels", ",".join(chans)]
        direct = [sys.executable, "-c", DIRECT, str(resolved.path), str(args.audio), json.dumps(opts),
                  device, compute_type, "1" if chans else "0"]
        cmds = {
            "wrapper": wrapper + ["--no-cache", "-o", str(out["wrapper"])] if "wrapper" in sides else None,
            "wrapper-hit": wrapper + ["-o", str(out["wrapper-hit"])] if "wrapper-hit" in sides else None,
            "wrapper-batched": wrapper + ["--no-cache", "--batched", "--batch-size", str(args.batch_size),
                                          "-o", str(out["wrapper-batched"])] if "wrapper-batched" in sides else None,
            "direct": direct + ["0"],
            "direct-threads": direct + [str(threads)] if "direct-threads" in sides else None,
        }
        if "wrapper-hit" in sides:
            run_measured(cmds["wrapper-hit"], env)  # fill the cache (and the model verification record)
        else:
            run_measured(wrapper + ["-o", str(Path(td) / "warm.json")], env)  # the verification record
        runs: dict[str, list] = {side: [] for side in sides}
        for _ in range(max(1, args.repeat)):
            for side in sides:  # alternate, so a noisy minute hurts every side alike
                runs[side].append(run_measured(cmds[side], env))
        hyps = {side: " ".join(s["text"] for s in json.loads(out[side].read_text())["segments"])
                for side in sides if side.startswith("wrapper")}
    hyps["direct"] = " ".join(json.loads(runs["direct"][-1][2]))
    fixed = startup(env, args.startup) if args.startup else {}

    best = {side: min(r[0] for r in runs[side]) for side in sides}
    cpu = {side: min(r[3] for r in runs[side]) for side in sides}
    peak = {side: max(r[1] for r in runs[side]) for side in sides}
    result = {
        "audio": str(args.audio), "duration_s": round(duration, 2), "model": resolved.name,
        "model_path": str(resolved.path), "device": device, "compute_type": compute_type,
        "channels": chans, "repeat": args.repeat, "cpu_count": os.cpu_count(), "cpu_threads": threads,
        "batch_size": args.batch_size,
        "sides": {side: {"wall_s": round(best[side], 3), "cpu_s": round(cpu[side], 3),
                         "rtf": round(best[side] / duration, 4),
                         "peak_rss_mb": round(peak[side], 1), "runs_s": [round(r[0], 2) for r in runs[side]]}
                  for side in sides},
        "ratios": {},
        "startup_s": {k: round(v, 3) for k, v in fixed.items()},
    }
    ratios = result["ratios"]
    for side in sides:
        if side != "direct":
            ratios[f"{side}/direct"] = round(best[side] / best["direct"], 3)
    if "direct-threads" in sides:
        for side in ("wrapper", "wrapper-batched"):
            if side in sides:
                ratios[f"{side}/direct-threads"] = round(best[side] / best["direct-threads"], 3)
    if "wrapper" in sides:
        ratios["cpu wrapper/direct-threads" if "direct-threads" in sides else "cpu wrapper/direct"] = round(
            cpu["wrapper"] / cpu["direct-threads" if "direct-threads" in sides else "direct"], 3)
        ratios["peak_rss wrapper/direct"] = round(peak["wrapper"] / peak["direct"], 3)
    if args.reference:
        ref = reference_words(args.reference)
        result["reference"] = str(args.reference)
        result["wer"] = {side: round(wer(ref, hyp), 4) for side, hyp in hyps.items()}

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    ok = lambda v, target: "ok" if v <= target else "OVER TARGET"  # noqa: E731
    print(f"audio      {result['audio']} ({duration:.1f} s), model {resolved.name} on {device}/{compute_type}, "
          f"best of {args.repeat}, {os.cpu_count()} CPUs, wrapper cpu_threads {threads}")
    print(f"{'':16} {'wall s':>8} {'cpu s':>8} {'RTF':>8} {'peak MB':>8}  runs (wall s)")
    for side in sides:
        r = result["sides"][side]
        print(f"{side:16} {r['wall_s']:8.2f} {r['cpu_s']:8.2f} {r['rtf']:8.3f} {r['peak_rss_mb']:8.0f}  {r['runs_s']}")
    targets = {"wrapper/direct": 1.03, "peak_rss wrapper/direct": 1.05}
    for name, v in ratios.items():
        t = targets.get(name)
        print(f"ratio {name:30} {v:6.3f}" + (f"  (target <= {t}: {ok(v, t)})" if t else ""))
    if "wrapper" in sides:
        rtf = result["sides"]["wrapper"]["rtf"]
        print(f"RTF wrapper {rtf:.3f}  (target <= 0.1: {ok(rtf, 0.1)})")
    if fixed:
        print(f"startup (best of {args.startup}, wall ms):")
        for name, v in fixed.items():
            print(f"  {name:40} {v * 1000:6.0f}")
        extra = fixed["faster_whisper + all of the above"] - fixed["import faster_whisper (direct)"]
        print(f"  wrapper's fixed extra cost: {extra * 1000:.0f} ms = {extra / best['direct']:.1%} of the direct run")
    if args.reference:
        print("WER          " + ", ".join(f"{k} {v:.3f}" for k, v in result["wer"].items())
              + f"  (reference {args.reference})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
