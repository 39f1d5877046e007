#!/usr/bin/env python3
"""Check with strace that `transcribe` and `evaluate` contact no host but the configured LLM endpoint.

Runs the real CLI under `strace -f -e trace=connect,sendto,sendmsg` (every thread, every child) and
lists each connect or send to an internet address outside loopback. `evaluate` talks to the local
OpenAI-compatible stub (tests/openai_stub.py) on 127.0.0.1. Each run is kept alive at least
--linger seconds, so a library that phones home after a delay (onnxruntime did, ~10 s after
import) is caught. Unlike tests/netguard.py this observes real system calls and blocks nothing.

    .venv/bin/python bench/check_network.py            # exit 0: clean; 1: contacts found
    apt-get install strace                             # when it says strace is missing

Exits 0 with a SKIPPED line when strace is not installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "audio" / "cam-screening.ogg"

# Keep the CLI process alive until `linger` seconds after its start, then run it as `python -m evaluator.cli`.
LINGER_MAIN = r"""
import atexit, runpy, sys, time
start, linger = time.monotonic(), float(sys.argv[1])
atexit.register(lambda: time.sleep(max(0.0, linger - (time.monotonic() - start))))
sys.argv = ["interview-eval", *sys.argv[2:]]
runpy.run_module("evaluator.cli", run_name="__main__")
"""

_CALL = re.compile(r"^(?:\d+\s+)?(\w+)\(")
_INET4 = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([\d.]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"')


def outside_contacts(trace: str) -> list[str]:
    """strace lines that connect or send to a non-loopback internet address."""
    found = []
    for line in trace.splitlines():
        for rx, loopback in ((_INET4, lambda a: a.startswith("127.")),
                             (_INET6, lambda a: a in ("::1",) or a.startswith("::ffff:127."))):
            m = rx.search(line)
            if m and not loopback(m.group(2)):
                call = _CALL.match(line)
                found.append(f"{call.group(1) if call else '?'} {m.group(2)}:{m.group(1)}")
    return found


def traced(cmd: list[str], env: dict, log: Path) -> tuple[int, str, list[str]]:
    """Run `cmd` under strace; (exit code, stderr tail, outside contacts)."""
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(log), *cmd],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stderr.strip()[-400:], outside_contacts(log.read_text(errors="replace"))


def main(argv: list[str] | None = None) -> int:
    """Run the checks and print one line per command."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=SAMPLE)
    ap.add_argument("--linger", type=float, default=12.0, help="seconds each run is kept alive (default 12)")
    ap.add_argument("--skip-evaluate", action="store_true", help="check transcribe only")
    args = ap.parse_args(argv)
    if shutil.which("strace") is None:
        print("SKIPPED: strace is not installed (apt-get install strace), so nothing was checked")
        return 0
    sys.path.insert(0, str(ROOT / "tests"))
    from openai_stub import OpenAIStub

    failures = 0
    with tempfile.TemporaryDirectory() as td, OpenAIStub() as stub:
        stub.handler = lambda req: {"score": 0, "rationale": "stub", "quotes": [], "based_on": []}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
        base.update(INTERVIEW_EVAL_CACHE_DIR=str(Path(td) / "cache"), HOME=str(Path(td) / "home"))
        base.pop("XDG_CACHE_HOME", None)
        runs = [("transcribe", ["transcribe", str(args.audio), "--no-cache", "-o", str(Path(td) / "t.json")], {})]
        if not args.skip_evaluate:
            runs.append(("evaluate", ["evaluate", str(args.audio), "-g", "customer-account-manager",
                                      "--stage", "screening", "--no-cache", "-o", str(Path(td) / "draft.json")],
                         {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-check"}))
        for i, (name, cli_args, extra) in enumerate(runs):
            env = {**base, **extra, "INTERVIEW_EVAL_CACHE_DIR": str(Path(td) / f"cache{i}")}  # each one transcribes
            code, err, contacts = traced([sys.executable, "-c", LINGER_MAIN, str(args.linger), *cli_args],
                                         env, Path(td) / f"{name}.strace")
            if code not in (0, 1):  # evaluate exits 1 when a criterion failed: not what this checks
                print(f"FAIL {name}: exit {code}: {err}")
                failures += 1
            elif contacts:
                print(f"FAIL {name}: {len(contacts)} contact(s) outside loopback: " + "; ".join(contacts[:5]))
                failures += 1
            else:
                extra_note = f", {stub.request_count} request(s) to the LLM stub on 127.0.0.1" if extra else ""
                print(f"ok   {name}: no contact outside loopback{extra_note} (strace, {args.linger:.0f} s linger)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
