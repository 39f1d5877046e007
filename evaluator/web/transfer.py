"""Moving scorecards in and out of the review desk: the JSON files stay the interchange format.

`import_files` reads drafts, review states and finals (with their revisions) as `evaluate` and `review` write
them; every scorecard goes through `evaluator.store.parse_scorecard` (integrity seal, quotes re-verified),
and its exact text is stored, so `export_dir` writes byte-identical files under the names `FileStore` uses:
`NAME.json`, `NAME.review.<reviewer-key>.json`, `NAME.final.json` / `NAME.final.<reviewer-key>.json`,
`....r2.json`. Importing the same files twice changes nothing; nothing is ever overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select

from evaluator.errors import ReviewError, UsageError
from evaluator.files import sha256_bytes
from evaluator.review import ReviewState
from evaluator.scorecard import FinalScorecard
from evaluator.store import parse_scorecard, reviewer_key, revision_path
from evaluator.web.db import Database, DraftRow, FinalRow, InterviewRow, ReviewStateRow, RevisionRow
from evaluator.web.store import DbStore, draft_ref, final_ref, normal_name


class TransferReport(BaseModel):
    """What an import or export did, file by file."""

    drafts: list[str] = Field(default_factory=list)
    review_states: list[str] = Field(default_factory=list)
    finals: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list, description="Already in the desk (or on disk), identical.")
    skipped: list[str] = Field(default_factory=list, description="Not scorecard files, with the reason.")


def _raw_text(p: Path) -> str:
    """A file's exact text (no newline or BOM normalisation: its sha256 must stay what reviews refer to)."""
    try:
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewError(f"{p}: not valid UTF-8 (byte {exc.start})", hint="give the JSON interview-eval wrote") from None


def _expand(items: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".json")
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder", hint="give scorecard JSON files or a folder of them")
    if not out:
        raise UsageError(f"no JSON files in {' '.join(map(str, items))}",
                         hint="give drafts, review states and final scorecards written by interview-eval")
    return out


def _kind(text: str) -> str | None:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def import_files(db: Database, items: list[str | Path], *, created_by: str = "") -> TransferReport:
    """Import drafts, then review states, then finals and their revisions (oldest first) from files or folders.

    Review states and finals are matched to their draft by the sha256 they record, so file names do not
    matter, except that a draft keeps its file stem as its name. Anything refused raises before it is stored."""
    store = DbStore(db)
    report = TransferReport()
    files = [(p, _raw_text(p)) for p in _expand(items)]
    by_kind: dict[str, list[tuple[Path, str]]] = {"draft": [], "review_state": [], "final": []}
    for p, text in files:
        kind = _kind(text)
        if kind in by_kind:
            by_kind[kind].append((p, text))
        else:
            report.skipped.append(f"{p}: not a draft, review state or final scorecard")
    for p, text in by_kind["draft"]:
        card = parse_scorecard(text.lstrip("\ufeff"), str(p))
        sha = sha256_bytes(text.encode("utf-8"))
        with db.write() as s:
            if s.execute(select(DraftRow.id).where(DraftRow.sha256 == sha)).scalar_one_or_none() is not None:
                report.unchanged.append(str(p))
                continue
            iv = InterviewRow(title=card.candidate or p.stem, candidate=card.candidate,
                              interviewers=", ".join(card.interviewers), guide=card.source.guide_id,
                              stage_id=card.source.stage_id, created_by=created_by)
            s.add(iv)
            s.flush()
            interview_id = iv.id
        store.add_draft(interview_id, p.name[: -len(".json")], text)
        report.drafts.append(str(p))
    for p, text in by_kind["review_state"]:
        _import_state(db, p, text, report)
    finals = []
    for p, text in by_kind["final"]:
        card = parse_scorecard(text.lstrip("\ufeff"), str(p))
        finals.append((card.revision, p, text, card))
    for _, p, text, card in sorted(finals, key=lambda f: f[0]):
        _import_final(db, store, p, text, card, report)
    return report


def _draft_by_sha(s, sha: str, p: Path, what: str) -> DraftRow:
    row = s.execute(select(DraftRow).where(DraftRow.sha256 == sha)).scalar_one_or_none()
    if row is None:
        raise ReviewError(f"{p}: {what} belongs to a draft that is not in the review desk "
                          f"(draft sha256 {sha[:12]}…)", hint="import the draft JSON together with it")
    return row


