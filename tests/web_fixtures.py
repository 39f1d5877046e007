"""Databases for the review desk's tests: SQLite in a temp folder, and PostgreSQL when a local server can be
started here (Debian's postgresql: `pg_ctl` on PATH); the PostgreSQL cases skip, saying why, otherwise."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from web_browser import free_port


class LocalPostgres:
    """A throw-away PostgreSQL server on 127.0.0.1 (initdb in a temp folder), one fresh database per test."""

    def __init__(self):
        self.dir = None
        self.port = None
        self._n = itertools.count(1)

    @staticmethod
    def why_not() -> str | None:
        """Why no local PostgreSQL can be started (None when it can)."""
        if shutil.which("pg_ctl") is None:
            return "no PostgreSQL server here (pg_ctl not on PATH)"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install -e '.[test]')"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' user to run the server as"
        return None

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + list(cmd), check=True, capture_output=True, timeout=120)

    def start(self) -> "LocalPostgres":
        bindir = Path(os.path.realpath(shutil.which("pg_ctl"))).parent
        self.dir = Path(tempfile.mkdtemp(prefix="ie-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        data = self.dir / "data"
        self.port = free_port()
        self._run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8")
        self._run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return self

    def new_database(self) -> str:
        """A fresh, empty database's SQLAlchemy URL."""
        import psycopg

        name = f"desk_{next(self._n)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.dir is None:
            return
        bindir = Path(os.path.realpath(shutil.which("pg_ctl"))).parent
        try:
            self._run(str(bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
