"""The review desk's page load for a 90-minute interview, printed with ratios from one run.

    .venv/bin/python bench/bench_web.py [--repeat 7]

Builds a 90-minute (15,000-word) interview (`long_transcript.py`), drafts it with an in-process model that
quotes the candidate (bench_evaluate's InstantClient), imports the draft into a review desk served by uvicorn
on 127.0.0.1, and measures:

1. server time of the review page (GET /drafts/1, signed in; the first load after start validates the draft,
   later loads reuse it), against the same transcript served as plain text (GET /drafts/1/transcript.txt) in
   the same run;
2. the browser's load of the same two pages in headless Chromium (Navigation Timing: response end, DOM
   content loaded, load event), when Debian's chromium and chromium-driver are installed.

Target: the review page loads in under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))


def long_draft() -> str:
    """The draft JSON text of a 90-minute interview, with verified quotes for every criterion."""
    from bench_evaluate import InstantClient
    from long_transcript import long_transcript

    from evaluator import pipeline
    from evaluator.guide import load_guide

    guide = load_guide("customer-account-manager")
    iv = pipeline.Interview(transcript=long_transcript(), stage=guide.stage("screening"))
    draft = pipeline.evaluate_interview(iv, guide, llm=pipeline.LLMChoice(client=InstantClient(),
                                                                         info={"model": "instant"}))
    return draft.model_dump_json(indent=2) + "\n"


def signed_in_client(url: str):
    import re

    import httpx

    c = httpx.Client(base_url=url, follow_redirects=True, timeout=60)
    page = c.get("/who").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    c.post("/who", data={"name": "Bench", "csrf_token": token, "next": "/"})
    return c


def server_times(c, path: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = c.get(path)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, (path, r.status_code)
    return out


def browser_times(url: str, paths: list[str], repeat: int) -> dict[str, list[tuple[float, float, float]]] | None:
    from web_browser import sign_in, start_chromium, stop_chromium, why_no_browser

    if why_no_browser():
        print(f"2. browser: skipped ({why_no_browser()})")
        return None
    drv = start_chromium(1280, 900)
    try:
        sign_in(drv, url, "Bench")
        out: dict[str, list] = {p: [] for p in paths}
        for _ in range(repeat):
            for p in paths:
                drv.get(url + p)
                timing = drv.execute_script(
                    "var n = performance.getEntriesByType('navigation')[0];"
                    "return [n.responseEnd - n.startTime, n.domContentLoadedEventEnd - n.startTime,"
                    " n.loadEventEnd - n.startTime];")
                out[p].append(tuple(t / 1000 for t in timing))
        return out
    finally:
        stop_chromium(drv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="loads of each page (median shown)")
    args = ap.parse_args()

    from web_browser import ServerThread

    from evaluator.web.app import DeskConfig
    from evaluator.web.db import InterviewRow

    body = long_draft()
    with tempfile.TemporaryDirectory() as ws, ServerThread(DeskConfig(workspace=Path(ws), run_jobs=False)) as srv:
        db, store = srv.app.state.db, srv.app.state.store
        with db.write() as s:
            iv = InterviewRow(title="90-minute interview")
            s.add(iv)
            s.flush()
            interview_id = iv.id
        from evaluator.web.store import _CARDS

        store.add_draft(interview_id, "long-interview", body)
        _CARDS.clear()  # the first page load validates the draft, as after a restart
        c = signed_in_client(srv.url)
        first = server_times(c, "/drafts/1", 1)[0]
        page = server_times(c, "/drafts/1", args.repeat)
        plain = server_times(c, "/drafts/1/transcript.txt", args.repeat)
        size = len(c.get("/drafts/1").content)
        n_seg = body.count('"id": "s')
        import json

        n_quotes = sum(len(p["quotes"]) for p in json.loads(body)["scores"])
        pm, tm = statistics.median(page), statistics.median(plain)
        print(f"90-minute interview: {n_seg} segments, {n_quotes} quotes, draft {len(body) / 1024:.0f} KB, "
              f"review page {size / 1024:.0f} KB")
        print(f"1. server time of the review page: first load {first * 1000:.0f} ms (validates the draft: seal, "
              f"every quote found again), then median {pm * 1000:.0f} ms; plain-text transcript median "
              f"{tm * 1000:.0f} ms; ratio {pm / tm:.1f}x")
        paths = ["/drafts/1", "/drafts/1/transcript.txt"]
        bt = browser_times(srv.url, paths, args.repeat)
        if bt:
            med = {p: [statistics.median(x[i] for x in bt[p]) for i in range(3)] for p in paths}
            rv, tx = med[paths[0]], med[paths[1]]
            print(f"2. browser (headless Chromium, 1280 px), median of {args.repeat}: review page response "
                  f"{rv[0] * 1000:.0f} ms, DOM ready {rv[1] * 1000:.0f} ms, loaded {rv[2] * 1000:.0f} ms; "
                  f"plain text loaded {tx[2] * 1000:.0f} ms; ratio {rv[2] / tx[2]:.1f}x")
            worst = max(rv[2], first)
        else:
            worst = max(pm, first)
        print(f"target: the review page loads in under 1 s: {'met' if worst < 1 else 'NOT met'} "
              f"(slowest measured {worst * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
