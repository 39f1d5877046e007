"""The review desk's web app (FastAPI, server-rendered Jinja2 templates, a little vanilla JS; no CDN, no
network). Every review action calls the use cases of `evaluator.pipeline` against the database `DbStore`;
this module only turns requests into those calls and their results into pages."""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from sqlalchemy import select

from evaluator.errors import EvalError, UsageError
from evaluator.web import views
from evaluator.web.db import Database, DraftRow, FinalRow, InterviewRow, JobRow, RecordingRow, ReviewStateRow
from evaluator.web.guides import Guides
from evaluator.web.jobs import JobRunner
from evaluator.web.security import AuthConfig, ASGIGuard, REPORT_CSP, new_token, safe_filename, workspace_secret
from evaluator.web.store import DbStore, draft_ref, final_ref, normal_name, parse_ref

HERE = Path(__file__).parent
TRANSCRIPT_EXTENSIONS = {"vtt", "srt", "txt", "json"}
AUDIO_MIME = {"ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg", "wav": "audio/wav",
              "m4a": "audio/mp4", "mp4": "video/mp4", "webm": "audio/webm", "flac": "audio/flac",
              "aac": "audio/aac", "mkv": "video/x-matroska", "mov": "video/quicktime"}


@dataclass
class DeskConfig:
    """How one review desk runs: where its files are, its database, who may use it, its limits."""

    workspace: Path
    db_url: str | None = None
    auth: AuthConfig = field(default_factory=AuthConfig)
    allowed_hosts: set[str] | None = field(default_factory=lambda: {"127.0.0.1", "localhost", "[::1]",
                                                                    "testserver"})
    max_upload_mb: int = 1024
    llm_options: dict = field(default_factory=dict)
    run_jobs: bool = True


class NeedsSignIn(Exception):
    """The request has no reviewer (or no valid token); the person is sent to the sign-in page."""


