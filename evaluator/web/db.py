"""The review desk's database: tables, engine, migrations.

SQLite in the workspace by default (embedded, nothing to set up), or any SQLAlchemy URL (PostgreSQL for a
team). Scorecards are kept as the exact JSON text of their files, so every `draft_sha256` in a review or a
final matches the file it was exported to, and import/export is lossless. The team's interview guides are
kept the same way, as the exact YAML text they were added with (see `evaluator.web.guides`).

Write transactions are serialised per draft: on SQLite every write transaction starts with
`BEGIN IMMEDIATE` (the database's one write lock, taken before anything is read, held to commit); on
PostgreSQL the draft's row is locked with `SELECT ... FOR UPDATE`. Rows that are changed in place carry a
version number checked on update (see `evaluator.web.store`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from sqlalchemy import (Float, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine, event,
                        text)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from evaluator.errors import EvalError, UsageError
from evaluator.scorecard import utc_now

DB_FILE = "interview-eval.db"
LOCK_TIMEOUT_S = 30.0


class Base(DeclarativeBase):
    """Declarative base of the review desk's tables."""


class InterviewRow(Base):
    """One interview: who, which guide and stage; its recordings, drafts and jobs hang off it."""

    __tablename__ = "interviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    candidate: Mapped[str] = mapped_column(String(300), default="")
    interviewers: Mapped[str] = mapped_column(String(500), default="")
    guide: Mapped[str] = mapped_column(String(500), default="")
    stage_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(300), default="")

    recordings: Mapped[list["RecordingRow"]] = relationship(back_populates="interview", order_by="RecordingRow.id")
    drafts: Mapped[list["DraftRow"]] = relationship(back_populates="interview", order_by="DraftRow.id")
    jobs: Mapped[list["JobRow"]] = relationship(back_populates="interview", order_by="JobRow.id")


class RecordingRow(Base):
    """An uploaded file of an interview (a recording, or a transcript), kept in the workspace."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # audio | transcript
    path: Mapped[str] = mapped_column(String(1000))  # relative to the workspace
    original_name: Mapped[str] = mapped_column(String(300), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)

    interview: Mapped[InterviewRow] = relationship(back_populates="recordings")


class DraftRow(Base):
    """A draft scorecard as the exact JSON text `evaluate` writes. Never changed; `version` counts the changes
    to its reviews and finals (a page polls it to see another browser's decisions)."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)  # file stem on export: NAME.json
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)

    interview: Mapped[InterviewRow] = relationship(back_populates="drafts")


class ReviewStateRow(Base):
    """One reviewer's review in progress of one draft (the JSON of `ReviewState`), with an optimistic version."""

    __tablename__ = "review_states"
    __table_args__ = (UniqueConstraint("draft_id", "reviewer", name="uq_review_state_reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[str] = mapped_column(String(40), default=utc_now)


class FinalRow(Base):
    """A reviewer's final scorecard of a draft (one per reviewer); its text is in its revisions."""

    __tablename__ = "finals"
    __table_args__ = (UniqueConstraint("draft_id", "reviewer", name="uq_final_reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(400))  # NAME.final.json or NAME.final.<reviewer-key>.json
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)

    revisions: Mapped[list["RevisionRow"]] = relationship(order_by="RevisionRow.revision")


class RevisionRow(Base):
    """One revision of a final scorecard (revision 1 is the final itself), as exact JSON text; never changed."""

    __tablename__ = "final_revisions"
    __table_args__ = (UniqueConstraint("final_id", "revision", name="uq_final_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    final_id: Mapped[int] = mapped_column(ForeignKey("finals.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)


class GuideRow(Base):
    """A team's interview guide as the exact YAML text it was added with. Never changed or replaced: a changed
    guide is a new version, so every draft can always be shown with the guide version it was made with."""

    __tablename__ = "guides"
    __table_args__ = (UniqueConstraint("guide_id", "version", name="uq_guide_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guide_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # of the text (what an export writes)
    content_sha256: Mapped[str] = mapped_column(String(64))  # `Guide.content_sha256()`, what drafts record
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)


class JobRow(Base):
    """A background job (transcribe and evaluate an interview) and its progress, polled by the page."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="evaluate")
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued running done failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[str] = mapped_column(Text, default="{}")
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[str] = mapped_column(String(40), default=utc_now)
    started_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    finished_at: Mapped[str | None] = mapped_column(String(40), nullable=True)

    interview: Mapped[InterviewRow] = relationship(back_populates="jobs")


# ---------------------------------------------------------------- engine


def default_url(workspace: str | Path) -> str:
    """The SQLite database inside the workspace."""
    return f"sqlite:///{Path(workspace).expanduser().resolve() / DB_FILE}"


def _sqlite_setup(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions, so a write transaction can be
    `BEGIN IMMEDIATE` (the recipe in SQLAlchemy's SQLite dialect documentation)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_S * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


class Database:
    """An engine with the schema migrated to the newest version, and read and write sessions on it."""

    def __init__(self, url: str, *, migrate: bool = True):
        try:
            self.engine = create_engine(url, pool_pre_ping=True,
                                        **({"connect_args": {"check_same_thread": False}}
                                           if url.startswith("sqlite") else {}))
        except Exception as exc:  # a bad URL or a missing driver
            raise UsageError(f"--db {_safe_url(url)}: cannot open the database ({type(exc).__name__}: {exc})",
                             hint="give an SQLAlchemy URL such as sqlite:////path/review.db or "
                                  "postgresql+psycopg://user@host/db (with `pip install 'psycopg[binary]'`)") from None
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)
        if migrate:
            upgrade(self.engine)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (committed data, no locks held)."""
        with self._sessions() as s:
            yield s

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction, committed on success and rolled back on error."""
        from sqlalchemy.exc import OperationalError

        try:
            with self._write_sessions() as s, s.begin():
                if self.dialect == "postgresql":
                    s.execute(text(f"SET LOCAL lock_timeout = '{int(LOCK_TIMEOUT_S * 1000)}ms'"))
                yield s
        except OperationalError as exc:
            if "locked" in str(exc).lower() or "lock timeout" in str(exc).lower():
                raise EvalError(f"the database has been busy for {LOCK_TIMEOUT_S:g} s (another write holds it)",
                                hint="try again in a moment") from None
            raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable URL)"


# ---------------------------------------------------------------- migrations


def alembic_config(engine: Engine):
    """An Alembic configuration whose scripts are the ones shipped in this package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create the tables, or bring an older database up to `revision` (Alembic)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
