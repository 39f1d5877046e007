"""`DbStore`: the `ReviewStore` of the review desk, keeping drafts, review states and finals in a database.

The pipeline's use cases (`evaluator.pipeline.decide`, `finalize`, `revise_final`, `review_status`) run
against it unchanged; this module holds no review rule of its own.

Refs name what they point at: `draft:12` (a draft), `final:3` (a final scorecard, revision 1) and
`final:3:r2` (its second revision).

Concurrency: `transaction(ref)` is one serialised database write transaction (SQLite `BEGIN IMMEDIATE`,
PostgreSQL `SELECT ... FOR UPDATE` on the draft's row) held while the pipeline reads, changes and writes, so
two browsers, or two server processes, deciding on one draft never lose a decision. On top of that every
review-state row has a version: `save_state` updates it only if it still has the version `load_state` read
(`UPDATE ... WHERE version = :read`), and creating one relies on a unique (draft, reviewer) key, so a lost
update is impossible even where the lock is not held (another program writing the database).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evaluator.errors import ReviewError, UsageError
from evaluator.files import sha256_bytes
from evaluator.review import ReviewState, Scorecard
from evaluator.scorecard import FinalScorecard, utc_now
from evaluator.store import parse_scorecard, reviewer_key
from evaluator.web.db import Database, DraftRow, FinalRow, ReviewStateRow, RevisionRow

_REF = re.compile(r"^(?:(?P<draft>draft):(?P<did>\d+)|(?P<final>final):(?P<fid>\d+)(?::r(?P<rev>\d+))?)$")


def draft_ref(draft_id: int) -> str:
    """The ref of a draft."""
    return f"draft:{draft_id}"


def final_ref(final_id: int, revision: int = 1) -> str:
    """The ref of one revision of a final scorecard (revision 1 is the final itself)."""
    return f"final:{final_id}" if revision <= 1 else f"final:{final_id}:r{revision}"


@dataclass(frozen=True)
class Ref:
    """A parsed ref: a draft, or a final scorecard's revision."""

    kind: str
    id: int
    revision: int = 1


def parse_ref(ref: str) -> Ref:
    """`draft:12`, `final:3`, `final:3:r2` -> Ref; a usage error for anything else."""
    m = _REF.match(str(ref).strip())
    if not m:
        raise UsageError(f"{ref!r} is not a scorecard of the review desk",
                         hint="refs look like draft:12, final:3 or final:3:r2")
    if m.group("draft"):
        return Ref("draft", int(m.group("did")))
    return Ref("final", int(m.group("fid")), int(m.group("rev") or 1))


def normal_name(reviewer: str) -> str:
    """A reviewer's name as review states and finals record it (spaces collapsed)."""
    return " ".join((reviewer or "").split())


class ParsedByText:
    """What a pure, costly parse made of a stored text, by the text's sha256 (a stored text never changes, so
    each is parsed once); the newest `size` are kept. Thread-safe: the review desk serves pages on threads."""

    def __init__(self, parse: Callable[[str, str], Any], size: int):
        self._parse, self._size = parse, size
        self._done: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, body: str, label: str) -> tuple[Any, str]:
        """The parsed value of `body` (`label` names it in errors) and the text's sha256."""
        sha = sha256_bytes(body.encode("utf-8"))
        with self._lock:
            if sha in self._done:
                self._done.move_to_end(sha)
                return self._done[sha], sha
        value = self._parse(body.lstrip("\ufeff"), label)
        with self._lock:
            self._done[sha] = value
            while len(self._done) > self._size:
                self._done.popitem(last=False)
        return value, sha


# Validation of a scorecard (seal, quotes found again in the transcript) is a pure function of its text.
_cards = ParsedByText(lambda body, label: parse_scorecard(body, label), 32)


def card_from_text(body: str, label: str) -> tuple[Scorecard, str]:
    """The validated scorecard of a stored JSON text and that text's sha256 (see `parse_scorecard`)."""
    return _cards(body, label)


@dataclass
class _Tx:
    session: Session
    draft_id: int
    read_versions: dict[str, int | None] = field(default_factory=dict)


