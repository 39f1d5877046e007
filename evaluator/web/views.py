"""View-only logic of the review desk: what a page shows, assembled from the stored scorecards. No review
rule lives here (those are `evaluator.review` and `evaluator.pipeline`); this only reads and arranges."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from evaluator.text import fmt_time, normalize
from evaluator.web.db import Database, DraftRow, FinalRow, InterviewRow, JobRow, ReviewStateRow, RevisionRow


# Each remedy in the page's words: the forms' fields where the CLI's hint names options.
_PAGE_REMEDIES = {
    "choose_stage": "choose it under Stage and draft it again",
    "confirm_interview": ("if it is an interview, draft it again with \u201cit is an interview\u201d ticked (and the "
                          "speakers and the stage named)"),
    "add_guide": "add the guide on the Guides page",
    "import_text_guide": "a guide in the published text format is uploaded as a .txt file",
}
_STAGE_CHOICES = "; stages by match: "
# A hint in command-line words with no remedy to say it otherwise: an option, or a command to run.
_COMMAND = r"`(?:interview-eval|review|evaluate|transcribe|guides)\b"
_CLI_WORDS = re.compile(rf"--\w|{_COMMAND}|\breview \S")
_CLI_ASIDE = re.compile(rf"\s*\([^()]*{_COMMAND}[^()]*\)")


def web_message(exc) -> str:
    """An EvalError for a page: the message, and its fix in the page's words (the error's remedy); a hint that
    names command-line options or commands and has no remedy is left out."""
    if exc.remedy:
        hint = _PAGE_REMEDIES[exc.remedy] + (_STAGE_CHOICES + ", ".join(exc.choices) if exc.choices else "")
    else:  # "remove it (see `interview-eval guides schema`)": the fix stays, the command goes
        hint = _CLI_ASIDE.sub("", exc.hint or "")
    return exc.message if not hint or _CLI_WORDS.search(hint) else f"{exc.message} \u2014 {hint}"


def report_body(page: str) -> str:
    """The inside of `<body>` of a self-contained report page (`evaluator.render.markdown_to_html`), to show
    it inside the desk's own layout. The renderer escaped every value already."""
    m = re.search(r"<body>(.*)</body>", page, flags=re.S)
    return m.group(1) if m else page


def candidate_key(name: str) -> str:
    """The key one candidate's interviews are grouped by (case, punctuation and spacing ignored)."""
    return normalize(name).replace(" ", "-") or "unknown"


@dataclass
class InterviewSummary:
    """One row of the interviews list and of the recruiter's table."""

    id: int
    title: str
    candidate: str
    interviewers: str
    guide: str
    stage_id: str
    created_at: str
    status: str
    draft_id: int | None = None
    draft_name: str = ""
    asked_pct: float | None = None
    reviews: int = 0
    finals: list[dict] = field(default_factory=list)  # reviewer, final_id, revision, overall, overrides, decided
    job: dict | None = None
    guide_version: str = ""  # the version the latest draft was made with


def _overall_of(final: dict) -> tuple[int | None, str]:
    for c in final.get("criteria", []):
        if c.get("kind") == "overall":
            score = c.get("final_score")
            label = c.get("proposal", {}).get("anchors", {}).get(str(score), "") if score is not None else ""
            return score, label
    return None, ""


