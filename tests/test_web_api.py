"""The review desk over HTTP (FastAPI's TestClient): sign-in, CSRF, uploads and background jobs, the review
flow to a final scorecard, escaping of transcript text, privacy of the API key, audio with Range requests,
limits, authentication, and two browsers deciding at once."""

from __future__ import annotations

import base64
import json
import re
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from evaluator import pipeline  # noqa: E402
from evaluator.store import load_scorecard  # noqa: E402
from evaluator.web.app import DeskConfig, asgi_app, check_bind, create_app  # noqa: E402
from evaluator.web.security import AuthConfig, safe_filename  # noqa: E402
from test_evaluate import honest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STRONG = REPO / "samples" / "cam-screening-strong.vtt"
OGG = REPO / "samples" / "audio" / "cam-screening.ogg"
CAM = "customer-account-manager"
SECRET = "sk-test-secret-never-on-a-page-4711"


class Desk:
    """A signed-in browser session on a review desk app."""

    def __init__(self, app, name: str = "Dana", client: TestClient | None = None):
        self.app = app
        self.c = client or TestClient(app)
        if name:
            self.sign_in(name)

    @property
    def csrf(self) -> str:
        page = self.c.get("/who").text
        return re.search(r'name="csrf-token" content="([^"]*)"', page).group(1)

    def sign_in(self, name: str, **extra):
        page = self.c.get("/who").text
        token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
        return self.c.post("/who", data={"name": name, "csrf_token": token, "next": "/", **extra})

    def upload(self, path: Path, *, name: str | None = None, content: bytes | None = None, **fields):
        data = {"csrf_token": self.csrf, "guide": CAM, "stage": "screening", "title": "Marcus Lee screening",
                "candidate_name": "Marcus Lee", **fields}
        files = {"file": (name or path.name, content if content is not None else path.read_bytes())}
        return self.c.post("/interviews", data=data, files=files)

    def wait(self):
        assert self.app.state.runner.wait_idle(180)

    def draft_id(self) -> int:
        return int(re.search(r'href="/drafts/(\d+)"', self.c.get("/").text).group(1))

    def decide(self, draft_id: int, fetch: bool = True, **data):
        headers = {"X-Requested-With": "fetch"} if fetch else {}
        return self.c.post(f"/drafts/{draft_id}/decide", data={"csrf_token": self.csrf, **data}, headers=headers)


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    apps = []

    def make(workspace_name: str = "ws", **kw):
        app = create_app(DeskConfig(workspace=tmp_path / workspace_name, **kw))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.runner.wait_idle(180)
        app.state.db.dispose()


@pytest.fixture
def desk(make_app):
    return Desk(make_app())


@pytest.fixture
def llm_desk(make_app, llm_server, monkeypatch):
    """A desk whose LLM is the scripted local server (the key is SECRET), with one drafted upload."""
    llm_server.handler = honest
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    d = Desk(make_app())
    d.upload(STRONG, use_llm="1")
    d.wait()
    return d


def _criteria(html: str) -> list[str]:
    return re.findall(r'<section class="criterion[^"]*" id="c-([a-z0-9-]+)"', html)


# ---------------------------------------------------------------- who, CSRF


