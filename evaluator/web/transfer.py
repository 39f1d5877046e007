"""Moving scorecards in and out of the review desk: the JSON files stay the interchange format.

`import_files` reads drafts, review states and finals (with their revisions) as `evaluate` and `review` write
them; every scorecard goes through `evaluator.store.parse_scorecard` (integrity seal, quotes re-verified),
and its exact text is stored, so `export_dir` writes byte-identical files under the names `FileStore` uses:
`NAME.json`, `NAME.review.<reviewer-key>.json`, `NAME.final.json` / `NAME.final.<reviewer-key>.json`,
`....r2.json`. Importing the same files twice changes nothing; nothing is ever overwritten.

The team's interview guides go along as their exact YAML text, `guides/<id>-v<version>.yaml`, each with a
small `guides/<id>-v<version>.added.json` saying who added it and when (the YAML itself stays byte-identical).
Guides are imported first, so the drafts made with them can be shown at once.
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
from evaluator.web.db import Database, DraftRow, FinalRow, GuideRow, InterviewRow, ReviewStateRow, RevisionRow
from evaluator.web.store import DbStore, draft_ref, final_ref, normal_name


class TransferReport(BaseModel):
    """What an import or export did, file by file."""

    guides: list[str] = Field(default_factory=list, description="The team's guides (YAML files).")
    drafts: list[str] = Field(default_factory=list)
    review_states: list[str] = Field(default_factory=list)
    finals: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list, description="Already in the desk (or on disk), identical.")
    skipped: list[str] = Field(default_factory=list, description="Not scorecard or guide files, with the reason.")


def _raw_text(p: Path) -> str:
    """A file's exact text (no newline or BOM normalisation: its sha256 must stay what reviews refer to)."""
    try:
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewError(f"{p}: not valid UTF-8 (byte {exc.start})", hint="give the JSON interview-eval wrote") from None


GUIDE_SUFFIXES = (".yaml", ".yml")
GUIDES_DIR = "guides"
GUIDE_RECORD = "guide_record"


def _expand(items: list[str | Path]) -> list[Path]:
    """The files to import: those named, and in a folder its JSON and YAML files and those of its guides/."""
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            for folder in (p, p / GUIDES_DIR):
                if folder.is_dir():
                    out += sorted(f for f in folder.iterdir()
                                  if f.is_file() and f.suffix.lower() in (".json", *GUIDE_SUFFIXES))
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder", hint="give scorecard JSON files or a folder of them")
    if not out:
        raise UsageError(f"no JSON or guide YAML files in {' '.join(map(str, items))}",
                         hint="give drafts, review states and final scorecards written by interview-eval")
    return out


def _guide_of(p: Path, text: str):
    """The guide a YAML file holds, or None when it is some other YAML (skipped); a broken guide is refused."""
    import yaml

    from evaluator.files import yaml_loader
    from evaluator.guide import parse_guide_yaml

    try:
        data = yaml.load(text.lstrip("\ufeff"), Loader=yaml_loader())
    except yaml.YAMLError:
        data = {"stages": None}  # let the guide parser say where the syntax is broken
    if not isinstance(data, dict) or ("stages" not in data and "role" not in data):
        return None
    return parse_guide_yaml(text.lstrip("\ufeff"), source=str(p))


def guide_file_stem(guide_id: str, version: str) -> str:
    """`<id>-v<version>`: the name of a guide's files in an export."""
    return f"{guide_id}-v{version}"


def _guide_record(row: GuideRow) -> str:
    return json.dumps({"kind": GUIDE_RECORD, "guide_id": row.guide_id, "version": row.version, "sha256": row.sha256,
                       "added_by": row.created_by, "added_at": row.created_at}, indent=2, ensure_ascii=False) + "\n"


def _import_guides(db: Database, files: list[tuple[Path, str]], records: list[dict], created_by: str,
                   report: TransferReport) -> None:
    """Every guide is validated before the first is stored."""
    from evaluator.web.guides import Guides

    by_sha = {r.get("sha256"): r for r in records}
    parsed = []
    for p, text in files:
        guide = _guide_of(p, text)
        if guide is None:
            report.skipped.append(f"{p}: a YAML file that is not an interview guide")
        else:
            parsed.append((p, text, guide))
    library = Guides(db)
    for p, text, guide in parsed:
        rec = by_sha.get(sha256_bytes(text.encode("utf-8")), {})
        added = library.add(guide, text, source=str(p), added_by=str(rec.get("added_by", created_by)),
                            added_at=rec.get("added_at") or None)
        (report.guides if added.stored else report.unchanged).append(str(p))


def _kind(text: str) -> str | None:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def import_files(db: Database, items: list[str | Path], *, created_by: str = "") -> TransferReport:
    """Import the team's guides, then drafts, then review states, then finals and their revisions (oldest first)
    from files or folders (a folder's guides/ too).

    Review states and finals are matched to their draft by the sha256 they record, so file names do not
    matter, except that a draft keeps its file stem as its name. Anything refused raises before it is stored."""
    store = DbStore(db)
    report = TransferReport()
    files = [(p, _raw_text(p)) for p in _expand(items)]
    by_kind: dict[str, list[tuple[Path, str]]] = {"draft": [], "review_state": [], "final": [], GUIDE_RECORD: []}
    guides = []
    for p, text in files:
        if p.suffix.lower() in GUIDE_SUFFIXES:
            guides.append((p, text))
            continue
        kind = _kind(text)
        if kind in by_kind:
            by_kind[kind].append((p, text))
        else:
            report.skipped.append(f"{p}: not a draft, review state, final scorecard or guide")
    records = [json.loads(text.lstrip("\ufeff")) for _, text in by_kind[GUIDE_RECORD]]
    _import_guides(db, guides, records, created_by, report)
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
    """Write every draft, review state, final and revision as the files `FileStore` would have, into `out_dir`,
    and the team's guides into its guides/.

    A file already there with the same bytes is left alone; one with other bytes is refused (never replaced)."""
    from evaluator.files import atomic_write

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    planned: list[tuple[Path, str, str | None]] = []  # (file, exact text, report field)
    with db.read() as s:
        for g in s.execute(select(GuideRow).order_by(GuideRow.id)).scalars():
            stem = out / GUIDES_DIR / guide_file_stem(g.guide_id, g.version)
            planned.append((stem.with_name(stem.name + ".yaml"), g.body, "guides"))
            planned.append((stem.with_name(stem.name + ".added.json"), _guide_record(g), None))
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
            if what:
                report.unchanged.append(str(p))
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, body.encode("utf-8"))
        if what:
            getattr(report, what).append(str(p))
    return report

