"""Headless Chromium for the review desk's browser tests, benchmark and screenshots (selenium + Debian's
`chromium` and `chromium-driver`; nothing is downloaded). Also a real server in a thread on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) when Debian's chromium and chromium-driver are installed, else None."""
    browser = next((p for p in CHROMIUM_PATHS if Path(p).exists()), None) or shutil.which("chromium")
    driver = next((p for p in DRIVER_PATHS if Path(p).exists()), None) or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if chromium_paths() is None:
        return "no Chromium here: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    return None


def start_chromium(width: int = 1280, height: int = 900):
    """A headless Chromium driven by selenium, with a fresh profile and no background networking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    profile = tempfile.mkdtemp(prefix="ie-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    drv.set_window_size(width, height)
    drv._ie_profile = profile
    return drv


def stop_chromium(drv) -> None:
    """Quit the browser and remove its profile."""
    try:
        drv.quit()
    finally:
        shutil.rmtree(getattr(drv, "_ie_profile", ""), ignore_errors=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """The review desk served by uvicorn in a thread on 127.0.0.1 (what `serve` runs), stopped on exit."""

    def __init__(self, cfg):
        import uvicorn

        from evaluator.web.app import asgi_app

        self.port = free_port()
        self.asgi = asgi_app(cfg)
        self.server = uvicorn.Server(uvicorn.Config(self.asgi, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def app(self):
        """The FastAPI app (its state has the db, store and job runner)."""
        return self.asgi

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the review desk did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def sign_in(drv, base_url: str, name: str = "Dana Reviewer") -> None:
    """Open the desk, give a reviewer name and wait for the page it leads to (not the sign-in page going away)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get(base_url + "/who")
    drv.find_element(By.ID, "name").send_keys(name)
    form = drv.find_element(By.CSS_SELECTOR, "form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # the click can return before the next page replaces this one; an element found on the old page then goes
    # stale under the caller (a clean-clone CI run failed so on the nav link)
    wait = WebDriverWait(drv, 10, poll_frequency=0.05)
    wait.until(EC.staleness_of(form), message="waited for the sign-in page to be left")
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete",
               message="waited for the page after signing in")