def test_every_page_asks_who_is_reviewing_first(make_app):
    c = TestClient(make_app())
    r = c.get("/drafts/1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/who?next=/drafts/1"
    d = Desk(c.app, name="", client=c)
    assert d.sign_in("   ").status_code == 422
    r = d.sign_in("Dana  Whitfield")
    assert r.status_code == 200 and "Reviewing as <strong>Dana Whitfield</strong>" in r.text


def test_a_post_without_the_session_csrf_token_is_refused(desk):
    desk.upload(STRONG)
    desk.wait()
    draft_id = desk.draft_id()
    r = desk.c.post(f"/drafts/{draft_id}/decide", data={"csrf_token": "forged", "criterion": "relevant-experience",
                                                         "action": "override", "score": "3", "reason": "x"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = desk.c.post("/interviews", data={"guide": CAM}, files={"file": ("a.vtt", STRONG.read_bytes())})
    assert r.status_code == 403
    assert '<strong id="decided">0</strong>' in desk.c.get(f"/drafts/{draft_id}").text


def test_security_headers_keep_pages_to_the_desk_itself(desk):
    r = desk.c.get("/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "samesite=strict" in r.headers.get("set-cookie", "samesite=strict").lower()
    assert not re.search(r'(src|href)="(https?:)?//', r.text)  # nothing loaded from elsewhere


# ---------------------------------------------------------------- from an upload to a final scorecard


def test_a_transcript_upload_becomes_a_draft_through_a_background_job(desk):
    r = desk.upload(STRONG)
    assert r.status_code == 200 and "/interviews/1" in str(r.url)
    desk.wait()
    job = desk.c.get("/api/jobs/1").json()
    assert job["status"] == "done" and job["progress"] == 1.0 and job["draft_url"] == "/drafts/1"
    page = desk.c.get("/drafts/1").text
    assert len(_criteria(page)) == 7
    assert page.count('class="seg ') == page.count("<li id=\"seg-")  # every segment with its speaker and time
    assert 'data-start="' in page and "Relevant passages" in page
    assert "Confirm " not in page  # no LLM: nothing to confirm, every criterion needs a score and a reason


def test_a_refused_interview_can_be_drafted_with_it_is_an_interview_ticked(desk):
    # everyone merged into one speaker label: the job fails saying how to go on in the page's words; ticking the
    # box drafts it
    lines = [ln for ln in (REPO / "samples/cam-screening-weak-skips.txt").read_text().splitlines() if ln.strip()]
    merged = "".join(f"[00:{i:02d}] Dana: {ln.split(': ', 1)[-1].strip()}\n" for i, ln in enumerate(lines[:40]))
    desk.upload(STRONG, name="merged.txt", content=merged.encode())
    desk.wait()
    job = desk.c.get("/api/jobs/1").json()
    assert job["status"] == "failed" and "only one person speaks" in job["error"]
    assert "it is an interview" in job["error"] and "--skip" not in job["error"]
    r = desk.c.post("/interviews/1/evaluate", data={"csrf_token": desk.csrf, "guide": CAM, "stage": "screening",
                                                     "skip_check": "1"})
    assert r.status_code == 200
    desk.wait()
    job = desk.c.get("/api/jobs/2").json()
    assert job["status"] == "done", job


def test_without_an_llm_every_criterion_is_scored_with_a_reason_then_finalised(desk, tmp_path):
    desk.upload(STRONG)
    desk.wait()
    draft_id = desk.draft_id()
    ids = _criteria(desk.c.get(f"/drafts/{draft_id}").text)
    r = desk.decide(draft_id, criterion=ids[0], action="override", score="3", reason="  ")
    assert r.status_code == 422 and "needs a reason" in r.text
    r = desk.decide(draft_id, criterion=ids[0], action="confirm")
    assert r.status_code == 422 and "cannot confirm" in r.text
    for cid in ids[:-1]:
        r = desk.decide(draft_id, criterion=cid, action="override", score="1", reason=f"thin answer on {cid}")
        assert r.status_code == 200, r.text
    assert r.headers["x-decided"] == "6" and r.headers["x-total"] == "7"
    summary = desk.c.get(f"/drafts/{draft_id}/summary").text
    assert "still need your decision" in summary and 'id="finalize" disabled' in summary
    # a strong overall recommendation over weak criteria: the summary points it out before finalising
    r = desk.decide(draft_id, fetch=False, criterion="overall-recommendation", action="override", score="4",
                    reason="great energy")
    assert r.status_code == 200 and "score set and saved" in r.text
    summary = desk.c.get(f"/drafts/{draft_id}/summary").text
    assert 'id="contradictions"' in summary and "criteria average 1.0" in summary
    r = desk.c.post(f"/drafts/{draft_id}/finalize", data={"csrf_token": desk.csrf})
    assert "tick the box" in r.text and "/summary" in str(r.url)
    r = desk.c.post(f"/drafts/{draft_id}/finalize", data={"csrf_token": desk.csrf, "checked": "1"})
    assert "/finals/1" in str(r.url) and "Final scorecard" in r.text
    assert "finalised despite" in r.text and "great energy" in r.text and "Review log of Dana" in r.text
    # a second finalise is refused; a revision keeps the first
    r = desk.c.post(f"/drafts/{draft_id}/finalize", data={"csrf_token": desk.csrf, "checked": "1"})
    assert "never overwritten" in r.text
    r = desk.c.post("/finals/1/revise", data={"csrf_token": desk.csrf, "criterion": ids[0], "score": "2",
                                              "reason": "re-listened: better than I noted"})
    assert "revision 2 saved" in r.text
    desk.c.post("/export", data={"csrf_token": desk.csrf})
    out = next((tmp_path / "ws" / "exports").iterdir())
    final = load_scorecard(out / f"{_draft_name(desk, draft_id)}.final.json")
    assert final.reviewer == "Dana" and final.criteria[-1].decision.reason == "great energy"
    assert load_scorecard(next(out.glob("*.final.r2.json"))).criteria[0].final_score == 2


def _draft_name(desk, draft_id) -> str:
    r = desk.c.get(f"/drafts/{draft_id}/draft.json")
    return re.search(r'filename="(.+)\.json"', r.headers["content-disposition"]).group(1)


def test_with_the_llm_quotes_play_and_can_be_confirmed(llm_desk):
    d = llm_desk
    draft_id = d.draft_id()
    page = d.c.get(f"/drafts/{draft_id}").text
    quote = re.search(r'class="quote play" data-start="([\d.]+)" data-seg="(s\d+)"', page)
    seg = re.search(rf'<li id="seg-{quote.group(2)}"[^>]*>\s*<button type="button" class="time play" '
                    rf'data-start="([\d.]+)"', page)
    assert quote and seg and float(quote.group(1)) >= float(seg.group(1))
    r = d.decide(draft_id, criterion="relevant-experience", action="confirm")
    assert r.status_code == 200 and "Confirmed" in r.text
    # the reviewer's own quote: found in candidate turns, or refused
    import html as html_mod

    segments = re.findall(r'<li id="seg-s\d+" class="seg (\w+)".*?<span class="text">([^<]*)</span>', page, re.S)
    words = next(text for role, text in segments if role == "candidate" and len(text.split()) > 12)
    words = " ".join(html_mod.unescape(words).split()[:8])
    r = d.decide(draft_id, criterion="upselling-skills", action="add_quote", text=words)
    assert r.status_code == 200 and "added by Dana" in r.text
    r = d.decide(draft_id, criterion="upselling-skills", action="add_quote", text="I tripled revenue at Google")
    assert r.status_code == 422 and "quote refused" in r.text


def test_the_api_key_never_reaches_a_page(llm_desk):
    d = llm_desk
    home = d.c.get("/").text
    assert "127.0.0.1" in home  # the endpoint's host is shown...
    for path in ("/", "/interviews/1", "/drafts/1", "/drafts/1/summary", "/drafts/1/draft.json", "/recruiter",
                 "/api/jobs/1"):
        assert SECRET not in d.c.get(path).text, path  # ...the key never


def test_a_script_in_a_transcript_is_shown_as_text(desk, tmp_path):
    txt = (REPO / "samples" / "cam-screening-weak-skips.txt").read_text(encoding="utf-8").replace(
        "I can hear you.", "I can hear you. <script>alert('pwned')</script><img src=x onerror=alert(1)>", 1)
    assert "<script>" in txt
    desk.upload(STRONG, name="evil.txt", content=txt.encode())
    desk.wait()
    page = desk.c.get(f"/drafts/{desk.draft_id()}").text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert len(re.findall(r"<script\b", page)) == 1  # only the desk's own /static/app.js


# ---------------------------------------------------------------- audio, uploads, limits


def test_the_recording_is_served_with_range_requests(make_app):
    d = Desk(make_app(run_jobs=False))
    d.upload(OGG)
    data = OGG.read_bytes()
    r = d.c.get("/recordings/1", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert r.content == data[1000:2000] and r.headers["content-type"] == "audio/ogg"
    assert d.c.get("/recordings/1").headers["accept-ranges"] == "bytes"
    assert d.c.get("/recordings/99").status_code == 404


def test_uploaded_file_names_are_sanitised_and_kinds_checked(make_app, tmp_path):
    d = Desk(make_app(run_jobs=False))
    d.upload(STRONG, name="../../../etc/cron.d/x y.vtt")
    stored = list((tmp_path / "ws" / "recordings").rglob("*"))
    assert [p.name for p in stored if p.is_file()] == ["x-y.vtt"]
    assert not (tmp_path / "etc").exists()
    r = d.upload(STRONG, name="payload.exe")
    assert "not a recording or transcript" in r.text
    assert safe_filename(".hidden") == "upload.hidden" and safe_filename("a/b\\c.MP3") == "c.mp3"


def test_an_upload_over_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    cfg = DeskConfig(workspace=tmp_path / "ws", max_upload_mb=1, run_jobs=False)
    c = TestClient(asgi_app(cfg))
    d = Desk(c.app, client=c)
    r = d.upload(STRONG, name="big.vtt", content=b"x" * (2 * 2**20))
    assert r.status_code == 413 and "limit is 1 MB" in r.text
    assert not list((tmp_path / "ws").rglob("big.vtt"))


def test_a_foreign_host_header_is_refused(tmp_path):
    c = TestClient(asgi_app(DeskConfig(workspace=tmp_path / "ws", run_jobs=False)))
    assert c.get("/who", headers={"Host": "attacker.example"}).status_code == 400
    assert c.get("/who", headers={"Host": "127.0.0.1:8765"}).status_code == 200


# ---------------------------------------------------------------- who may use it


def test_serving_beyond_this_machine_needs_auth(run_cli):
    with pytest.raises(Exception, match="without --auth"):
        check_bind("0.0.0.0", "none")
    check_bind("0.0.0.0", "token")
    check_bind("127.0.0.1", "none")
    r = run_cli(["serve", "--host", "0.0.0.0", "--port", "1"])
    assert r.exit_code == 2 and "refusing to serve" in r.stderr


def test_token_auth_needs_the_shared_token(make_app):
    app = make_app(auth=AuthConfig(mode="token", token="team-token-1"), run_jobs=False)
    d = Desk(app, name="")
    assert d.sign_in("Dana", token="wrong").status_code == 403
    assert d.c.get("/", follow_redirects=False).status_code == 303
    assert d.sign_in("Dana", token="team-token-1").status_code == 200
    assert d.c.get("/").status_code == 200
    bare = TestClient(app)
    assert bare.get("/api/jobs/1").status_code == 401


def test_basic_auth_names_the_reviewer(make_app):
    import hashlib

    app = make_app(auth=AuthConfig(mode="basic", users={
        "dana": "sha256:" + hashlib.sha256(b"pw-dana").hexdigest()}), run_jobs=False)
    c = TestClient(app)
    assert c.get("/").status_code == 401
    bad = base64.b64encode(b"dana:nope").decode()
    assert c.get("/", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    good = base64.b64encode(b"dana:pw-dana").decode()
    r = c.get("/", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 200 and "Reviewing as <strong>dana</strong>" in r.text


# ---------------------------------------------------------------- two browsers, one draft


def test_two_browsers_deciding_on_one_draft_at_once_lose_nothing(make_app):
    app = make_app()
    a = Desk(app, "Dana")
    a.upload(STRONG)
    a.wait()
    b = Desk(app, "Dana")  # the same reviewer in a second browser
    draft_id = a.draft_id()
    ids = _criteria(a.c.get(f"/drafts/{draft_id}").text)
    results = []

    def work(desk, mine):
        for cid in mine:
            results.append(desk.decide(draft_id, criterion=cid, action="override", score="2",
                                       reason=f"decided in {id(desk)}").status_code)
            results.append(desk.decide(draft_id, criterion=cid, action="note", text=f"note {id(desk)}").status_code)

    threads = [threading.Thread(target=work, args=(a, ids[0::2])), threading.Thread(target=work, args=(b, ids[1::2]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results and set(results) == {200}
    assert "still need your decision" not in a.c.get(f"/drafts/{draft_id}/summary").text
    _, state, progress = pipeline.review_status(app.state.store, f"draft:{draft_id}", "Dana")
    assert progress.remaining == [] and len(state.log) == 2 * len(ids)
    assert all(e.notes.startswith("note ") for e in state.criteria.values())


# ---------------------------------------------------------------- candidate views, recruiter table


def test_candidate_views_and_the_recruiter_table(desk):
    desk.upload(STRONG)
    desk.wait()
    home = desk.c.get("/").text
    key = re.search(r'href="/candidates/([^"]+)"', home).group(1)
    debrief = desk.c.get(f"/candidates/{key}").text
    assert "Debrief" in debrief and "Marcus Lee" in debrief
    coverage = desk.c.get(f"/candidates/{key}?view=coverage").text
    assert "Coverage audit" in coverage
    coaching = desk.c.get(f"/candidates/{key}?view=coaching").text
    assert "Talk time" in coaching or "talk time" in coaching
    table = desk.c.get("/recruiter").text
    assert 'id="per-interviewer"' in table and "screening" in table
    assert json.loads(desk.c.get("/api/drafts/1/version").text)["version"] >= 1


def test_errors_on_a_page_speak_of_its_fields_not_of_command_line_options(tmp_path):
    from evaluator.errors import EvalError, UsageError
    from evaluator.guide import load_guide
    from evaluator.inputs import load_interview
    from evaluator.pipeline import pick_stage
    from evaluator.transcript import Segment, Transcript
    from evaluator.web.views import web_message

    guide = load_guide(CAM)
    small_talk = Transcript(segments=[Segment(id="s1", start_s=0, end_s=2, speaker="A", text="Lovely weather."),
                                      Segment(id="s2", start_s=2, end_s=4, speaker="B", text="It is.")])
    with pytest.raises(UsageError) as stage:
        pick_stage(small_talk, guide, None, source="x.vtt")
    shown = web_message(stage.value)
    assert shown.startswith("x.vtt: cannot tell which stage this is") and "--" not in shown
    assert "choose it under Stage and draft it again; stages by match: " in shown and "screening (" in shown
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list: eggs, milk, bread.\n", encoding="utf-8")
    with pytest.raises(EvalError) as check:
        load_interview(notes, guide=guide, require_interview=True)
    assert "it is an interview\u201d ticked" in web_message(check.value) and "--" not in web_message(check.value)
    assert web_message(UsageError("bad", hint="use --set ID=SCORE:reason")) == "bad"
    assert web_message(EvalError("x.ogg: a transcript", hint="a transcript goes to `interview-eval transcript`")) \
        == "x.ogg: a transcript"
    assert web_message(EvalError("x.txt: not UTF-8", hint="re-save it as UTF-8")) == "x.txt: not UTF-8 \u2014 re-save it as UTF-8"
    assert web_message(EvalError("g.yaml: unknown field", hint="remove it (see `interview-eval guides schema`)")) \
        == "g.yaml: unknown field \u2014 remove it"