def interview_summaries(db: Database) -> list[InterviewSummary]:
    """Every interview with its latest draft, reviews, finals (latest revisions) and latest job, newest first.

    Stored texts are read with plain `json.loads`: they were validated when they were stored, and this is
    only for display."""
    out = []
    with db.read() as s:
        interviews = s.execute(select(InterviewRow).order_by(InterviewRow.id.desc())).scalars().all()
        drafts = {}
        for d in s.execute(select(DraftRow).order_by(DraftRow.id)).scalars():
            drafts[d.interview_id] = d  # the latest one wins
        reviews: dict[int, int] = {}
        for draft_id, in s.execute(select(ReviewStateRow.draft_id)):
            reviews[draft_id] = reviews.get(draft_id, 0) + 1
        finals: dict[int, list] = {}
        for f in s.execute(select(FinalRow).order_by(FinalRow.id)).scalars():
            latest = f.revisions[-1]
            data = json.loads(latest.body)
            overall, label = _overall_of(data)
            crit = data.get("criteria", [])
            finals.setdefault(f.draft_id, []).append({
                "reviewer": f.reviewer, "final_id": f.id, "revision": latest.revision, "overall": overall,
                "overall_label": label, "criteria": len(crit),
                "overrides": sum(1 for c in crit if c.get("decision", {}).get("action") == "override")})
        jobs = {}
        for j in s.execute(select(JobRow).order_by(JobRow.id)).scalars():
            jobs[j.interview_id] = j
        for iv in interviews:
            d = drafts.get(iv.id)
            j = jobs.get(iv.id)
            body = json.loads(d.body) if d else {}
            coverage = body.get("coverage", {})
            fs = finals.get(d.id, []) if d else []
            if j is not None and j.status in ("queued", "running"):
                status = "transcribing" if "transcrib" in j.message else j.status
            elif fs:
                status = "final"
            elif d is not None:
                status = "under review" if reviews.get(d.id) else "draft ready"
            elif j is not None and j.status == "failed":
                status = "failed"
            else:
                status = "no draft"
            out.append(InterviewSummary(
                id=iv.id, title=iv.title, candidate=iv.candidate, interviewers=iv.interviewers, guide=iv.guide,
                stage_id=iv.stage_id or "", created_at=iv.created_at, status=status,
                draft_id=d.id if d else None, draft_name=d.name if d else "",
                asked_pct=coverage.get("asked_pct"), reviews=reviews.get(d.id, 0) if d else 0, finals=fs,
                job=job_dict(j) if j else None, guide_version=body.get("source", {}).get("guide_version", "")))
    return out


def job_dict(j: JobRow) -> dict:
    """What the page polls about a job."""
    return {"id": j.id, "status": j.status, "progress": j.progress, "message": j.message, "error": j.error,
            "draft_url": f"/drafts/{j.draft_id}" if j.draft_id else None, "interview_id": j.interview_id}


def recruiter_rows(items: list[InterviewSummary]) -> list[dict]:
    """Per interviewer and stage: interviews, drafts, finals, mean questions asked, how often reviewers
    overrode the AI, and the overall recommendations given."""
    groups: dict[tuple[str, str], list[InterviewSummary]] = {}
    for it in items:
        for who in [w.strip() for w in (it.interviewers or "").split(",") if w.strip()] or ["(unknown)"]:
            groups.setdefault((who, it.stage_id or "(not detected yet)"), []).append(it)
    rows = []
    for (who, stage), its in sorted(groups.items()):
        asked = [i.asked_pct for i in its if i.asked_pct is not None]
        finals = [f for i in its for f in i.finals]
        crit = sum(f["criteria"] for f in finals)
        rows.append({"interviewer": who, "stage": stage, "interviews": len(its),
                     "drafts": sum(1 for i in its if i.draft_id), "finals": len(finals),
                     "pending": sum(1 for i in its if i.draft_id and not i.finals),
                     "asked_pct": round(sum(asked) / len(asked), 1) if asked else None,
                     "override_pct": round(100.0 * sum(f["overrides"] for f in finals) / crit, 1) if crit else None,
                     "overall": ", ".join(f"{f['overall']} {f['overall_label']}".strip() for f in finals
                                          if f["overall"] is not None)})
    return rows


@dataclass
class SegmentView:
    """A transcript segment as the review page shows it."""

    id: str
    start_s: float | None
    time: str
    speaker: str
    role: str
    text: str


def segment_views(transcript) -> list[SegmentView]:
    """The transcript's segments, with times formatted once."""
    return [SegmentView(s.id, s.start_s, fmt_time(s.start_s), s.speaker or "?", s.role.value, s.text)
            for s in transcript.segments]


def latest_revisions(db: Database, draft_id: int) -> list[tuple[FinalRow, RevisionRow]]:
    """Each final of a draft with its newest revision."""
    with db.read() as s:
        return [(f, f.revisions[-1]) for f in
                s.execute(select(FinalRow).where(FinalRow.draft_id == draft_id).order_by(FinalRow.id)).scalars()]


def label_path(name: str) -> Path:
    """A scorecard's export file name, as the debrief packet names its sources."""
    return Path(f"{name}.json")
