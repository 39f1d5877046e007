"""Screenshots of the review desk at 1280 px for the README: the review page and the summary step.

    .venv/bin/python docs/make_screenshots.py

Uploads the bundled recording `samples/audio/cam-screening.ogg`, transcribes it (bundled Whisper model) and
drafts it against the scripted local LLM of the tests (tests/openai_stub.py), then drives headless Chromium
(Debian's chromium + chromium-driver) through part of a review. Writes docs/review-page.png and
docs/review-summary.png.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    from openai_stub import OpenAIStub
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from test_evaluate import honest
    from web_browser import ServerThread, sign_in, start_chromium, stop_chromium, why_no_browser

    from evaluator.web.app import DeskConfig
    from evaluator.web.db import InterviewRow, RecordingRow

    if why_no_browser():
        sys.exit(f"cannot take screenshots: {why_no_browser()}")
    ws = Path(tempfile.mkdtemp(prefix="ie-shots-"))
    with OpenAIStub() as llm:
        llm.handler = honest
        os.environ.update(OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-local",
                          INTERVIEW_EVAL_CACHE_DIR=str(ws / "cache"))
        with ServerThread(DeskConfig(workspace=ws, run_jobs=False)) as srv:
            db, runner = srv.app.state.db, srv.app.state.runner
            rec_dir = ws / "recordings" / "1"
            rec_dir.mkdir(parents=True)
            shutil.copy(REPO / "samples/audio/cam-screening.ogg", rec_dir / "cam-screening.ogg")
            shutil.copy(REPO / "samples/audio/cam-screening.rttm", rec_dir / "cam-screening.rttm")
            with db.write() as s:
                s.add(InterviewRow(title="Marcus Lee — screening", candidate="Marcus Lee", guide="customer-account-manager",
                                   stage_id="screening", created_by="Dana Whitfield"))
                s.flush()
                s.add(RecordingRow(interview_id=1, kind="audio", path="recordings/1/cam-screening.ogg",
                                   original_name="cam-screening.ogg", size_bytes=(rec_dir / "cam-screening.ogg").stat().st_size))
                s.add(RecordingRow(interview_id=1, kind="rttm", path="recordings/1/cam-screening.rttm",
                                   original_name="cam-screening.rttm"))
            job = runner.submit(1, {"recording_id": 1, "rttm_recording_id": 2, "guide": "customer-account-manager",
                                    "stage": "screening", "use_llm": True}, "Dana Whitfield")
            runner.run(job)
            d = start_chromium(1280, 860)
            try:
                sign_in(d, srv.url, "Dana Whitfield")
                d.get(srv.url + "/drafts/1")
                css = lambda sel: d.find_element(By.CSS_SELECTOR, sel)  # noqa: E731
                ids = [e.get_attribute("data-criterion") for e in d.find_elements(By.CSS_SELECTOR, ".criterion")]
                wait = WebDriverWait(d, 10)
                decided = lambda cid: lambda d: d.execute_script(  # noqa: E731
                    "var s = document.getElementById(arguments[0]); return !!s && s.classList.contains('decided');",
                    f"c-{cid}")
                css(f"#c-{ids[0]} .confirm-btn").click()
                wait.until(decided(ids[0]))
                Select(css(f"#score-{ids[1]}")).select_by_value("4")
                css(f"#reason-{ids[1]}").send_keys("50 calls a day now, and she time-blocks for it")
                css(f"#c-{ids[1]} form.override button[type=submit]").click()
                wait.until(decided(ids[1]))
                css(f"#c-{ids[2]} button.quote.play").click()
                d.execute_script("arguments[0].scrollIntoView({block: 'start'})", css(f"#c-{ids[1]}"))
                d.execute_script("document.getElementById('audio').pause()")
                time.sleep(0.5)
                d.save_screenshot(str(DOCS / "review-page.png"))
                for cid in ids[2:-1]:
                    css(f"#c-{cid} .confirm-btn").click()
                    wait.until(decided(cid))
                Select(css(f"#score-{ids[-1]}")).select_by_value("1")
                css(f"#reason-{ids[-1]}").send_keys("I do not believe the retention numbers")
                css(f"#c-{ids[-1]} form.override button[type=submit]").click()
                wait.until(decided(ids[-1]))
                d.get(srv.url + "/drafts/1/summary")
                d.save_screenshot(str(DOCS / "review-summary.png"))
            finally:
                stop_chromium(d)
    shutil.rmtree(ws, ignore_errors=True)
    print(f"wrote {DOCS / 'review-page.png'} and {DOCS / 'review-summary.png'}")


if __name__ == "__main__":
    main()
