"""Telling an interview from the other files that end up in a batch folder (tests/data/not_interviews)."""

from __future__ import annotations

import pytest

from evaluator.errors import TranscriptError
from evaluator.guide import load_guide
from evaluator.inputs import check_interview, load_interview
from evaluator.transcript import Role, Segment, Transcript

from conftest import DATA, REPO

NOT = DATA / "not_interviews"
CAM = "customer-account-manager"


@pytest.fixture(scope="module")
def cam():
    return load_guide(CAM)


@pytest.mark.parametrize("name, reason", [
    ("churn-and-burn-ep42-customer-success-in-childcare.vtt", "podcast or webinar"),
    ("cs-team-standup-2026-11-30.vtt", "5 people speak at length"),
    ("webinar-renewal-playbooks-that-actually-work.srt", "no speaker labels"),
    ("Customer Account Manager interview guide.txt", "the interview guide"),
    ("hiring-sync-notes-2026-11-24.txt", "no one asks"),
    ("sales-demo-sunflower-early-learning-2026-11-18.txt", "asks none of the questions"),
])
def test_files_that_are_not_interviews_are_refused_with_the_reason(cam, name, reason):
    with pytest.raises(TranscriptError) as e:
        load_interview(NOT / name, guide=cam, require_interview=True)
    msg = e.value.one_line()
    assert msg.startswith(f"{NOT / name}: does not look like an interview: ") and reason in msg, msg
    if "guide" in name:
        assert "guides import" in msg


def test_an_interview_with_unnamed_speakers_is_accepted(cam):
    t = load_interview(NOT / "teams-transcript-2026-11-19-1400.vtt", guide=cam, require_interview=True)
    assert check_interview(t, cam) == []
    assert {ra.speaker: ra.role for ra in t.meta.roles}["Speaker 1"] == Role.interviewer


@pytest.mark.parametrize("path", [p for p in sorted((REPO / "samples").glob("*.*")) + sorted((REPO / "samples" / "batch").glob("*"))
                                  if p.suffix in (".txt", ".vtt", ".srt")])
def test_every_bundled_interview_is_accepted(path, cam):
    g = load_guide("customer-success-operations-specialist") if path.name.startswith("cso") else cam
    load_interview(path, guide=g, require_interview=True)


def test_without_require_interview_nothing_is_refused(cam):
    t = load_interview(NOT / "cs-team-standup-2026-11-30.vtt", guide=cam)
    assert t.segments


def _t(*turns: tuple[str, str]) -> Transcript:
    return Transcript(segments=[Segment(id=f"s{i:04d}", start_s=float(i), end_s=i + 0.9, speaker=sp, text=x)
                                for i, (sp, x) in enumerate(turns)])


def test_one_speaker_and_a_monologue_are_not_conversations():
    assert "only one person speaks ('Ann')" in check_interview(_t(("Ann", "So what is churn? Churn is loss.")))
    long = " ".join(["Renewals are won in the first ninety days, not the last thirty."] * 30)
    probs = check_interview(_t(("Ann", long), ("Bo", "Why?"), ("Ann", long)))
    assert any("a talk, not a conversation" in p for p in probs), probs


@pytest.mark.parametrize("command", ["evaluate", "coverage", "coach"])
def test_a_refused_interview_can_be_taken_as_one_with_skip_interview_check(run_cli, tmp_path, command):
    # everyone merged into one speaker label (a mono recording diarised badly): refused, and the message says
    # how to go on; with the flag the same file is read as an interview
    lines = [ln for ln in (REPO / "samples/cam-screening-weak-skips.txt").read_text().splitlines() if ln.strip()]
    text = "".join(f"[00:{i:02d}] Dana: {ln.split(': ', 1)[-1].strip()}\n" for i, ln in enumerate(lines[:40]))
    f = tmp_path / "merged.txt"
    f.write_text(text)
    extra = ["--no-llm", "-o", str(tmp_path / "d.json")] if command == "evaluate" else []
    res = run_cli([command, str(f), "--guide", "customer-account-manager", "--stage", "screening", *extra])
    assert res.exit_code == 1 and "only one person speaks" in res.stderr and "--skip-interview-check" in res.stderr
    res = run_cli([command, str(f), "--guide", "customer-account-manager", "--stage", "screening", *extra,
                   "--skip-interview-check"])
    assert "does not look like an interview" not in res.stderr
    if command == "coach":  # coaching itself needs both people's turns, and says so
        assert res.exit_code == 1 and "only one speaker (Dana)" in res.stderr
        return
    assert res.exit_code == 0, res.stderr
    if command == "evaluate":
        assert (tmp_path / "d.json").is_file()


def test_with_the_stage_named_the_interview_check_aligns_that_stage_only(cam, monkeypatch):
    # a 20 MB transcript with --stage once spent half its time aligning every other stage of the guide
    import evaluator.align as align_mod

    t = load_interview(REPO / "samples" / "cam-hiring-manager.txt", guide=cam)
    seen = []
    real = align_mod.align_offline
    monkeypatch.setattr(align_mod, "align_offline", lambda tr, st, **kw: seen.append(st.id) or real(tr, st, **kw))
    assert check_interview(t, cam, cam.stage("hiring-manager")) == []
    assert set(seen) == {"hiring-manager"}
    problems = check_interview(t, cam, cam.stage("work-sample"))
    assert problems == []  # a role-play stage has no scripted questions to look for
