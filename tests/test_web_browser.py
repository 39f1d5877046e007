"""The review desk end to end in a real headless Chromium (Debian's chromium + chromium-driver, driven by
selenium): a recording uploaded, transcribed and drafted in the background, a quote played from its time,
an override with a reason, the summary's contradiction, finalise, export; a keyboard-only review; and a team's
own guide added on the Guides page and used for an interview.

Skipped, with the reason shown, when Chromium or selenium is absent (`.ci/run` installs them)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from web_browser import ServerThread, sign_in, start_chromium, stop_chromium, why_no_browser

_WHY = why_no_browser()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=f"browser tests skipped: {_WHY}")

REPO = Path(__file__).resolve().parent.parent
OGG = REPO / "samples" / "audio" / "cam-screening.ogg"


@pytest.fixture(scope="module")
def browser():
    drv = start_chromium(1280, 900)
    yield drv
    stop_chromium(drv)


def _wait(drv, cond, timeout_s: float = 60.0, what: str = "the page"):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # an element read while the next page replaces this one goes stale: look again at the next poll
    return WebDriverWait(drv, timeout_s, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(cond, message=f"waited for {what}")


def _css(drv, sel):
    from selenium.webdriver.common.by import By

    return drv.find_element(By.CSS_SELECTOR, sel)


def _all(drv, sel):
    from selenium.webdriver.common.by import By

    return drv.find_elements(By.CSS_SELECTOR, sel)


def _decided(drv, cid: str):
    # read in one script: the section is replaced by the server's fragment when a decision is saved
    return lambda d: d.execute_script("var s = document.getElementById(arguments[0]);"
                                      "return !!s && s.classList.contains('decided');", f"c-{cid}")


def _foreign_requests(drv, base: str) -> list[str]:
    names = drv.execute_script("return performance.getEntries().map(function (e) { return e.name; })")
    return [n for n in names if n.startswith(("http:", "https:", "ws:", "wss:")) and not n.startswith(base)]


def test_from_a_recording_to_a_final_scorecard_in_the_browser(browser, llm_server, tmp_path, monkeypatch):
    from selenium.webdriver.support.ui import Select

    from evaluator.store import load_scorecard
    from evaluator.web.app import DeskConfig
    from test_evaluate import honest

    llm_server.handler = honest
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    ws = tmp_path / "ws"
    with ServerThread(DeskConfig(workspace=ws)) as server:
        d = browser
        sign_in(d, server.url, "Dana Whitfield")
        _css(d, "#file").send_keys(str(OGG))
        _css(d, "#title").send_keys("Marcus Lee — screening (recorded)")
        _css(d, "#candidate_name").send_keys("Marcus Lee")
        Select(_css(d, "#stage")).select_by_value("screening")
        assert _css(d, "#use_llm").is_selected()
        _css(d, "#upload-form button[type=submit]").click()
        # the job transcribes (bundled Whisper model) and drafts (the stub LLM); the page follows its progress
        link = _wait(d, lambda d: (_all(d, "a.open-draft") or [None])[0], 240, "the draft to be ready")
        link.click()
        _wait(d, lambda d: _all(d, ".criterion"), 20, "the review page")
        assert _foreign_requests(d, server.url) == []

        # a quote plays the recording from its time and brings its transcript line into view
        quote = _css(d, "button.quote.play")
        start = float(quote.get_attribute("data-start"))
        seg = quote.get_attribute("data-seg")
        quote.click()
        now = d.execute_script("return document.getElementById('audio').currentTime")
        assert abs(now - start) < 0.5, (now, start)
        assert d.execute_script("return document.activeElement.id") == f"seg-{seg}"
        assert "hit" in _css(d, f"#seg-{seg}").get_attribute("class")

        # override one criterion with a reason; confirm the others one by one (there is no accept-all)
        ids = [s.get_attribute("data-criterion") for s in _all(d, ".criterion")]
        assert not _all(d, "button.accept-all")
        overall = ids[-1]
        Select(_css(d, f"#score-{overall}")).select_by_value("1")
        _css(d, f"#reason-{overall}").send_keys("not convinced about the retention story")
        _css(d, f"#c-{overall} form.override button[type=submit]").click()
        _wait(d, _decided(d, overall), 10, "the override to be saved")
        for cid in ids[:-1]:
            _css(d, f"#c-{cid} .confirm-btn").click()
            _wait(d, _decided(d, cid), 10, f"{cid} to be confirmed")
        assert _css(d, "#decided").text == str(len(ids))

        # the summary points out that a 'no hire' contradicts criteria that all scored 3
        _css(d, "#to-summary").click()
        box = _wait(d, lambda d: _css(d, "#contradictions"), 10, "the summary")
        assert "overall recommendation" in box.text
        _css(d, "#checked").click()
        _css(d, "#finalize").click()
        _wait(d, lambda d: "Final scorecard" in d.title, 10, "the final scorecard")
        assert "not convinced about the retention story" in _css(d, "#final-table").text

        d.get(server.url + "/")
        _css(d, "form[action='/export'] button").click()
        _wait(d, lambda d: "exported" in _css(d, ".flash").text, 10, "the export")
    out = next((ws / "exports").iterdir())
    final = load_scorecard(next(out.glob("*.final.json")))
    by = {c.criterion_id: c for c in final.criteria}
    assert final.reviewer == "Dana Whitfield" and final.source.transcription_model
    assert by[overall].decision.action == "override" and by[overall].final_score == 1
    assert by[overall].decision.reason == "not convinced about the retention story"
    assert all(by[c].decision.action == "confirm" for c in ids[:-1])
    assert any("finalised despite" in w for w in final.warnings)


def test_a_draft_without_an_llm_reviewed_with_the_keyboard_alone(browser, tmp_path, monkeypatch):
    """No LLM configured: the draft has passages and no scores, so every criterion gets a score and a reason,
    here with keys only (j/k/p/c/o, Tab, Enter, s), to a final scorecard."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from evaluator.web.app import DeskConfig

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    with ServerThread(DeskConfig(workspace=tmp_path / "ws")) as server:
        d = browser
        sign_in(d, server.url, "Kim Keyboard")
        assert not _css(d, "#use_llm").is_enabled()  # nothing to ask: the page says so
        _css(d, "#file").send_keys(str(REPO / "samples" / "cam-screening-strong.vtt"))
        Select(_css(d, "#stage")).select_by_value("screening")
        _css(d, "#upload-form button[type=submit]").click()
        _wait(d, lambda d: (_all(d, "a.open-draft") or [None])[0], 60, "the draft").click()
        _wait(d, lambda d: _all(d, ".criterion"), 20, "the review page")
        assert not _all(d, ".confirm-btn")

        def press(*k):
            ActionChains(d).send_keys(*k).perform()
            time.sleep(0.05)

        def active() -> str:
            return d.execute_script("return document.activeElement.id")

        ids = [s.get_attribute("data-criterion") for s in _all(d, ".criterion")]
        press("j")  # to the first criterion
        assert active() == f"h-{ids[0]}"
        press("p")  # its first relevant passage: the transcript line gets the focus
        assert active().startswith("seg-")
        press("j")
        press("k")
        press("c")  # nothing to confirm: the score field instead
        assert active() == f"score-{ids[0]}"
        press(Keys.ESCAPE)
        for n, cid in enumerate(ids):
            press("o")
            assert active() == f"score-{cid}"
            press("2")
            press(Keys.TAB)
            press(f"scored from the passages, item {n}")
            press(Keys.TAB, Keys.ENTER)
            _wait(d, _decided(d, cid), 10, f"{cid} to be saved")
            if cid != ids[-1]:
                assert active() == f"h-{ids[n + 1]}"  # on to the next undecided criterion
        press("s")
        _wait(d, lambda d: "Summary" in d.title, 10, "the summary")
        finalize = _css(d, "#finalize")
        for _ in range(60):  # Tab through the page to the finalise button
            if d.switch_to.active_element == finalize:
                break
            press(Keys.TAB)
        assert d.switch_to.active_element == finalize
        press(Keys.ENTER)
        _wait(d, lambda d: "Final scorecard" in d.title, 10, "the final scorecard")
        text = _css(d, "#final-table").text
        assert text.count("scored by Kim Keyboard") == len(ids) and "scored from the passages, item 0" in text