def _import_state(db: Database, p: Path, text: str, report: TransferReport) -> None:
    try:
        state = ReviewState.model_validate_json(text.lstrip("\ufeff"))
    except ValueError as exc:
        raise ReviewError(f"{p}: not a valid review-state file ({str(exc).splitlines()[0]})",
                          hint="give the .review.*.json file `interview-eval review` wrote") from None
    name = normal_name(state.reviewer)
    if not name:
        raise ReviewError(f"{p}: the review-state file names no reviewer", hint="finish that review with "
                          "`interview-eval review` (it records the name), then import it")
    with db.write() as s:
        draft = _draft_by_sha(s, state.draft_sha256, p, "this review")
        existing = s.execute(select(ReviewStateRow).where(ReviewStateRow.draft_id == draft.id,
                                                          ReviewStateRow.reviewer == name)).scalar_one_or_none()
        if existing is not None:
            if existing.body == text:
                report.unchanged.append(str(p))
                return
            raise ReviewError(f"{p}: the review desk already has a different review of {draft.name} by {name}",
                              hint="it is never overwritten; export the desk to compare the two")
        s.add(ReviewStateRow(draft_id=draft.id, reviewer=name, body=text, version=1, updated_at=state.started_at))
        draft.version += 1
    report.review_states.append(str(p))


def _import_final(db: Database, store: DbStore, p: Path, text: str, card: FinalScorecard,
                  report: TransferReport) -> None:
    sha = sha256_bytes(text.encode("utf-8"))
    with db.read() as s:
        if s.execute(select(RevisionRow.id).where(RevisionRow.sha256 == sha)).first() is not None:
            report.unchanged.append(str(p))
            return
    if card.revision == 1:
        with db.read() as s:
            draft = _draft_by_sha(s, card.draft_sha256, p, "this final scorecard")
            ref = draft_ref(draft.id)
        store.save_final(ref, card.reviewer, card, file_name=p.name, body=text)
    else:
        with db.read() as s:
            prev = s.execute(select(RevisionRow).where(RevisionRow.sha256 == card.previous_sha256)).scalars().first()
            if prev is None or prev.revision != card.revision - 1:
                raise ReviewError(f"{p}: revision {card.revision} replaces a revision that is not in the review "
                                  "desk", hint="import every revision of the final scorecard together")
            ref = final_ref(prev.final_id, prev.revision)
        with store.transaction(ref):
            store.save_revision(ref, card, body=text)
    report.finals.append(str(p))


def export_dir(db: Database, out_dir: str | Path) -> TransferReport:
    """Write every draft, review state, final and revision as the files `FileStore` would have, into `out_dir`.

    A file already there with the same bytes is left alone; one with other bytes is refused (never replaced)."""
    from evaluator.files import atomic_write

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    planned: list[tuple[Path, str, str]] = []  # (file, exact text, report field)
    with db.read() as s:
        for d in s.execute(select(DraftRow).order_by(DraftRow.id)).scalars():
            planned.append((out / f"{d.name}.json", d.body, "drafts"))
            for st in s.execute(select(ReviewStateRow).where(ReviewStateRow.draft_id == d.id)
                                .order_by(ReviewStateRow.id)).scalars():
                planned.append((out / f"{d.name}.review.{reviewer_key(st.reviewer)}.json", st.body,
                                "review_states"))
            for f in s.execute(select(FinalRow).where(FinalRow.draft_id == d.id).order_by(FinalRow.id)).scalars():
                for rev in f.revisions:
                    name = f.file_name if rev.revision == 1 else revision_path(f.file_name, rev.revision).name
                    planned.append((out / name, rev.body, "finals"))
    clashes = [p for p, body, _ in planned if p.exists() and p.read_bytes() != body.encode("utf-8")]
    if clashes:
        raise ReviewError(f"{clashes[0]}: exists with other content ({len(clashes)} file(s) would be replaced)",
                          hint="export into an empty folder; files are never overwritten")
    report = TransferReport()
    for p, body, what in planned:
        if p.exists():
            report.unchanged.append(str(p))
            continue
        atomic_write(p, body.encode("utf-8"))
        getattr(report, what).append(str(p))
    return report

