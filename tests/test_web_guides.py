"""The team's interview guides in the review desk: stored in its database (SQLite or PostgreSQL), never
overwritten, uploaded on the Guides page (YAML or the published text format), used by every page and job
with the version a draft records, and carried by export and import."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from evaluator.errors import GuideError  # noqa: E402
from evaluator.web.db import Database, GuideRow  # noqa: E402
from evaluator.web.guides import Guides, split_ref, version_key  # noqa: E402
from evaluator.web.transfer import export_dir, import_files  # noqa: E402
from test_web_api import STRONG, Desk, make_app  # noqa: E402,F401  (make_app: a fixture)

REPO = Path(__file__).resolve().parent.parent
CAM_YAML = (REPO / "rubrics" / "customer-account-manager.yaml").read_text(encoding="utf-8")
TEAM = "acme-account-manager"


def team_yaml(version: str = "1", role: str = "Acme Account Manager") -> str:
    """The bundled account-manager guide as a team's own: another id and role, the same stages."""
    text = CAM_YAML.replace("id: customer-account-manager", f"id: {TEAM}", 1)
    text = text.replace("role: Customer Account Manager", f"role: {role}", 1)
    return text.replace("version: '1'", f"version: '{version}'", 1)


@pytest.fixture
def make_desk(make_app):
    """Desks on their own workspaces (a second one stands for another team's desk)."""
    return lambda name="ws", reviewer="Dana": Desk(make_app(workspace_name=name), reviewer)


def add_guide(desk: Desk, name: str, content: bytes | str, **fields):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return desk.c.post("/guides", data={"csrf_token": desk.csrf, **fields}, files={"file": (name, data)})


def flash(html: str) -> str:
    import html as h

    m = re.search(r'<div class="flash[^"]*" role="[a-z]+">(.*?)</div>', html, flags=re.S)
    return h.unescape(m.group(1)) if m else ""


# ---------------------------------------------------------------- storage (SQLite and PostgreSQL)


@pytest.fixture
def db(desk_db_url):
    database = Database(desk_db_url)
    yield database
    database.dispose()


def test_a_guide_is_stored_once_and_never_overwritten(db):
    guides = Guides(db)
    first = guides.add_upload(team_yaml().encode(), "acme.yaml", "Dana")
    assert first.stored and first.entry.origin == "team" and first.entry.added_by == "Dana"
    again = guides.add_upload(team_yaml().encode(), "acme-copy.yaml", "Eve")
    assert not again.stored and "nothing changed" in again.message
    with pytest.raises(GuideError, match=r"already in the desk with other content \(added by Dana") as exc:
        guides.add_upload(team_yaml(role="Acme AM, edited").encode(), "acme.yaml", "Eve")
    assert "bump `version:`" in exc.value.hint
    with db.read() as s:
        rows = s.query(GuideRow).all()
    assert len(rows) == 1 and rows[0].body == team_yaml() and rows[0].created_by == "Dana"
    # the bundled guides hold their ids and versions too
    with pytest.raises(GuideError, match="is a bundled guide, with other content"):
        guides.add_upload(CAM_YAML.replace("role: Customer Account Manager", "role: Ours").encode(), "cam.yaml", "Eve")
    assert not guides.add_upload(CAM_YAML.encode(), "cam.yaml", "Eve").stored


def test_versions_coexist_and_the_newest_is_offered(db):
    guides = Guides(db)
    for v in ("2", "10", "9"):
        assert guides.add_upload(team_yaml(v, role=f"Acme AM v{v}").encode(), f"acme-{v}.yaml", "Dana").stored
    assert guides.resolve(TEAM).version == "10"  # numbers compared as numbers
    assert guides.resolve(TEAM, "2").role == "Acme AM v2"
    offered = {c["name"]: c for c in guides.choices()}
    assert offered[TEAM]["ref"] == f"{TEAM}@10" and offered["customer-account-manager"]["origin"] == "bundled"
    assert [e.guide.version for e in guides.versions(TEAM)] == ["10", "9", "2"]
    with pytest.raises(GuideError, match=r"version '3' is not in this review desk \(it has version 10, 9, 2\)"):
        guides.resolve(TEAM, "3")
    with pytest.raises(GuideError, match="neither a team guide nor a bundled one"):
        guides.resolve("no-such-guide")
    # a team's own version of a bundled guide id is used before the bundled one; the bundled one stays reachable
    ours = CAM_YAML.replace("version: '1'", "version: '2'").replace("role: Customer Account Manager", "role: CAM 2")
    guides.add_upload(ours.encode(), "cam-2.yaml", "Dana")
    assert guides.resolve("customer-account-manager").role == "CAM 2"
    assert guides.resolve("customer-account-manager", "1").role == "Customer Account Manager"
    assert split_ref(f"{TEAM}@2") == (TEAM, "2") and split_ref(TEAM) == (TEAM, None)
    assert version_key("1.10") > version_key("1.9") > version_key("1")


