#!/usr/bin/env python3
"""Benchmark `interview-eval transcribe` against faster-whisper called directly, and score WER.

Both sides run in fresh subprocesses on the same file with the same model and options (the
wrapper with --no-cache), so each includes interpreter start, imports, model load, decoding and
inference. Per-run peak RSS comes from os.wait4 on that child. Runs alternate wrapper/direct and
the best of --repeat is kept for each side (less noise from other work on the machine).

    .venv/bin/python bench/bench_transcribe.py                       # the screening sample
    .venv/bin/python bench/bench_transcribe.py call.m4a --model small.en --reference call.ref.txt
    .venv/bin/python bench/bench_transcribe.py samples/audio/cam-retention-call-stereo.ogg \
        --channels interviewer,candidate --reference samples/audio/cam-retention-call-stereo.ref.txt

Targets: wrapper/direct time and memory <= 1.05; RTF <= 0.1 with tiny.en on a 2-core CPU.
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
model_path, audio_path, opts, device, compute_type, split = sys.argv[1:7]
opts = json.loads(opts)
m = WhisperModel(model_path, device=device, compute_type=compute_type, local_files_only=True)
parts = decode_audio(audio_path, split_stereo=True) if split == "1" else [audio_path]
texts = []
for part in parts:
    segments, info = m.transcribe(part, **opts)
    texts += [(s.start, s.text.strip()) for s in segments]
texts.sort()
print(json.dumps([t for _, t in texts]))
"""


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, peak RSS MB of that child, stdout)."""
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
        return wall, usage.ru_maxrss / 1024, out.read().decode()


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


def main(argv: list[str] | None = None) -> int:
    """Measure and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=DEFAULT_AUDIO)
    ap.add_argument("--model", default=None, help="as `transcribe --model` (default: the bundled tiny.en)")
    ap.add_argument("--channels", default=None, help="as `transcribe --channels`, e.g. interviewer,candidate")
    ap.add_argument("--reference", type=Path, default=None, help="reference transcript for WER")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side; the best is kept (default 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    if args.reference is None:
        guess = args.audio.with_suffix(".ref.txt")
        args.reference = guess if guess.is_file() else None

    from evaluator.audio import decode_audio
    from evaluator.transcribe import asr_options, parse_channels, pick_device, resolve_model

    chans = parse_channels(args.channels)
    resolved = resolve_model(args.model)
    device, compute_type = pick_device("auto")
    duration = decode_audio(args.audio).duration_s
    opts = asr_options("en")

    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_EVAL_")}
    with tempfile.TemporaryDirectory() as td:
        env["INTERVIEW_EVAL_CACHE_DIR"] = td  # never touch the user's cache (and --no-cache anyway)
        out_json = Path(td) / "out.json"
        wrapper_cmd = [sys.executable, "-m", "evaluator.cli", "transcribe", str(args.audio), "--no-cache",
                       "-o", str(out_json)]
        if args.model:
            wrapper_cmd += ["--model", args.model]
        if chans:
            wrapper_cmd += ["--channels", ",".join(chans)]
        direct_cmd = [sys.executable, "-c", DIRECT, str(resolved.path), str(args.audio), json.dumps(opts),
                      device, compute_type, "1" if chans else "0"]
        w_runs, d_runs = [], []
        for _ in range(max(1, args.repeat)):
            w_runs.append(run_measured(wrapper_cmd, env))
            d_runs.append(run_measured(direct_cmd, env))
        hyp_wrapper = " ".join(s["text"] for s in json.loads(out_json.read_text())["segments"])
    hyp_direct = " ".join(json.loads(d_runs[-1][2]))

    w_time, d_time = min(r[0] for r in w_runs), min(r[0] for r in d_runs)
    w_mem, d_mem = max(r[1] for r in w_runs), max(r[1] for r in d_runs)
    result = {
        "audio": str(args.audio), "duration_s": round(duration, 2), "model": resolved.name,
        "model_path": str(resolved.path), "device": device, "compute_type": compute_type,
        "channels": chans, "repeat": args.repeat, "cpu_count": os.cpu_count(),
        "wrapper": {"wall_s": round(w_time, 2), "rtf": round(w_time / duration, 4), "peak_rss_mb": round(w_mem, 1),
                    "runs_s": [round(r[0], 2) for r in w_runs]},
        "direct": {"wall_s": round(d_time, 2), "rtf": round(d_time / duration, 4), "peak_rss_mb": round(d_mem, 1),
                   "runs_s": [round(r[0], 2) for r in d_runs]},
        "ratio_time": round(w_time / d_time, 3), "ratio_peak_rss": round(w_mem / d_mem, 3),
    }
    if args.reference:
        ref = reference_words(args.reference)
        result["reference"] = str(args.reference)
        result["wer_wrapper"] = round(wer(ref, hyp_wrapper), 4)
        result["wer_direct"] = round(wer(ref, hyp_direct), 4)

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    ok = lambda v, target: "ok" if v <= target else "OVER TARGET"  # noqa: E731
    print(f"audio      {result['audio']} ({duration:.1f} s), model {resolved.name} on {device}/{compute_type}, "
          f"best of {args.repeat}, {os.cpu_count()} CPUs")
    print(f"{'':10} {'wall s':>8} {'RTF':>8} {'peak MB':>8}")
    for side in ("wrapper", "direct"):
        r = result[side]
        print(f"{side:10} {r['wall_s']:8.2f} {r['rtf']:8.3f} {r['peak_rss_mb']:8.0f}")
    print(f"ratio time   wrapper/direct {result['ratio_time']:.3f}  (target <= 1.05: {ok(result['ratio_time'], 1.05)})")
    print(f"ratio memory wrapper/direct {result['ratio_peak_rss']:.3f}  "
          f"(target <= 1.05: {ok(result['ratio_peak_rss'], 1.05)})")
    print(f"RTF wrapper  {result['wrapper']['rtf']:.3f}  (target <= 0.1: {ok(result['wrapper']['rtf'], 0.1)})")
    if args.reference:
        print(f"WER          wrapper {result['wer_wrapper']:.3f}, direct {result['wer_direct']:.3f}  "
              f"(reference {args.reference})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
