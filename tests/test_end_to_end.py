"""The whole loop for one candidate: draft -> scripted review -> final -> every report -> debrief with a
second stage -> calibration against a second reviewer."""

from __future__ import annotations

import csv
import io
import json

from test_evaluate import _env, honest

from conftest import REPO

CAM = "customer-account-manager"


def test_one_candidate_from_two_recorded_stages_to_debrief_and_calibration(run_cli, llm_server, tmp_path):
    llm_server.handler = honest
    env = _env(llm_server, tmp_path)
    scr, beh = tmp_path / "screening.json", tmp_path / "behavioral.json"
    assert run_cli(["evaluate", REPO / "samples/cam-screening-strong.vtt", "-g", CAM, "-o", scr], env=env).exit_code == 0
    # the second stage without an LLM: a person scores it from the collected passages
    r = run_cli(["evaluate", REPO / "samples/cam-behavioral-marcus-lee.vtt", "-g", CAM, "-o", beh],
                env={"INTERVIEW_EVAL_CACHE_DIR": str(tmp_path)})
    assert r.exit_code == 0, r.stderr
    assert json.loads(beh.read_text())["source"]["stage_id"] == "behavioral"

    # scripted review of the screening draft: confirm five, override two (reasons required)
    draft = json.loads(scr.read_text())
    ids = [s["criterion_id"] for s in draft["scores"]]
    args = ["review", scr, "--reviewer", "Dana Whitfield"]
    for cid in ids[:5]:
        args += ["--confirm", cid]
    args += ["--set", f"{ids[5]}=2", "--reason", "retention story is one account",
             "--set", f"{ids[6]}=4", "--reason", "strong across the board"]
    r = run_cli(args)
    assert r.exit_code == 0, r.stderr
    final = tmp_path / "screening.final.json"
    card = json.loads(final.read_text())
    assert card["kind"] == "final" and card["reviewer"] == "Dana Whitfield"
    by = {c["criterion_id"]: c for c in card["criteria"]}
    assert by[ids[0]]["decision"]["action"] == "confirm" and by[ids[0]]["proposal"]["quotes"]
    assert by[ids[5]]["decision"]["reason"] == "retention story is one account"
    assert by[ids[5]]["proposal"]["score"] == 3 and by[ids[5]]["final_score"] == 2

    # every report format
    for fmt in ("md", "html", "csv", "json"):
        out = tmp_path / f"screening.{fmt}"
        r = run_cli(["report", final, "--format", fmt, "-o", out])
        assert r.exit_code == 0, r.stderr
        assert out.stat().st_size > 500
    rows = list(csv.DictReader(io.StringIO((tmp_path / "screening.csv").read_text())))
    assert len(rows) == len(ids) and rows[5]["override_reason"] == "retention story is one account"
    html = (tmp_path / "screening.html").read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html

    # the behavioral stage, scored by a person, then the debrief packet across both stages
    beh_ids = [s["criterion_id"] for s in json.loads(beh.read_text())["scores"]]
    args = ["review", beh, "--reviewer", "Priya Raman"]
    for cid, score in zip(beh_ids, [3, 4, 4, 4, 2, 2, 3]):
        args += ["--set", f"{cid}={score}", "--reason", "from the answers"]
    assert run_cli(args).exit_code == 0
    packet = tmp_path / "packet.json"
    r = run_cli(["debrief", final, tmp_path / "behavioral.final.json", "-o", packet])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(packet.read_text())
    assert doc["candidate"] == "Marcus Lee"
    assert len(doc["agenda"]) == 7  # the guide's debrief questions
    assert {"screening", "behavioral"} <= {s["stage_id"] for s in doc["scorecards"]}

    # a second reviewer of the same behavioral draft, then calibration against the first
    args = ["review", beh, "--reviewer", "Kim Trainee"]
    for cid, score in zip(beh_ids, [2, 3, 4, 3, 4, 2, 3]):
        args += ["--set", f"{cid}={score}", "--reason", "trainee view"]
    r = run_cli(args)
    assert r.exit_code == 0 and "behavioral.final.kim-trainee-" in r.stdout
    kim_final = next(tmp_path.glob("behavioral.final.kim-trainee-*.json"))
    r = run_cli(["calibrate", "--reference", tmp_path / "behavioral.final.json",
                 "--trainee", kim_final, "--json"])
    assert r.exit_code == 0, r.stderr
    cal = json.loads(r.stdout)
    comm = next(c for c in cal["criteria"] if c["criterion_id"] == "effective-communication")
    assert comm["mean_diff"] == 2.0 and comm["exact"] == 0.0