def test_guides_go_out_and_back_in_byte_identical(db, tmp_path):
    Guides(db).add_upload(team_yaml().encode(), "acme.yaml", "Dana Whitfield")
    Guides(db).add_upload(team_yaml("2").encode(), "acme.yaml", "Eve Ödegaard")
    out = tmp_path / "out"
    rep = export_dir(db, out)
    assert sorted(Path(p).name for p in rep.guides) == [f"{TEAM}-v1.yaml", f"{TEAM}-v2.yaml"]
    assert (out / "guides" / f"{TEAM}-v1.yaml").read_bytes() == team_yaml().encode("utf-8")
    assert export_dir(db, out).unchanged  # exporting again into the same folder changes nothing
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        rep = import_files(other, [out])
        assert len(rep.guides) == 2 and not rep.skipped
        entries = {e.guide.version: e for e in Guides(other).team()}
        assert entries["1"].text == team_yaml() and entries["2"].text == team_yaml("2")
        assert entries["2"].added_by == "Eve Ödegaard"  # who added it travels beside the YAML
        assert import_files(other, [out]).guides == []  # the same files again change nothing
        out2 = tmp_path / "out2"
        export_dir(other, out2)
        assert {p.name: p.read_bytes() for p in (out2 / "guides").iterdir()} == \
               {p.name: p.read_bytes() for p in (out / "guides").iterdir()}
    finally:
        other.dispose()