class DbStore:
    """Drafts, review states, finals and revisions in the review desk's database (see the module docstring)."""

    def __init__(self, db: Database):
        self.db = db
        self._local = threading.local()

    # ------------------------------------------------------------ sessions and locks

    def _tx(self) -> _Tx | None:
        return getattr(self._local, "tx", None)

    @contextlib.contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        """The open transaction's session, or a new one for this call alone."""
        tx = self._tx()
        if tx is not None:
            yield tx.session
        elif write:
            with self.db.write() as s:
                yield s
        else:
            with self.db.read() as s:
                yield s

    def _draft_id(self, s: Session, ref: str) -> int:
        r = parse_ref(ref)
        if r.kind == "draft":
            if s.get(DraftRow, r.id) is None:
                raise ReviewError(f"{ref}: no such draft", hint="open it from the interviews list")
            return r.id
        final = s.get(FinalRow, r.id)
        if final is None:
            raise ReviewError(f"{ref}: no such final scorecard", hint="open it from the interviews list")
        return final.draft_id

    @contextlib.contextmanager
    def transaction(self, ref: str) -> Iterator[None]:
        """Hold the write lock of `ref`'s draft (and everything derived from it) until the block ends; the
        block's writes commit together at its end, or not at all."""
        if self._tx() is not None:  # nested use by one use case: the outer transaction already holds the lock
            yield
            return
        with self.db.write() as s:
            draft_id = self._draft_id(s, ref)
            if self.db.dialect == "postgresql":
                s.execute(select(DraftRow.id).where(DraftRow.id == draft_id).with_for_update())
            self._local.tx = _Tx(session=s, draft_id=draft_id)
            try:
                yield
            finally:
                self._local.tx = None

    def _bump(self, s: Session, draft_id: int) -> None:
        """Count a change to the draft's reviews (pages poll it)."""
        s.execute(update(DraftRow).where(DraftRow.id == draft_id).values(version=DraftRow.version + 1))

    # ------------------------------------------------------------ scorecards

    def load_card(self, ref: str) -> tuple[Scorecard, str]:
        """The validated scorecard of a ref and the sha256 of its exact text."""
        r = parse_ref(ref)
        with self._session() as s:
            if r.kind == "draft":
                row = s.get(DraftRow, r.id)
                if row is None:
                    raise ReviewError(f"{ref}: no such draft", hint="open it from the interviews list")
                return card_from_text(row.body, f"{ref} ({row.name}.json)")
            rev = s.execute(select(RevisionRow).where(RevisionRow.final_id == r.id,
                                                      RevisionRow.revision == r.revision)).scalar_one_or_none()
            if rev is None:
                raise ReviewError(f"{ref}: no such final scorecard (revision {r.revision})",
                                  hint="open it from the interviews list")
            return card_from_text(rev.body, ref)

    # ------------------------------------------------------------ review states

    def _state_row(self, s: Session, draft_id: int, reviewer: str) -> ReviewStateRow | None:
        return s.execute(select(ReviewStateRow).where(ReviewStateRow.draft_id == draft_id,
                                                      ReviewStateRow.reviewer == normal_name(reviewer))
                         ).scalar_one_or_none()

    def load_state(self, ref: str, reviewer: str, card_sha256: str) -> ReviewState:
        """The reviewer's review in progress (a fresh one if none); refused if made on another version."""
        name = normal_name(reviewer)
        with self._session() as s:
            draft_id = self._draft_id(s, ref)
            row = self._state_row(s, draft_id, name)
            tx = self._tx()
            if tx is not None:
                tx.read_versions[name] = row.version if row else None
            if row is None:
                return ReviewState(draft_sha256=card_sha256, reviewer=name)
            try:
                state = ReviewState.model_validate_json(row.body)
            except ValueError as exc:
                raise ReviewError(f"{ref}: {name}'s review is damaged in the database ({exc})",
                                  hint="export the desk and report it") from None
        if state.reviewer and state.reviewer != name:
            raise ReviewError(f"{ref}: the review stored for {name!r} belongs to {state.reviewer!r}",
                              hint="this should not happen; export the desk and report it")
        if state.draft_sha256 != card_sha256:
            raise ReviewError(f"{ref}: {name}'s review was started on a different version of this draft "
                              "(sha256 differs)", hint="finish it on the original draft")
        return state

    def save_state(self, ref: str, reviewer: str, state: ReviewState) -> str:
        """Save the review in progress, only over the version this transaction read (else refused)."""
        name = normal_name(reviewer)
        body = state.model_dump_json(indent=2) + "\n"
        with self._session(write=True) as s:
            draft_id = self._draft_id(s, ref)
            tx = self._tx()
            if tx is not None and name in tx.read_versions:
                read = tx.read_versions[name]
            else:  # saved without reading first: only the lock protects it
                row = self._state_row(s, draft_id, name)
                read = row.version if row else None
            if read is None:
                try:
                    with s.begin_nested():
                        s.add(ReviewStateRow(draft_id=draft_id, reviewer=name, body=body, version=1,
                                             updated_at=utc_now()))
                except IntegrityError:
                    raise self._conflict(ref, name) from None
                new_version = 1
            else:
                done = s.execute(update(ReviewStateRow)
                                 .where(ReviewStateRow.draft_id == draft_id, ReviewStateRow.reviewer == name,
                                        ReviewStateRow.version == read)
                                 .values(body=body, version=read + 1, updated_at=utc_now()))
                if done.rowcount != 1:
                    raise self._conflict(ref, name)
                new_version = read + 1
            if tx is not None:
                tx.read_versions[name] = new_version
            self._bump(s, draft_id)
        return f"{ref} (review of {name})"

    @staticmethod
    def _conflict(ref: str, name: str) -> ReviewError:
        return ReviewError(f"{ref}: {name}'s review was changed by someone else while this decision was made; "
                           "nothing was saved", hint="reload the page and make the decision again")

    # ------------------------------------------------------------ finals and revisions

    def _final_of(self, s: Session, draft_id: int, reviewer: str) -> FinalRow | None:
        return s.execute(select(FinalRow).where(FinalRow.draft_id == draft_id,
                                                FinalRow.reviewer == normal_name(reviewer))).scalar_one_or_none()

    def find_final(self, ref: str, reviewer: str) -> str | None:
        """The ref of this reviewer's final scorecard of the draft, if there is one."""
        with self._session() as s:
            row = self._final_of(s, self._draft_id(s, ref), reviewer)
            return final_ref(row.id) if row else None

    def save_final(self, ref: str, reviewer: str, final: FinalScorecard, *, file_name: str | None = None,
                   body: str | None = None) -> str:
        """Create the reviewer's final scorecard (never overwrites); returns its ref. `file_name` and `body`
        are given by an import (the file's own name and exact text)."""
        name = normal_name(reviewer)
        body = body if body is not None else final.model_dump_json(indent=2) + "\n"
        with self._session(write=True) as s:
            draft_id = self._draft_id(s, ref)
            draft = s.get(DraftRow, draft_id)
            if file_name is None:
                first = s.execute(select(func.count()).select_from(FinalRow)
                                  .where(FinalRow.draft_id == draft_id)).scalar_one() == 0
                file_name = f"{draft.name}.final.json" if first else f"{draft.name}.final.{reviewer_key(name)}.json"
            try:
                with s.begin_nested():
                    row = FinalRow(draft_id=draft_id, reviewer=name, file_name=file_name, created_at=utc_now())
                    s.add(row)
                    s.flush()
                    s.add(RevisionRow(final_id=row.id, revision=1, reviewer=name, body=body,
                                      sha256=sha256_bytes(body.encode("utf-8")), created_at=utc_now()))
                    s.flush()
            except IntegrityError:
                raise ReviewError(f"{ref}: {name} already has a final scorecard of this draft; it is never "
                                  "overwritten", hint="make a revision of it instead") from None
            self._bump(s, draft_id)
            return final_ref(row.id)

    def latest_revision(self, ref: str) -> str:
        """The ref of the newest revision of the final scorecard `ref`."""
        r = parse_ref(ref)
        if r.kind != "final":
            raise UsageError(f"{ref} is a draft, not a final scorecard")
        with self._session() as s:
            n = s.execute(select(func.max(RevisionRow.revision)).where(RevisionRow.final_id == r.id)).scalar_one()
        if n is None:
            raise ReviewError(f"{ref}: no such final scorecard", hint="open it from the interviews list")
        return final_ref(r.id, n)

    def save_revision(self, ref: str, final: FinalScorecard, *, body: str | None = None) -> str:
        """Create the next revision of a final scorecard (never overwrites); returns its ref."""
        r = parse_ref(ref)
        body = body if body is not None else final.model_dump_json(indent=2) + "\n"
        with self._session(write=True) as s:
            draft_id = self._draft_id(s, ref)
            try:
                with s.begin_nested():
                    s.add(RevisionRow(final_id=r.id, revision=final.revision, reviewer=final.reviewer, body=body,
                                      sha256=sha256_bytes(body.encode("utf-8")), created_at=utc_now()))
                    s.flush()
            except IntegrityError:
                raise ReviewError(f"{final_ref(r.id, final.revision)}: already exists; a scorecard is never "
                                  "overwritten", hint="revise the latest revision") from None
            self._bump(s, draft_id)
        return final_ref(r.id, final.revision)

    def reviews_of(self, ref: str) -> list[str]:
        """Review states and finals that exist for a draft (a draft with any is under review)."""
        with self._session() as s:
            draft_id = self._draft_id(s, ref)
            states = s.execute(select(ReviewStateRow.reviewer).where(ReviewStateRow.draft_id == draft_id)
                               .order_by(ReviewStateRow.id)).scalars().all()
            finals = s.execute(select(FinalRow.id).where(FinalRow.draft_id == draft_id)
                               .order_by(FinalRow.id)).scalars().all()
        return [f"{draft_ref(draft_id)} (review of {n})" for n in states] + [final_ref(f) for f in finals]

    # ------------------------------------------------------------ drafts

    def add_draft(self, interview_id: int, name: str, body: str) -> str:
        """Store a new draft's exact JSON text (validated first); returns its ref. The same text twice is one
        draft; a name already taken gets a numbered suffix."""
        card, sha = card_from_text(body, f"{name}.json")
        if card.kind != "draft":
            raise ReviewError(f"{name}.json: is a final scorecard, not a draft")
        with self._session(write=True) as s:
            same = s.execute(select(DraftRow.id).where(DraftRow.sha256 == sha)).scalar_one_or_none()
            if same is not None:
                return draft_ref(same)
            taken = set(s.execute(select(DraftRow.name).where(DraftRow.name.like(f"{name}%"))).scalars())
            unique, n = name, 1
            while unique in taken:
                n += 1
                unique = f"{name}-{n}"
            row = DraftRow(interview_id=interview_id, name=unique, body=body, sha256=sha, version=1,
                           created_at=utc_now())
            s.add(row)
            s.flush()
            return draft_ref(row.id)
