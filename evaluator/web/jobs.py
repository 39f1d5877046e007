"""Background jobs of the review desk: transcribe (offline, the bundled Whisper model) and draft a scorecard
(the configured LLM, or a no-LLM draft of passages a reviewer scores), in a worker thread of the server,
with progress written to the `jobs` table for the page to poll. No broker: one thread, one job at a time
(transcription already uses every core)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from evaluator.errors import EvalError
from evaluator.scorecard import utc_now
from evaluator.web.db import Database, InterviewRow, JobRow, RecordingRow
from evaluator.web.store import DbStore, parse_ref
from evaluator.web.views import web_message

# Progress shares of the two steps of an audio job (transcription dominates).
_TRANSCRIBE_SHARE = 0.7
_UPDATE_EVERY_S = 0.5


class JobRunner:
    """Runs interview jobs one after another in a worker thread; every state change is saved at once."""

    def __init__(self, db: Database, workspace: Path, *, llm_options: dict | None = None, start: bool = True):
        self.db = db
        self.workspace = workspace
        self.llm_options = dict(llm_options or {})
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interview-eval-job") if start else None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()

    def recover(self) -> None:
        """After a restart: a job that was running is marked failed (its work is lost); queued ones run."""
        with self.db.write() as s:
            queued = []
            for job in s.execute(select(JobRow).where(JobRow.status.in_(("queued", "running")))).scalars():
                if job.status == "running":
                    job.status, job.error = "failed", "interrupted: the server stopped while it ran; run it again"
                    job.finished_at = utc_now()
                else:
                    queued.append(job.id)
        for job_id in queued:
            self._enqueue(job_id)

    def submit(self, interview_id: int, params: dict, created_by: str) -> int:
        """Queue a job for an interview: params are recording_id, guide (its id), guide_version, stage, use_llm,
        and optionally rttm_recording_id, channels, interviewer and candidate (speaker names)."""
        with self.db.write() as s:
            job = JobRow(interview_id=interview_id, kind="evaluate", status="queued", params=json.dumps(params),
                         message="waiting for the worker", created_by=created_by, created_at=utc_now())
            s.add(job)
            s.flush()
            job_id = job.id
        self._enqueue(job_id)
        return job_id

    def _enqueue(self, job_id: int) -> None:
        if self._pool is None:
            return
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._pool.submit(self._run_counted, job_id)

    def _run_counted(self, job_id: int) -> None:
        try:
            self.run(job_id)
        finally:
            with self._lock:
                self._pending -= 1
                if not self._pending:
                    self._idle.set()

    def wait_idle(self, timeout_s: float = 120.0) -> bool:
        """Wait until no job is queued or running (tests, shutdown)."""
        return self._idle.wait(timeout_s)

    def shutdown(self) -> None:
        """Stop taking jobs; the one running finishes."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _update(self, job_id: int, **values) -> None:
        with self.db.write() as s:
            job = s.get(JobRow, job_id)
            for k, v in values.items():
                setattr(job, k, v)

    def run(self, job_id: int) -> None:
        """Transcribe (if the file is audio) and draft the scorecard of one job; its outcome goes to its row."""
        try:
            self._update(job_id, status="running", started_at=utc_now(), progress=0.02, message="reading")
            self._run(job_id)
        except EvalError as exc:
            self._update(job_id, status="failed", finished_at=utc_now(), error=web_message(exc))
        except Exception as exc:  # a bug: the job says so instead of the thread dying silently
            self._update(job_id, status="failed", finished_at=utc_now(),
                         error=f"internal error: {type(exc).__name__}: {exc} (please report it)")

    def _run(self, job_id: int) -> None:
        from evaluator import pipeline
        from evaluator.formats import is_audio_path
        from evaluator.text import slugify
        from evaluator.web.guides import Guides

        with self.db.read() as s:
            job = s.get(JobRow, job_id)
            params = json.loads(job.params)
            interview_id = job.interview_id
            rec = s.get(RecordingRow, params["recording_id"])
            path = self.workspace / rec.path
            turns = s.get(RecordingRow, params["rttm_recording_id"]) if params.get("rttm_recording_id") else None
            rttm = self.workspace / turns.path if turns else None
            title = s.get(InterviewRow, interview_id).title
        # the version chosen when the job was queued (a job queued before guides had versions: the newest)
        guide = Guides(self.db).resolve(params["guide"], params.get("guide_version"))
        audio = is_audio_path(path)
        last = [0.0]

        def on_audio(done_s: float, total_s: float) -> None:
            now = time.monotonic()
            if now - last[0] >= _UPDATE_EVERY_S or done_s >= total_s:
                last[0] = now
                share = done_s / total_s if total_s else 0.0
                self._update(job_id, progress=round(0.02 + _TRANSCRIBE_SHARE * share, 3),
                             message=f"transcribing: {done_s:.0f} of {total_s:.0f} s of audio")

        if audio:
            self._update(job_id, message="loading the Whisper model")
        iv = pipeline.load_interview(path, guide, params.get("stage") or None,
                                     interviewer=[params["interviewer"]] if params.get("interviewer") else None,
                                     candidate=[params["candidate"]] if params.get("candidate") else None,
                                     channels=params.get("channels") or None, rttm=rttm,
                                     progress=on_audio if audio else None, check=not params.get("skip_check"))
        base = _TRANSCRIBE_SHARE if audio else 0.1
        llm = pipeline.llm_choice(enabled=bool(params.get("use_llm", True)), **self.llm_options)
        total = max(1, len(iv.stage.scorecard))
        done = [0]
        self._update(job_id, progress=base + 0.02, message=f"drafting the {iv.stage.name} scorecard" +
                     (f" with {llm.info.get('model')}" if llm.client else " (no LLM: passages for a reviewer)"))

        def on_criterion(*_args) -> None:
            done[0] += 1
            self._update(job_id, progress=round(base + (0.98 - base) * min(done[0], total) / total, 3),
                         message=f"scored {min(done[0], total)} of {total} criteria")

        draft = pipeline.evaluate_interview(iv, guide, llm=llm, progress=on_criterion)
        failed = pipeline.failed_criteria(draft)
        ref = DbStore(self.db).add_draft(interview_id, f"{slugify(title or 'interview', 40) or 'interview'}-"
                                                       f"{interview_id}", draft.model_dump_json(indent=2) + "\n")
        with self.db.write() as s:
            row = s.get(InterviewRow, interview_id)
            row.stage_id = iv.stage.id
            row.guide = guide.id  # drafting again may have used another guide
            if not row.candidate and draft.candidate:
                row.candidate = draft.candidate
            if not row.interviewers and draft.interviewers:
                row.interviewers = ", ".join(draft.interviewers)
            job = s.get(JobRow, job_id)
            job.status, job.progress, job.finished_at = "done", 1.0, utc_now()
            job.draft_id = parse_ref(ref).id
            job.message = (f"draft ready; {len(failed)} of {total} criteria could not be scored (the LLM call "
                           "failed): run it again to fill them in" if failed else "draft ready")