def test_migration_0002_adds_the_guides_table_to_a_desk_made_before(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    from evaluator.web.db import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO interviews (title, created_at) VALUES ('before', '2026-01-01')"))
    assert "guides" not in inspect(engine).get_table_names()
    engine.dispose()
    db = Database(url)  # opening it migrates it
    try:
        assert Guides(db).add_upload(team_yaml().encode(), "acme.yaml", "Dana").stored
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM interviews")).scalar_one() == "before"
    finally:
        db.dispose()


# ---------------------------------------------------------------- the Guides page


def test_a_yaml_guide_uploaded_on_the_guides_page(make_desk):
    desk = make_desk()
    r = add_guide(desk, "Acme AM.yaml", team_yaml())
    assert r.status_code == 200 and str(r.url).endswith(f"/guides/{TEAM}/1"), r.url
    assert "added Acme Account Manager" in flash(r.text) and "Screening" in r.text  # the guide itself, readable
    listing = desk.c.get("/guides").text
    row = re.search(rf'<tr data-guide="{TEAM}@1">(.*?)</tr>', listing, flags=re.S).group(1)
    assert "Dana on" in row and "offered for new interviews" in row and "Screening Interview" in row
    assert 'data-guide="customer-account-manager@1"' in listing and "bundled with interview-eval" in listing
    assert desk.c.get(f"/guides/{TEAM}/1/guide.yaml").content == team_yaml().encode("utf-8")
    assert f'<option value="{TEAM}@1"' in desk.c.get("/").text  # offered for new interviews
    assert 'href="/guides"' in desk.c.get("/").text  # in the navigation
    # the form needs the session's CSRF token, like every other
    r = desk.c.post("/guides", data={"csrf_token": "forged"}, files={"file": ("x.yaml", b"id: x")})
    assert r.status_code == 403
    assert desk.c.get(f"/guides/{TEAM}", follow_redirects=False).headers["location"] == f"/guides/{TEAM}/1"
    r = desk.c.get("/guides/no-such-guide/1")
    assert r.status_code == 404 and "not in this review desk" in r.text


def test_a_guide_in_the_published_text_format(make_desk, seeds_dir):
    from evaluator.guide import dump_guide_yaml
    from evaluator.guide_import import import_guide_file

    desk = make_desk()
    seed = seeds_dir / "000_e0d86f1303fc4141.txt"
    # unchanged, it is the bundled account-manager guide
    r = add_guide(desk, seed.name, seed.read_bytes())
    assert "customer-account-manager version 1 is a bundled guide, with the same content" in flash(r.text)
    r = add_guide(desk, seed.name, seed.read_bytes(), guide_id="acme-cam", version="2024.1")
    assert "added Customer Account Manager (acme-cam version 2024.1, 7 stages)" in flash(r.text)
    stored = desk.c.get("/guides/acme-cam/2024.1/guide.yaml").text
    want = import_guide_file(seed, guide_id="acme-cam").guide
    want.version = "2024.1"
    assert stored == dump_guide_yaml(want)  # what `guides import --id acme-cam` writes, with the version given
    # the same id and version from an edited source: refused, saying how to go on
    edited = seed.read_bytes().replace(b"Customer Account Manager", b"Client Account Manager", 1)
    r = add_guide(desk, seed.name, edited, guide_id="acme-cam", version="2024.1")
    line = flash(r.text)
    assert "already in the desk with other content" in line and "new version in the Version field" in line


def test_a_guide_saved_as_utf16_by_a_windows_tool_is_read(make_desk):
    desk = make_desk()
    r = add_guide(desk, "acme.yaml", team_yaml().encode("utf-16"))  # with its byte-order mark
    assert "added Acme Account Manager" in flash(r.text)
    assert desk.c.get(f"/guides/{TEAM}/1/guide.yaml").content == team_yaml().encode("utf-8")  # kept as UTF-8 text


@pytest.mark.parametrize("name, content, expected", [
    ("bad.yaml", "id: x\nrole: y\nstages:\n  - id: s\n   name: broken indent\n",
     r"bad\.yaml, line \d+: not valid YAML .* — fix the YAML syntax"),
    ("typo.yaml", None, r"typo\.yaml, line 7: verison: unknown field 'verison' — remove it or fix its spelling"),
    ("list.yaml", "- a\n- b\n", r"list\.yaml: not an interview guide .* — a guide in the published text format is "
                                r"uploaded as a \.txt file"),
    ("scorecard.json", '{"kind": "draft", "scores": []}', r"scorecard\.json: not an interview guide"),
    ("transcript.txt", "WEBVTT\n\n00:00.000 --> 00:02.000\nHello there\n",
     r"transcript\.txt: no interview stages found"),
    ("guide.pdf", "%PDF-1.4", r"guide\.pdf: not a guide file this desk reads — upload the guide's YAML"),
    ("empty.yaml", "", r"empty\.yaml: the file is empty"),
    ("latin1.yaml", "id: caf\xe9".encode("latin-1"), r"latin1\.yaml: not UTF-8 text \(byte 7\)"),
], ids=["yaml-syntax", "unknown-field", "yaml-list", "json-not-a-guide", "text-without-stages", "pdf", "empty",
        "latin-1"])
def test_a_refused_guide_is_one_clear_line_on_the_page(make_desk, name, content, expected):
    desk = make_desk()
    if content is None:
        content = team_yaml().replace("version: '1'", "verison: '1'", 1)
    r = add_guide(desk, name, content)
    assert r.status_code == 200 and str(r.url).endswith("/guides")
    line = flash(r.text)
    assert re.search(expected, line), line
    assert "Traceback" not in r.text and "\n" not in line.strip()
    assert 'data-guide="' + TEAM not in desk.c.get("/guides").text


def test_a_yaml_guide_keeps_its_own_id_and_version(make_desk):
    r = add_guide(make_desk(), "acme.yaml", team_yaml(), version="7")
    assert "a YAML guide's id and version are its own `id:` and `version:`" in flash(r.text)
    r = add_guide(make_desk("ws2"), "odd.yaml", team_yaml().replace(f"id: {TEAM}", "id: acme account manager"))
    assert "guide id 'acme account manager': use letters, digits" in flash(r.text)


# ---------------------------------------------------------------- drafts made with a team guide


def test_a_draft_made_with_a_team_guide_is_reviewed_with_its_version(make_desk):
    desk = make_desk()
    add_guide(desk, "acme.yaml", team_yaml())
    r = desk.upload(STRONG, guide=TEAM)
    assert r.status_code == 200, r.text
    desk.wait()
    draft_id = desk.draft_id()
    page = desk.c.get(f"/drafts/{draft_id}").text
    assert "Acme Account Manager" in page and f'href="/guides/{TEAM}/1" id="draft-guide"' in page
    r = desk.decide(draft_id, criterion="relevant-experience", action="override", score="3", reason="solid story")
    assert r.status_code == 200, r.text
    # a newer version is offered for new interviews; this interview is still drafted again with version 1
    add_guide(desk, "acme-2.yaml", team_yaml("2", role="Acme Account Manager II"))
    assert f'<option value="{TEAM}@2"' in desk.c.get("/").text
    iv = desk.c.get("/interviews/1").text
    assert re.search(rf'<option value="{TEAM}@1"[^>]*selected>[^<]*as drafted', iv), iv
    home = desk.c.get("/").text
    key = re.search(r'href="/candidates/([^"]+)"', home).group(1)
    coverage = desk.c.get(f"/candidates/{key}?view=coverage").text
    assert coverage.count('class="error"') == 0 and "Coverage audit" in coverage
    assert f"<code>{TEAM}</code> version 1" in coverage
    coaching = desk.c.get(f"/candidates/{key}?view=coaching").text
    assert coaching.count('class="error"') == 0 and f"{TEAM} v1" in coaching
    debrief = desk.c.get(f"/candidates/{key}").text
    assert debrief.count('class="error"') == 0 and "Debrief" in debrief and "Customer-Centric Mindset" in debrief
    table = desk.c.get("/recruiter").text
    assert f"Acme Account Manager ({TEAM} v1)" in table
    # drafting again with the version it records
    r = desk.c.post("/interviews/1/evaluate", data={"csrf_token": desk.csrf, "guide": f"{TEAM}@1",
                                                    "stage": "screening"})
    assert "the job has started" in r.text
    r = desk.c.post("/interviews/1/evaluate", data={"csrf_token": desk.csrf, "guide": f"{TEAM}@3"})
    assert "version '3' is not in this review desk (it has version 2, 1)" in flash(r.text)
    desk.wait()
    assert desk.c.get("/api/jobs/2").json()["status"] == "done"


def test_a_draft_whose_guide_is_not_in_the_desk_is_shown_with_a_clear_message(make_desk, tmp_path):
    team = make_desk("team")
    add_guide(team, "acme.yaml", team_yaml())
    team.upload(STRONG, guide=TEAM)
    team.wait()
    body = team.c.get(f"/drafts/{team.draft_id()}/draft.json").content
    other = make_desk("other", "Eve")
    r = other.c.post("/import", data={"csrf_token": other.csrf}, files=[("files", ("acme-draft.json", body))])
    assert "imported 0 guides, 1 drafts" in r.text
    draft_id = other.draft_id()
    assert other.c.get(f"/drafts/{draft_id}").status_code == 200  # the draft itself needs no guide
    key = re.search(r'href="/candidates/([^"]+)"', other.c.get("/").text).group(1)
    for view in ("coverage", "coaching", "debrief"):
        r = other.c.get(f"/candidates/{key}?view={view}")
        assert r.status_code == 200 and f"guide &#39;{TEAM}&#39; is not in this review desk" in r.text, view
        assert "--guide" not in r.text
    iv = other.c.get("/interviews/1").text
    assert 'id="guide-missing"' in iv and "add it on the Guides page" in iv
    assert f"{TEAM} v1 (not in this desk)" in other.c.get("/recruiter").text
    # once the team's export is imported, the guide is there and the views work
    team.c.post("/export", data={"csrf_token": team.csrf})
    out = next((tmp_path / "team" / "exports").iterdir())
    files = [("files", (p.name, p.read_bytes())) for p in (out / "guides").iterdir()]
    r = other.c.post("/import", data={"csrf_token": other.csrf}, files=files)
    assert "imported 1 guides" in r.text
    assert 'class="error"' not in other.c.get(f"/candidates/{key}?view=coverage").text
    entry = other.app.state.guides.find(TEAM, "1")
    assert entry.added_by == "Dana" and entry.text == team_yaml()


def test_guides_through_the_command_line_export_and_import(run_cli, make_desk, tmp_path):
    desk = make_desk()
    add_guide(desk, "acme.yaml", team_yaml())
    desk.app.state.db.dispose()
    r = run_cli(["web", "export", tmp_path / "out", "--workspace", tmp_path / "ws"])
    assert r.exit_code == 0 and "1 team guides" in r.stdout, r.stderr
    assert (tmp_path / "out" / "guides" / f"{TEAM}-v1.yaml").read_text(encoding="utf-8") == team_yaml()
    r = run_cli(["web", "import", tmp_path / "out", "--workspace", tmp_path / "ws2"])
    assert r.exit_code == 0 and "imported 1 guides" in r.stdout, r.stderr
    (tmp_path / "out" / "guides" / f"{TEAM}-v1.yaml").write_text(team_yaml(role="Changed"), encoding="utf-8")
    r = run_cli(["web", "import", tmp_path / "out", "--workspace", tmp_path / "ws2"])
    assert r.exit_code != 0 and "already in the desk with other content" in r.stderr and "Traceback" not in r.stderr