class Refused(Exception):
    """A request refused before any use case ran (CSRF, not found)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from evaluator.text import fmt_time

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["t"] = fmt_time
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:.0f}%"
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    env.filters["candidate_key"] = views.candidate_key
    return env


def create_app(cfg: DeskConfig) -> FastAPI:
    """The review desk app for one workspace and database."""
    from starlette.middleware.sessions import SessionMiddleware

    from evaluator import pipeline
    from evaluator import review as rv

    cfg.workspace = cfg.workspace.expanduser().resolve()
    cfg.workspace.mkdir(parents=True, exist_ok=True)
    db = Database(cfg.db_url or _default_url(cfg.workspace))
    store = DbStore(db)
    guides = Guides(db)
    runner = JobRunner(db, cfg.workspace, llm_options=cfg.llm_options, start=cfg.run_jobs)
    runner.recover()
    env = _templates()
    for name in ("base.html", "review.html", "_criterion.html", "summary.html", "interviews.html", "guides.html"):
        env.get_template(name)  # compiled now, not on the first reviewer's page load

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        runner.shutdown()

    app = FastAPI(title="interview-eval review desk", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.db, app.state.store, app.state.runner, app.state.cfg = db, store, runner, cfg
    app.state.guides = guides

    from starlette.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ------------------------------------------------------------ helpers

    def reviewer_of(request: Request) -> str:
        if cfg.auth.mode == "basic":
            user = cfg.auth.check_basic(request.headers.get("authorization"))
            if not user:
                raise NeedsSignIn()
            request.session.setdefault("csrf", new_token())
            return user
        if cfg.auth.mode == "token" and not request.session.get("authed"):
            bearer = request.headers.get("authorization", "")
            if not (bearer.lower().startswith("bearer ") and cfg.auth.check_token(bearer[7:].strip())):
                raise NeedsSignIn()
        name = normal_name(request.session.get("reviewer", ""))
        if not name:
            raise NeedsSignIn()
        return name

    def check_csrf(request: Request, form_token: str | None) -> None:
        want = request.session.get("csrf")
        got = form_token or request.headers.get("x-csrf-token")
        import hmac

        if not want or not got or not hmac.compare_digest(str(want), str(got)):
            raise Refused(403, "this form is out of date or did not come from the review desk (CSRF check); "
                               "reload the page and try again")

    def page(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        flash = request.session.pop("flash", None)
        base = {"request": request, "csrf": request.session.get("csrf", ""), "flash": flash,
                "reviewer": normal_name(request.session.get("reviewer", "")) if cfg.auth.mode != "basic"
                else cfg.auth.check_basic(request.headers.get("authorization")),
                "auth_mode": cfg.auth.mode}
        return HTMLResponse(env.get_template(template).render(**base, **ctx), status_code=status)

    def wants_fragment(request: Request) -> bool:
        return request.headers.get("x-requested-with") == "fetch"

    def back(request: Request, url: str, message: str | None = None, error: bool = False) -> RedirectResponse:
        if message:
            request.session["flash"] = {"text": message, "error": error}
        return RedirectResponse(url, status_code=303)

    def found(s, model, row_id: int, what: str):
        row = s.get(model, row_id)
        if row is None:
            raise Refused(404, f"{what} {row_id} does not exist")
        return row

    def draft_row(draft_id: int) -> DraftRow:
        with db.read() as s:
            return found(s, DraftRow, draft_id, "draft")

    def llm_status() -> dict:
        choice = pipeline.llm_choice(**cfg.llm_options)
        # Only the model and the endpoint's host reach a page, never the key.
        return {"configured": choice.client is not None, **choice.info}

    @app.exception_handler(NeedsSignIn)
    async def _sign_in(request: Request, _exc: NeedsSignIn):
        if cfg.auth.mode == "basic":
            return PlainTextResponse("sign in with your review desk user name and password", status_code=401,
                                     headers={"WWW-Authenticate": 'Basic realm="interview-eval", charset="UTF-8"'})
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return RedirectResponse(f"/who?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused):
        if wants_fragment(request) or request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return page(request, "error.html", status=exc.status, message=exc.message)

    # ------------------------------------------------------------ who is reviewing

    @app.get("/who", response_class=HTMLResponse)
    def who(request: Request, next: str = "/"):
        request.session.setdefault("csrf", new_token())
        return page(request, "who.html", next=next if next.startswith("/") and not next.startswith("//") else "/")

    @app.post("/who")
    def who_post(request: Request, name: str = Form(""), token: str = Form(""), next: str = Form("/"),
                 csrf_token: str = Form("")):
        check_csrf(request, csrf_token)
        if cfg.auth.mode == "token" and not cfg.auth.check_token(token):
            return page(request, "who.html", status=403, next=next, error="that access token is not right")
        name = normal_name(name)
        if not name:
            return page(request, "who.html", status=422, next=next, error="enter your name: it is recorded "
                        "with every decision you make")
        request.session["reviewer"] = name[:200]
        if cfg.auth.mode == "token":
            request.session["authed"] = True
        request.session["csrf"] = new_token()  # a new token once signed in
        safe = next if next.startswith("/") and not next.startswith("//") else "/"
        return RedirectResponse(safe, status_code=303)

    @app.post("/who/leave")
    def who_leave(request: Request, csrf_token: str = Form("")):
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/who", status_code=303)

    # ------------------------------------------------------------ interviews

    guide_choices = guides.choices

    def chosen_guide(ref: str, stage: str):
        """The guide a form chose (id@version) and, when named, its stage checked; an EvalError otherwise. The
        version is fixed now: a newer one added while the job waits does not change the interview."""
        g = guides.resolve_ref(ref)
        if stage:
            g.stage(stage)
        return g

    @app.get("/", response_class=HTMLResponse)
    def interviews(request: Request):
        me = reviewer_of(request)
        return page(request, "interviews.html", me=me, items=views.interview_summaries(db),
                    guides=guide_choices(), llm=llm_status(), max_upload_mb=cfg.max_upload_mb)

    async def save_upload(up: UploadFile, folder: Path, name: str) -> tuple[Path, int, str] | str:
        """Stream an upload into the workspace under a safe name: (path, size, sha256), or why it was refused."""
        import hashlib

        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        h, size, limit = hashlib.sha256(), 0, cfg.max_upload_mb * 2**20
        with open(target, "wb") as out:
            while chunk := await up.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    break
                h.update(chunk)
                out.write(chunk)
        if size > limit or size == 0:
            target.unlink(missing_ok=True)
            return f"upload too large: the limit is {cfg.max_upload_mb} MB" if size else f"{up.filename!r} is empty"
        return target, size, h.hexdigest()

    @app.post("/interviews")
    async def upload(request: Request, file: UploadFile, guide: str = Form(...), stage: str = Form(""),
                     title: str = Form(""), candidate_name: str = Form(""), use_llm: str = Form(""),
                     interviewer_speaker: str = Form(""), candidate_speaker: str = Form(""),
                     channels: str = Form(""), rttm: UploadFile | None = None, skip_check: str = Form(""),
                     csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        from evaluator.formats import AUDIO_EXTENSIONS

        name = safe_filename(file.filename or "")
        ext = name.rpartition(".")[2] if "." in name else ""
        if ext not in AUDIO_EXTENSIONS and ext not in TRANSCRIPT_EXTENSIONS:
            return back(request, "/", f"{file.filename!r}: not a recording or transcript this desk reads "
                        f"(audio: {', '.join(sorted(AUDIO_EXTENSIONS))}; transcripts: .vtt .srt .txt .json)", True)
        if channels not in ("", "interviewer,candidate", "candidate,interviewer"):
            return back(request, "/", f"channels {channels!r}: expected interviewer,candidate or "
                        "candidate,interviewer", True)
        has_rttm = rttm is not None and bool(rttm.filename)
        if has_rttm and not safe_filename(rttm.filename).endswith(".rttm"):
            return back(request, "/", f"{rttm.filename!r}: speaker turns are an .rttm file", True)
        try:
            g = chosen_guide(guide, stage)
        except EvalError as exc:
            return back(request, "/", views.web_message(exc), True)
        with db.write() as s:
            iv = InterviewRow(title=" ".join(title.split())[:300] or candidate_name.strip()[:300] or name,
                              candidate=" ".join(candidate_name.split())[:300], guide=g.id,
                              stage_id=stage or None, created_by=me)
            s.add(iv)
            s.flush()
            interview_id = iv.id
        folder = cfg.workspace / "recordings" / str(interview_id)
        saved = await save_upload(file, folder, name)
        turns = await save_upload(rttm, folder, safe_filename(rttm.filename)) if has_rttm else None
        for got in (saved, turns):
            if isinstance(got, str):
                return back(request, "/", got, True)
        rec_ids = []
        with db.write() as s:
            for (path, size, sha), kind, original in ((saved, "audio" if ext in AUDIO_EXTENSIONS else "transcript",
                                                       file.filename), *(((turns, "rttm", rttm.filename),)
                                                                         if turns else ())):
                rec = RecordingRow(interview_id=interview_id, kind=kind, path=str(path.relative_to(cfg.workspace)),
                                   original_name=(original or "")[:300], size_bytes=size, sha256=sha)
                s.add(rec)
                s.flush()
                rec_ids.append(rec.id)
        runner.submit(interview_id, {"recording_id": rec_ids[0], "rttm_recording_id": rec_ids[1] if turns else None,
                                     "channels": channels, "guide": g.id, "guide_version": g.version,
                                     "stage": stage, "use_llm": bool(use_llm), "skip_check": bool(skip_check),
                                     "interviewer": interviewer_speaker.strip(),
                                     "candidate": candidate_speaker.strip()}, me)
        return back(request, f"/interviews/{interview_id}", "uploaded; the job has started")

    @app.get("/interviews/{interview_id}", response_class=HTMLResponse)
    def interview(request: Request, interview_id: int):
        me = reviewer_of(request)
        with db.read() as s:
            iv = found(s, InterviewRow, interview_id, "interview")
            recs = list(iv.recordings)
            drafts = list(iv.drafts)
            jobs = [views.job_dict(j) for j in iv.jobs]
            states = {d.id: s.execute(select(ReviewStateRow.reviewer).where(ReviewStateRow.draft_id == d.id))
                      .scalars().all() for d in drafts}
            last_params = json.loads(iv.jobs[-1].params) if iv.jobs else {}
        finals = {d.id: views.latest_revisions(db, d.id) for d in drafts}
        # drafting again offers the guide version the interview was drafted with, even when a newer one exists
        if drafts:
            src = json.loads(drafts[-1].body).get("source", {})
            gid, version = src.get("guide_id", iv.guide), src.get("guide_version")
        else:
            gid, version = last_params.get("guide", iv.guide), last_params.get("guide_version")
        choices = guide_choices()
        entry = guides.find(gid, version)
        missing = None
        if entry is None:
            missing = views.web_message(guides.missing(gid, version))
        elif entry.ref not in {c["ref"] for c in choices}:
            choices = [{**entry.choice(), "as_drafted": True}] + choices
        return page(request, "interview.html", me=me, iv=iv, recs=recs, drafts=drafts, jobs=jobs, states=states,
                    finals=finals, guides=choices, chosen=entry.ref if entry else None, guide_missing=missing,
                    guide_version=version, llm=llm_status())

    @app.post("/interviews/{interview_id}/evaluate")
    def reevaluate(request: Request, interview_id: int, guide: str = Form(...), stage: str = Form(""),
                   use_llm: str = Form(""), skip_check: str = Form(""), csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        with db.read() as s:
            iv = s.get(InterviewRow, interview_id)
            if iv is None or not iv.recordings:
                raise Refused(404, f"interview {interview_id} has no recording or transcript")
            main = [r for r in iv.recordings if r.kind != "rttm"]
            turns = [r for r in iv.recordings if r.kind == "rttm"]
            if not main:
                raise Refused(404, f"interview {interview_id} has no recording or transcript")
            last = json.loads(iv.jobs[-1].params) if iv.jobs else {}
        try:
            g = chosen_guide(guide, stage)
        except EvalError as exc:
            return back(request, f"/interviews/{interview_id}", views.web_message(exc), True)
        runner.submit(interview_id, {"recording_id": main[-1].id, "rttm_recording_id": turns[-1].id if turns else None,
                                     "channels": last.get("channels", ""), "interviewer": last.get("interviewer", ""),
                                     "candidate": last.get("candidate", ""), "guide": g.id,
                                     "guide_version": g.version, "stage": stage, "use_llm": bool(use_llm),
                                     "skip_check": bool(skip_check)}, me)
        return back(request, f"/interviews/{interview_id}", "the job has started")

    @app.get("/api/jobs/{job_id}")
    def job_status(request: Request, job_id: int):
        reviewer_of(request)
        with db.read() as s:
            return views.job_dict(found(s, JobRow, job_id, "job"))

    @app.get("/recordings/{rec_id}")
    def recording(request: Request, rec_id: int):
        reviewer_of(request)
        with db.read() as s:
            path = (cfg.workspace / found(s, RecordingRow, rec_id, "recording").path).resolve()
        if cfg.workspace not in path.parents or not path.is_file():
            raise Refused(404, f"recording {rec_id} is missing from the workspace")
        ext = path.suffix.lower().lstrip(".")
        return FileResponse(path, media_type=AUDIO_MIME.get(ext, "text/plain; charset=utf-8"),
                            headers={"Cache-Control": "private, max-age=3600"})

    # ------------------------------------------------------------ the review page

    def audio_of(interview_id: int) -> RecordingRow | None:
        with db.read() as s:
            return s.execute(select(RecordingRow).where(RecordingRow.interview_id == interview_id,
                                                        RecordingRow.kind == "audio")
                             .order_by(RecordingRow.id.desc())).scalars().first()

    def review_context(draft_id: int, me: str) -> dict:
        row = draft_row(draft_id)
        ref = draft_ref(draft_id)
        card, state, progress = pipeline.review_status(store, ref, me)
        mine = store.find_final(ref, me)
        with db.read() as s:
            iv = s.get(InterviewRow, row.interview_id)
        return {"row": row, "iv": iv, "title": iv.candidate or card.candidate or iv.title or row.name,
                "ref": ref, "card": card, "state": state, "progress": progress,
                "total": len(progress.decided) + len(progress.remaining), "my_final": mine and parse_ref(mine).id}

    def criterion_html(request: Request, ctx: dict, p, error: str | None = None, saved: str | None = None) -> str:
        return env.get_template("_criterion.html").render(
            request=request, csrf=request.session.get("csrf", ""), p=p, card=ctx["card"], row=ctx["row"],
            entry=ctx["state"].criteria.get(p.criterion_id), error=error, saved=saved, final_id=ctx["my_final"])

    @app.get("/drafts/{draft_id}", response_class=HTMLResponse)
    def review_page(request: Request, draft_id: int):
        me = reviewer_of(request)
        ctx = review_context(draft_id, me)
        with db.read() as s:
            others = [n for n in s.execute(select(ReviewStateRow.reviewer)
                                           .where(ReviewStateRow.draft_id == draft_id)).scalars() if n != me]
        card = ctx["card"]
        segs = views.segment_views(card.transcript)
        parts = [criterion_html(request, ctx, p) for p in card.scores]
        from markupsafe import Markup

        return page(request, "review.html", me=me, **ctx, segments=segs, criteria=[Markup(h) for h in parts],
                    audio=audio_of(ctx["row"].interview_id), others=others)

    @app.get("/drafts/{draft_id}/transcript.txt", response_class=PlainTextResponse)
    def transcript_text(request: Request, draft_id: int):
        reviewer_of(request)
        card, _ = store.load_card(draft_ref(draft_id))
        from evaluator.text import fmt_time

        return "\n".join(f"[{fmt_time(s.start_s)}] {s.speaker or '?'} ({s.role.value}): {s.text}"
                         for s in card.transcript.segments) + "\n"

    @app.get("/drafts/{draft_id}/draft.json")
    def draft_json(request: Request, draft_id: int):
        reviewer_of(request)
        row = draft_row(draft_id)
        return PlainTextResponse(row.body, media_type="application/json",
                                 headers={"Content-Disposition": f'attachment; filename="{row.name}.json"'})

    @app.get("/api/drafts/{draft_id}/version")
    def draft_version(request: Request, draft_id: int):
        reviewer_of(request)
        return {"version": draft_row(draft_id).version}

    @app.get("/drafts/{draft_id}/criteria/{criterion_id}", response_class=HTMLResponse)
    def criterion_fragment(request: Request, draft_id: int, criterion_id: str):
        me = reviewer_of(request)
        ctx = review_context(draft_id, me)
        p = rv.resolve_criterion(ctx["card"], criterion_id)
        return HTMLResponse(criterion_html(request, ctx, p))

    @app.post("/drafts/{draft_id}/decide")
    def decide(request: Request, draft_id: int, criterion: str = Form(...), action: str = Form(...),
               score: str = Form(""), reason: str = Form(""), text: str = Form(""), csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        ref = draft_ref(draft_id)
        if action not in ("confirm", "override", "add_quote", "note"):
            raise Refused(400, f"unknown action {action!r}")
        change = rv.Change(action=action, ref=criterion, score=score or None,
                           text=reason if action == "override" else text)
        error = saved = None
        try:
            progress = pipeline.decide(store, ref, me, [change])
            saved = {"confirm": "confirmed", "override": "score set", "add_quote": "quote added",
                     "note": "note added"}[action] + " and saved"
        except EvalError as exc:
            error, progress = views.web_message(exc), None
        if not wants_fragment(request):
            return back(request, f"/drafts/{draft_id}#c-{quote(criterion)}", error or saved, bool(error))
        ctx = review_context(draft_id, me)
        try:
            p = rv.resolve_criterion(ctx["card"], criterion)
        except EvalError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=422)
        progress = progress or ctx["progress"]
        return HTMLResponse(criterion_html(request, ctx, p, error=error, saved=saved),
                            status_code=422 if error else 200,
                            headers={"X-Decided": str(len(progress.decided)),
                                     "X-Total": str(len(progress.decided) + len(progress.remaining)),
                                     "X-Draft-Version": str(draft_row(draft_id).version)})

    @app.get("/drafts/{draft_id}/summary", response_class=HTMLResponse)
    def summary(request: Request, draft_id: int):
        me = reviewer_of(request)
        ctx = review_context(draft_id, me)
        return page(request, "summary.html", me=me, **ctx,
                    contradictions=rv.contradictions(ctx["card"], ctx["state"]),
                    proposals=rv.proposals(ctx["card"]))

    @app.post("/drafts/{draft_id}/finalize")
    def finalize(request: Request, draft_id: int, checked: str = Form(""), csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        ref = draft_ref(draft_id)
        _, state, _ = pipeline.review_status(store, ref, me)
        card, _ = store.load_card(ref)
        if rv.contradictions(card, state) and not checked:
            return back(request, f"/drafts/{draft_id}/summary", "tick the box to say you have read the points "
                        "above before finalising", True)
        try:
            _, where = pipeline.finalize(store, ref, me)
        except EvalError as exc:
            return back(request, f"/drafts/{draft_id}/summary", views.web_message(exc), True)
        return back(request, f"/finals/{parse_ref(where).id}", "finalised: the final scorecard is saved")

    # ------------------------------------------------------------ final scorecards

    def final_context(final_id: int, revision: int | None) -> dict:
        with db.read() as s:
            f = found(s, FinalRow, final_id, "final scorecard")
            revs = list(f.revisions)
            draft = s.get(DraftRow, f.draft_id)
            state_row = s.execute(select(ReviewStateRow).where(ReviewStateRow.draft_id == f.draft_id,
                                                               ReviewStateRow.reviewer == f.reviewer)
                                  ).scalar_one_or_none()
        n = revision or revs[-1].revision
        card, sha = store.load_card(final_ref(final_id, n))
        log = []
        if state_row is not None:
            log = rv.ReviewState.model_validate_json(state_row.body).log
        return {"f": f, "revs": revs, "draft": draft, "card": card, "sha": sha, "revision": n,
                "latest": revs[-1].revision, "log": log}

    @app.get("/finals/{final_id}", response_class=HTMLResponse)
    def final_page(request: Request, final_id: int, rev: int | None = None):
        me = reviewer_of(request)
        ctx = final_context(final_id, rev)
        return page(request, "final.html", me=me, **ctx)

    @app.post("/finals/{final_id}/revise")
    def revise(request: Request, final_id: int, criterion: str = Form(...), score: str = Form(""),
               reason: str = Form(""), note: str = Form(""), csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        changes = []
        if score:
            changes.append(rv.Change(action="override", ref=criterion, score=score, text=reason))
        if note.strip():
            changes.append(rv.Change(action="note", ref=criterion, text=note))
        try:
            new, where, notes = pipeline.revise_final(store, final_ref(final_id), me, changes)
        except EvalError as exc:
            return back(request, f"/finals/{final_id}#revise", views.web_message(exc), True)
        msg = f"revision {new.revision} saved" + (f" ({'; '.join(notes)})" if notes else "")
        return back(request, f"/finals/{final_id}?rev={new.revision}", msg)

    @app.get("/finals/{final_id}/report.html", response_class=HTMLResponse)
    def final_report(request: Request, final_id: int, rev: int | None = None):
        reviewer_of(request)
        from evaluator.render import render_scorecard_html

        ctx = final_context(final_id, rev)
        return HTMLResponse(render_scorecard_html(ctx["card"]), headers={"Content-Security-Policy": REPORT_CSP})

    @app.get("/finals/{final_id}/final.json")
    def final_json(request: Request, final_id: int, rev: int | None = None):
        reviewer_of(request)
        ctx = final_context(final_id, rev)
        body = next(r.body for r in ctx["revs"] if r.revision == ctx["revision"])
        from evaluator.store import revision_path

        name = ctx["f"].file_name if ctx["revision"] == 1 else revision_path(ctx["f"].file_name, ctx["revision"]).name
        return PlainTextResponse(body, media_type="application/json",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ------------------------------------------------------------ candidates and the recruiter's table

    @app.get("/recruiter", response_class=HTMLResponse)
    def recruiter(request: Request):
        me = reviewer_of(request)
        items = views.interview_summaries(db)
        found_guides: dict[tuple, object] = {}
        labels = {}
        for it in items:  # the guide each interview was drafted with, by its role's name when the desk has it
            key = (it.guide, it.guide_version or None)
            if key not in found_guides:
                found_guides[key] = guides.find(*key)
            e, version = found_guides[key], f" v{it.guide_version}" if it.guide_version else ""
            labels[it.id] = f"{e.guide.role} ({it.guide}{version})" if e else f"{it.guide}{version} (not in this desk)"
        return page(request, "recruiter.html", me=me, items=items, rows=views.recruiter_rows(items),
                    guide_labels=labels)

    @app.get("/candidates/{key}", response_class=HTMLResponse)
    def candidate(request: Request, key: str, view: str = "debrief"):
        me = reviewer_of(request)
        from markupsafe import Markup

        items = [i for i in views.interview_summaries(db)
                 if i.draft_id and views.candidate_key(i.candidate or i.title) == key]
        if not items:
            raise Refused(404, "no drafts for this candidate yet")
        if view not in ("debrief", "coverage", "coaching"):
            raise Refused(404, f"no view {view!r}: debrief, coverage or coaching")
        sections, problems = [], []
        cards = []
        for it in items:
            draft_card, _ = store.load_card(draft_ref(it.draft_id))
            if it.finals:
                f = it.finals[0]
                card, _ = store.load_card(final_ref(f["final_id"], f["revision"]))
            else:
                card = draft_card
            cards.append((views.label_path(it.draft_name), card))
            if view == "debrief":
                continue
            try:
                sections.append(Markup(_interview_report(view, draft_card, guides)))
            except EvalError as exc:
                problems.append(f"{it.title}: {views.web_message(exc)}")
        if view == "debrief":
            from evaluator.debrief import build_debrief
            from evaluator.render import markdown_to_html, render_debrief_markdown

            src = cards[0][1].source
            try:
                guide = guides.resolve(src.guide_id, src.guide_version)
            except EvalError as exc:
                guide = None
                problems.append(f"{views.web_message(exc)} (the debrief has no agenda or essential competencies)")
            try:
                packet = build_debrief(cards, guide=guide)
                sections.append(Markup(views.report_body(markdown_to_html(render_debrief_markdown(packet),
                                                                          title="Debrief"))))
            except EvalError as exc:
                problems.append(exc.one_line())
        name = items[0].candidate or items[0].title
        return page(request, "candidate.html", me=me, key=key, name=name, view=view, sections=sections,
                    problems=problems, items=items)

    # ------------------------------------------------------------ interview guides

    def guide_entry(guide_id: str, version: str | None):
        entry = guides.find(guide_id, version)
        if entry is None:
            raise Refused(404, views.web_message(guides.missing(guide_id, version)))
        return entry

    @app.get("/guides", response_class=HTMLResponse)
    def guides_page(request: Request):
        me = reviewer_of(request)
        entries = guides.catalogue()
        offered = {c["ref"] for c in guides.choices()}
        return page(request, "guides.html", me=me, entries=entries, offered=offered)

    @app.post("/guides")
    async def guide_upload(request: Request, file: UploadFile, guide_id: str = Form(""), version: str = Form(""),
                           csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        from evaluator.web.guides import MAX_GUIDE_BYTES

        name = safe_filename(file.filename or "", default="guide")
        data = await file.read(MAX_GUIDE_BYTES + 1)
        try:
            added = guides.add_upload(data, name, me, guide_id=guide_id, version=version)
        except EvalError as exc:
            return back(request, "/guides", views.web_message(exc), True)
        g = added.entry.guide
        return back(request, f"/guides/{quote(g.id, safe='')}/{quote(g.version, safe='')}", added.message)

    @app.get("/guides/{guide_id}")
    def guide_newest(request: Request, guide_id: str):
        reviewer_of(request)
        e = guide_entry(guide_id, None)
        return RedirectResponse(f"/guides/{quote(e.guide.id, safe='')}/{quote(e.guide.version, safe='')}",
                                status_code=303)

    @app.get("/guides/{guide_id}/{version}", response_class=HTMLResponse)
    def guide_page(request: Request, guide_id: str, version: str):
        me = reviewer_of(request)
        from markupsafe import Markup

        from evaluator.render import render

        e = guide_entry(guide_id, version)
        others = [o for o in guides.versions(guide_id) if o.ref != e.ref]
        newest = next((c["ref"] for c in guides.choices() if c["name"] == guide_id), None)
        return page(request, "guide.html", me=me, e=e, g=e.guide, others=others, newest=newest == e.ref,
                    body=Markup(views.report_body(render(e.guide, "html"))))

    @app.get("/guides/{guide_id}/{version}/guide.yaml")
    def guide_yaml(request: Request, guide_id: str, version: str):
        reviewer_of(request)
        e = guide_entry(guide_id, version)
        return PlainTextResponse(e.text, media_type="application/yaml; charset=utf-8",
                                 headers={"Content-Disposition":
                                          f'attachment; filename="{e.guide.id}-v{e.guide.version}.yaml"'})

    # ------------------------------------------------------------ import and export

    @app.post("/export")
    def export(request: Request, csrf_token: str = Form("")):
        reviewer_of(request)
        check_csrf(request, csrf_token)
        from evaluator.scorecard import utc_now
        from evaluator.web.transfer import export_dir

        out = cfg.workspace / "exports" / utc_now().replace(":", "").replace("+0000", "Z")
        try:
            rep = export_dir(db, out)
        except EvalError as exc:
            return back(request, "/", exc.one_line(), True)
        n = len(rep.drafts) + len(rep.review_states) + len(rep.finals)
        return back(request, "/", f"exported {n} files and {len(rep.guides)} team guides to {out}")

    @app.post("/import")
    async def import_upload(request: Request, files: list[UploadFile], csrf_token: str = Form("")):
        me = reviewer_of(request)
        check_csrf(request, csrf_token)
        from evaluator.web.transfer import import_files

        with tempfile.TemporaryDirectory(dir=cfg.workspace) as tmp:
            for up in files:
                name = safe_filename(up.filename or "", default="scorecard")
                if not name.endswith((".json", ".yaml", ".yml")):
                    return back(request, "/", f"{up.filename!r}: only scorecard JSON files and guide YAML files "
                                "are imported", True)
                (Path(tmp) / name).write_bytes(await up.read())
            try:
                rep = import_files(db, [tmp], created_by=me)
            except EvalError as exc:
                return back(request, "/", exc.one_line(), True)
        return back(request, "/", f"imported {len(rep.guides)} guides, {len(rep.drafts)} drafts, "
                    f"{len(rep.review_states)} reviews, {len(rep.finals)} finals ({len(rep.unchanged)} already here)")

    app.add_middleware(SessionMiddleware, secret_key=workspace_secret(cfg.workspace), session_cookie="ie_session",
                       same_site="strict", https_only=False, max_age=14 * 24 * 3600)
    # outermost: the host check, the body limit and the security headers apply to every response
    app.add_middleware(ASGIGuard, allowed_hosts=cfg.allowed_hosts, max_body_bytes=cfg.max_upload_mb * 2**20)
    return app


def _interview_report(view: str, draft, guides: Guides) -> str:
    """The coverage audit or coaching report of one draft's interview, inside the desk's layout, with the
    guide version the draft was made with."""
    from evaluator.render import markdown_to_html

    g = guides.resolve(draft.source.guide_id, draft.source.guide_version)
    st = g.stage(draft.source.stage_id)
    t = draft.transcript
    if view == "coverage":
        from evaluator.coverage import interview_coverage
        from evaluator.render import render_coverage_markdown

        md = render_coverage_markdown(interview_coverage(t, g, st))
    else:
        from evaluator.coach import coach
        from evaluator.render import render_coach_markdown

        md = render_coach_markdown(coach(t, st, guide=g))
    return views.report_body(markdown_to_html(md, title=view))


def _default_url(workspace: Path) -> str:
    from evaluator.web.db import default_url

    return default_url(workspace)


def asgi_app(cfg: DeskConfig):
    """What `serve` runs."""
    return create_app(cfg)


def check_bind(host: str, auth_mode: str) -> None:
    """Refuse to listen beyond this machine without `--auth`: the desk holds interview recordings."""
    from evaluator.web.security import is_loopback

    if not is_loopback(host) and auth_mode == "none":
        raise UsageError(f"--host {host}: refusing to serve interview recordings to the network without --auth",
                         hint="add --auth token (a shared token) or --auth basic --users FILE, or keep the "
                              "default --host 127.0.0.1")


__all__ = ["DeskConfig", "asgi_app", "check_bind", "create_app"]
