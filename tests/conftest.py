"""Shared test fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"
SAMPLES = REPO / "samples"
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class CliResult:
    """What one run of the real `interview-eval` entry point did."""

    exit_code: int
    stdout: str
    stderr: str


def _run(args: list[str], *, cwd: Path | None = None, env: dict | None = None, input: str | None = None) -> CliResult:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_"))}
    full_env.setdefault("INTERVIEW_EVAL_CACHE_DIR", str(Path(os.environ.get("PYTEST_TMP_CACHE", "/tmp")) / "ie-test-cache"))
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "evaluator.cli", *map(str, args)],
        cwd=cwd or REPO, env=full_env, input=input, capture_output=True, text=True, timeout=600,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def run_cli():
    """Run the real CLI entry point in a subprocess: run_cli(['guides', 'list'], env={...})."""
    return _run


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The two source guides (shared/seeds beside the repo)."""
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds is not beside the repo")
    return SEEDS


@pytest.fixture
def llm_server():
    """A scriptable OpenAI-compatible server on 127.0.0.1 (tests/openai_stub.py), stopped after the test."""
    from openai_stub import OpenAIStub  # tests/ is on sys.path (rootdir conftest, no __init__.py)

    with OpenAIStub() as server:
        yield server


# ---------------------------------------------------------------- the review desk (evaluator.web)


@pytest.fixture(scope="session")
def local_postgres():
    """A PostgreSQL server started for this test session (skipped, saying why, when none can be started)."""
    pytest.importorskip("sqlalchemy")
    from web_fixtures import LocalPostgres

    why = LocalPostgres.why_not()
    if why:
        pytest.skip(why)
    server = LocalPostgres()
    try:
        server.start()
    except Exception as exc:  # e.g. initdb refused here
        server.stop()
        pytest.skip(f"could not start a local PostgreSQL server: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_db_url(request, tmp_path):
    """A fresh review-desk database URL: SQLite in tmp_path, and the same test on a local PostgreSQL."""
    pytest.importorskip("sqlalchemy")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.db'}"
    return request.getfixturevalue("local_postgres").new_database()
