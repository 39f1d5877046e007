"""Run the real CLI of a checkout of the project (this one or a baseline), timed: one helper for the benches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def run_cli(code: Path, args: list[str], **env_extra: str) -> float:
    """Seconds `python -m evaluator.cli ARGS` took in checkout `code`, with that checkout's own `.venv` when it has
    one (its own dependencies, as a user of that version has them), else this Python; PYTHONPATH selects the code.
    The environment is this one without OPENAI_* / INTERVIEW_EVAL_* settings, plus `env_extra`. A failed run
    stops the bench with its error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides keep their compiled modules, as installed code does
    env.update(PYTHONPATH=str(code), **env_extra)
    python = code / ".venv" / "bin" / "python"
    t0 = time.perf_counter()
    proc = subprocess.run([str(python) if python.exists() else sys.executable, "-m", "evaluator.cli", *args],
                          cwd=code, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{code}: {' '.join(args)} failed: {proc.stderr.strip()[-400:]}")
    return took