def test_a_team_guide_added_on_the_guides_page_drafts_an_interview(browser, tmp_path, monkeypatch):
    """A team's own guide: a broken file is refused with its line, the good one is added on the Guides page,
    offered on the upload form (its stages follow the choice) and an interview is drafted with it."""
    from selenium.webdriver.support.ui import Select

    from evaluator.web.app import DeskConfig

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    cam = (REPO / "rubrics" / "customer-account-manager.yaml").read_text(encoding="utf-8")
    guide = tmp_path / "acme-account-manager.yaml"
    guide.write_text(cam.replace("id: customer-account-manager", "id: acme-account-manager", 1)
                     .replace("role: Customer Account Manager", "role: Acme Account Manager", 1), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(cam.replace("role: Customer Account Manager", "role: [unclosed", 1), encoding="utf-8")
    with ServerThread(DeskConfig(workspace=tmp_path / "ws")) as server:
        d = browser
        sign_in(d, server.url, "Gus Guide")
        _css(d, "nav a[href='/guides']").click()
        _wait(d, lambda d: _all(d, "#guide-form"), 10, "the Guides page")
        _css(d, "#guide-file").send_keys(str(broken))
        _css(d, "#guide-form button[type=submit]").click()
        error = _wait(d, lambda d: (_all(d, ".flash.error") or [None])[0], 10, "the refusal")
        assert error.text.startswith("broken.yaml, line ") and "not valid YAML" in error.text
        _css(d, "#guide-file").send_keys(str(guide))
        _css(d, "#guide-form button[type=submit]").click()
        # while the next page loads there may be no message yet: look again at the next poll
        _wait(d, lambda d: any("added Acme Account Manager" in e.text for e in _all(d, ".flash")), 10,
              "the guide to be added")
        assert "Screening Interview" in _css(d, "article.report").text  # the guide, readable
        d.get(server.url + "/guides")
        assert "Gus Guide" in _css(d, "tr[data-guide='acme-account-manager@1']").text

        d.get(server.url + "/")
        Select(_css(d, "#guide")).select_by_value("acme-account-manager@1")
        Select(_css(d, "#stage")).select_by_value("screening")
        _css(d, "#file").send_keys(str(REPO / "samples" / "cam-screening-strong.vtt"))
        _css(d, "#candidate_name").send_keys("Marcus Lee")
        _css(d, "#upload-form button[type=submit]").click()
        _wait(d, lambda d: (_all(d, "a.open-draft") or [None])[0], 60, "the draft").click()
        _wait(d, lambda d: _all(d, ".criterion"), 20, "the review page")
        assert "Acme Account Manager" in _css(d, "h1").text
        assert _css(d, "#draft-guide").text == "acme-account-manager version 1"
        assert _foreign_requests(d, server.url) == []
