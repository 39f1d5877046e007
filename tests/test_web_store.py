"""The review desk's database store: the pipeline's review use cases against it, lossless import/export of the
JSON files, and concurrency (threads and processes deciding on one draft lose nothing). Every test runs on
SQLite and, when a local server can be started, on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from evaluator import pipeline  # noqa: E402
from evaluator import review as rv  # noqa: E402
from evaluator.errors import ReviewError  # noqa: E402
from evaluator.files import sha256_bytes, sha256_file  # noqa: E402
from evaluator.store import FileStore, load_scorecard  # noqa: E402
from evaluator.web.db import Database, InterviewRow, ReviewStateRow  # noqa: E402
from evaluator.web.store import DbStore, parse_ref  # noqa: E402
from evaluator.web.transfer import export_dir, import_files  # noqa: E402
from scorecard_fixtures import make_draft, write_draft  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def draft():
    return make_draft(status={"overall-recommendation": "needs_reviewer", "industry-knowledge": "no_evidence"})


@pytest.fixture
def db(desk_db_url):
    database = Database(desk_db_url)
    yield database
    database.dispose()


def _add(db: Database, draft, name: str = "draft") -> tuple[DbStore, str]:
    store = DbStore(db)
    with db.write() as s:
        iv = InterviewRow(title=name)
        s.add(iv)
        s.flush()
        interview_id = iv.id
    return store, store.add_draft(interview_id, name, draft.model_dump_json(indent=2) + "\n")


def _all_confirmed_but_overall(card) -> list[rv.Change]:
    return [rv.Change(action="confirm", ref=p.criterion_id) for p in card.scores if p.kind != "overall"]


def test_review_use_cases_run_against_the_database_store(db, draft):
    store, ref = _add(db, draft)
    progress = pipeline.decide(store, ref, "Dana", [rv.Change(action="confirm", ref="relevant-experience")])
    assert progress.decided == ["relevant-experience"] and "overall-recommendation" in progress.remaining
    with pytest.raises(ReviewError, match="criteria still need a decision"):
        pipeline.finalize(store, ref, "Dana")
    pipeline.decide(store, ref, "Dana", _all_confirmed_but_overall(draft)[1:] + [
        rv.Change(action="override", ref="overall-recommendation", score="3", text="strong retention numbers")])
    final, where = pipeline.finalize(store, ref, "Dana")
    card, sha = store.load_card(ref)
    assert final.draft_sha256 == sha == sha256_bytes((draft.model_dump_json(indent=2) + "\n").encode())
    assert store.load_card(where)[0].criteria[-1].decision.reason == "strong retention numbers"
    with pytest.raises(ReviewError, match="never overwritten"):
        pipeline.finalize(store, ref, "Dana")
    with pytest.raises(ReviewError, match="already finalised"):
        pipeline.decide(store, ref, "Dana", [rv.Change(action="confirm", ref="relevant-experience")])
    new, rev_ref, notes = pipeline.revise_final(store, where, "Dana", [
        rv.Change(action="override", ref="upselling-skills", score="2", text="thin on expansion")])
    assert (new.revision, rev_ref, notes) == (2, f"{where}:r2", [])
    assert new.previous_sha256 == store.load_card(where)[1]
    # a revision asked of the older one is made on the latest, and says so
    newer, ref3, notes = pipeline.revise_final(store, where, "Eve", [
        rv.Change(action="override", ref="upselling-skills", score="1", text="no expansion story")])
    assert newer.revision == 3 and ref3.endswith(":r3") and "newer revision" in notes[0]
    assert store.reviews_of(ref) == [f"{ref} (review of Dana)", where]


def test_a_draft_under_review_by_one_person_is_separate_for_another(db, draft):
    store, ref = _add(db, draft)
    pipeline.decide(store, ref, "Dana", [rv.Change(action="confirm", ref="relevant-experience")])
    _, state, progress = pipeline.review_status(store, ref, "Eve")
    assert state.criteria == {} and "relevant-experience" in progress.remaining


def test_a_lost_update_is_refused_by_the_version_check(db, draft):
    """Even when something writes the review row between our read and our write (the lock bypassed, e.g. by
    another program), the save is refused instead of silently replacing that write."""
    store, ref = _add(db, draft)
    pipeline.decide(store, ref, "Dana", [rv.Change(action="confirm", ref="relevant-experience")])
    card, sha = store.load_card(ref)
    from sqlalchemy import update

    with pytest.raises(ReviewError, match="changed by someone else"):
        with store.transaction(ref):
            state = store.load_state(ref, "Dana", sha)
            session = store._tx().session  # the other writer, inside our transaction: the only way past the lock
            session.execute(update(ReviewStateRow).values(version=ReviewStateRow.version + 1))
            store.save_state(ref, "Dana", rv.confirm(state, card.score_for("upselling-skills"), "Dana"))
    _, state, _ = pipeline.review_status(store, ref, "Dana")
    assert list(state.criteria) == ["relevant-experience"]  # the refused transaction left nothing behind


def test_an_invalid_decision_saves_nothing(db, draft):
    store, ref = _add(db, draft)
    with pytest.raises(Exception, match="needs a reason"):
        pipeline.decide(store, ref, "Dana", [rv.Change(action="confirm", ref="relevant-experience"),
                                             rv.Change(action="override", ref="upselling-skills", score="2")])
    assert store.reviews_of(ref) == []


def test_refs_that_name_nothing_are_clear_errors(db, draft):
    store, _ = _add(db, draft)
    with pytest.raises(ReviewError, match="no such draft"):
        store.load_card("draft:999")
    with pytest.raises(Exception, match="not a scorecard of the review desk"):
        parse_ref("drafts/1")


# ---------------------------------------------------------------- import and export


def _reviewed_folder(tmp: Path, draft) -> Path:
    """A folder as `evaluate` and `review` leave it: a draft, two reviews, a final and its revision."""
    src = tmp / "files"
    src.mkdir()
    dp = write_draft(src / "cam-screening.json", draft)
    fs = FileStore()
    pipeline.decide(fs, str(dp), "Dana", [rv.Change(action="confirm", ref="relevant-experience"),
                                          rv.Change(action="note", ref="upselling-skills", text="probe expansion")])
    pipeline.decide(fs, str(dp), "Eve Ödegaard", _all_confirmed_but_overall(draft) + [
        rv.Change(action="override", ref="overall-recommendation", score="3", text="ok")])
    _, where = pipeline.finalize(fs, str(dp), "Eve Ödegaard")
    pipeline.revise_final(fs, where, "Eve Ödegaard", [rv.Change(action="override", ref="upselling-skills",
                                                               score="1", text="no expansion story")])
    return src


def test_files_to_database_to_files_is_byte_identical(db, draft, tmp_path):
    src = _reviewed_folder(tmp_path, draft)
    report = import_files(db, [src])
    assert (len(report.drafts), len(report.review_states), len(report.finals)) == (1, 2, 2)
    again = import_files(db, [src])
    assert again.drafts == again.review_states == again.finals == [] and len(again.unchanged) == 5
    out = tmp_path / "out"
    export_dir(db, out)
    original = {p.name: p.read_bytes() for p in src.glob("*.json")}
    exported = {p.name: p.read_bytes() for p in out.glob("*.json")}
    assert exported == original
    assert load_scorecard(out / "cam-screening.final.r2.json").revision == 2
    # and the review continues in the database where the files left it
    store = DbStore(db)
    _, state, progress = pipeline.review_status(store, "draft:1", "Dana")
    assert progress.decided == ["relevant-experience"] and state.criteria["upselling-skills"].notes


def test_export_never_replaces_a_different_file(db, draft, tmp_path):
    import_files(db, [_reviewed_folder(tmp_path, draft)])
    out = tmp_path / "out"
    out.mkdir()
    (out / "cam-screening.json").write_text("{}")
    with pytest.raises(ReviewError, match="exists with other content"):
        export_dir(db, out)
    assert (out / "cam-screening.json").read_text() == "{}" and len(list(out.iterdir())) == 1


def test_import_enforces_the_seal_and_needs_the_draft_of_a_review(db, draft, tmp_path):
    src = _reviewed_folder(tmp_path, draft)
    data = json.loads((src / "cam-screening.json").read_text())
    data["scores"][0]["score"] = 4  # edited by hand
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(data, indent=2))
    with pytest.raises(ReviewError, match="integrity seal"):
        import_files(db, [bad])
    state = next(src.glob("*.review.*.json"))
    with pytest.raises(ReviewError, match="not in the review desk"):
        import_files(db, [state])
    assert import_files(db, [src]).drafts  # nothing was stored by the refused imports


def test_import_and_export_through_the_command_line(run_cli, draft, tmp_path):
    src = _reviewed_folder(tmp_path, draft)
    ws = tmp_path / "ws"
    r = run_cli(["web", "import", src, "--workspace", ws, "--json"])
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)["finals"]) == 2
    r = run_cli(["web", "export", tmp_path / "out", "--workspace", ws])
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out" / "cam-screening.final.json").read_bytes() == (src / "cam-screening.final.json").read_bytes()
    assert sha256_file(tmp_path / "out" / "cam-screening.json") == sha256_file(src / "cam-screening.json")


# ---------------------------------------------------------------- concurrency


def test_two_threads_deciding_on_one_draft_lose_nothing(db, draft):
    store, ref = _add(db, draft)
    ids = [p.criterion_id for p in draft.scores if p.kind != "overall" and p.score is not None]
    errors = []

    def reviewer(name: str, notes: int) -> None:
        try:
            for i in range(notes):
                for cid in ids:
                    pipeline.decide(store, ref, name, [rv.Change(action="note", ref=cid, text=f"{name} {i}")])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    # two browsers of one reviewer, and a second reviewer, all at once
    threads = [threading.Thread(target=reviewer, args=(n, 3)) for n in ("Dana", "Dana", "Eve")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _, dana, _ = pipeline.review_status(store, ref, "Dana")
    _, eve, _ = pipeline.review_status(store, ref, "Eve")
    assert len(dana.log) == 2 * 3 * len(ids) and len(eve.log) == 3 * len(ids)
    assert all(dana.criteria[c].notes.count("Dana") == 6 for c in ids)


_WORKER = """
import sys
from evaluator import pipeline, review as rv
from evaluator.web.db import Database
from evaluator.web.store import DbStore
url, ref, name, *ids = sys.argv[1:]
store = DbStore(Database(url, migrate=False))
for i in range(3):
    for cid in ids:
        pipeline.decide(store, ref, name, [rv.Change(action="note", ref=cid, text=f"{name} {i}")])
"""


def test_two_processes_deciding_on_one_draft_lose_nothing(db, draft):
    store, ref = _add(db, draft)
    ids = [p.criterion_id for p in draft.scores][:3]
    url = db.engine.url.render_as_string(hide_password=False)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, url, ref, name, *ids], cwd=REPO,
                              stderr=subprocess.PIPE, text=True) for name in ("Dana", "Eve")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    _, dana, _ = pipeline.review_status(store, ref, "Dana")
    _, eve, _ = pipeline.review_status(store, ref, "Eve")
    assert len(dana.log) == len(eve.log) == 3 * len(ids)
    assert [e.text for e in dana.log if e.criterion_id == ids[0]] == [f"Dana {i}" for i in range(3)]


def test_migrations_build_the_schema_the_models_describe(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from evaluator.web.db import Base, upgrade

    upgrade(db.engine)  # a second upgrade changes nothing
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
