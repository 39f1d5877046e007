"""`interview-eval transcript show|convert`, run through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.formats import read_transcript
from evaluator.transcript import Role, Transcript

DATA = Path(__file__).resolve().parent / "data" / "transcripts"
BROKEN = DATA / "broken"


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


def test_show_prints_times_speakers_roles_and_how_roles_were_assigned(run_cli):
    r = run_cli(["transcript", "show", DATA / "zoom_screening.vtt"])
    assert r.exit_code == 0, r.stderr
    assert "Roles:" in r.stdout
    assert "Dana Reyes: interviewer (inferred, confidence" in r.stdout
    assert "[0:01] Dana Reyes (interviewer): Hi Sam, thanks for joining." in r.stdout
    assert "[0:13] Sam Patel (candidate): No, I'm ready. Let's go." in r.stdout
    assert r.stderr == ""


def test_show_puts_warnings_on_stderr_not_stdout(run_cli):
    r = run_cli(["transcript", "show", DATA / "teams_screening.vtt"])
    assert r.exit_code == 0
    assert "warning:" in r.stderr and "crosstalk" in r.stderr
    assert "crosstalk" not in r.stdout


def test_show_json_prints_one_transcript_document_with_roles(run_cli):
    r = run_cli(["transcript", "show", DATA / "screening.srt", "--json"])
    assert r.exit_code == 0
    t = Transcript.model_validate(json.loads(r.stdout))
    assert {ra.speaker: ra.role for ra in t.meta.roles} == {"Interviewer": Role.interviewer, "Candidate": Role.candidate}
    assert t.meta.source_format == "srt" and len(t.segments) == 12


def test_show_options_set_roles_case_insensitively(run_cli):
    r = run_cli(["transcript", "show", DATA / "zoom_screening.vtt", "--interviewer", "sam patel", "--json"])
    assert r.exit_code == 0
    t = Transcript.model_validate(json.loads(r.stdout))
    assert {ra.speaker: (ra.role, ra.method) for ra in t.meta.roles}["Sam Patel"] == (Role.interviewer, "option")


def test_show_with_a_guide_stage_uses_its_questions_as_evidence(run_cli):
    r = run_cli(["transcript", "show", DATA / "zoom_screening.vtt", "--guide", "customer-account-manager",
                 "--stage", "screening"])
    if r.exit_code != 0 and "guide" in r.stderr.lower() and "customer-account-manager" in r.stderr:
        pytest.skip("bundled guide not available: " + r.stderr.strip())
    assert r.exit_code == 0, r.stderr
    assert "guide questions" in r.stdout


def test_show_with_explicit_format_reads_an_unknown_extension(run_cli, tmp_path):
    p = tmp_path / "export.captions"
    p.write_text((DATA / "meet_screening.vtt").read_text())
    r = run_cli(["transcript", "show", p, "--format", "vtt"])
    assert r.exit_code == 0 and "Alex Kim (interviewer)" in r.stdout


def test_show_unknown_speaker_option_exits_2_listing_speakers(run_cli):
    r = run_cli(["transcript", "show", DATA / "zoom_screening.vtt", "--candidate", "Bob"])
    assert r.exit_code == 2
    line = _one_error_line(r.stderr)
    assert "'Bob'" in line and "'Dana Reyes', 'Sam Patel'" in line


def test_stage_without_guide_is_a_usage_error(run_cli):
    r = run_cli(["transcript", "show", DATA / "zoom_screening.vtt", "--stage", "screening"])
    assert r.exit_code == 2
    assert "--stage needs --guide" in _one_error_line(r.stderr)


@pytest.mark.parametrize(
    "name, expect",
    [
        ("vtt_broken_timestamp.vtt", "line 12 (cue 3): broken cue timing"),
        ("vtt_end_before_start.vtt", "line 6 (cue 2): cue ends"),
        ("srt_missing_indices.srt", "line 5: text outside any cue"),
        ("non_utf8.txt", "line 1: not valid UTF-8"),
        ("empty.vtt", "the transcript is empty"),
        ("txt_no_turns.txt", "no transcript turns found"),
        ("notes.docx", "unsupported transcript extension .docx"),
    ],
)
def test_show_bad_input_is_one_red_line_and_exit_1(run_cli, name, expect):
    r = run_cli(["transcript", "show", BROKEN / name])
    assert r.exit_code == 1
    line = _one_error_line(r.stderr)
    assert name in line and expect in line
    assert r.stdout == ""


def test_show_missing_file_is_one_line(run_cli):
    r = run_cli(["transcript", "show", DATA / "nope.vtt"])
    assert r.exit_code == 1
    assert "nope.vtt: no such transcript file" in _one_error_line(r.stderr)


@pytest.mark.parametrize("ext", ["json", "vtt", "srt", "txt"])
def test_convert_writes_a_file_that_reads_back_to_the_same_turns(run_cli, tmp_path, ext):
    dst = tmp_path / f"out.{ext}"
    r = run_cli(["transcript", "convert", DATA / "teams_screening.vtt", dst])
    assert r.exit_code == 0, r.stderr
    assert f"-> {dst} ({ext})" in r.stdout
    src, back = read_transcript(DATA / "teams_screening.vtt"), read_transcript(dst)
    assert [(s.speaker, s.start_s, s.end_s, s.text) for s in back.segments] == [
        (s.speaker, s.start_s, s.end_s, s.text) for s in src.segments
    ]


def test_convert_to_json_keeps_the_assigned_roles(run_cli, tmp_path):
    dst = tmp_path / "t.json"
    r = run_cli(["transcript", "convert", DATA / "otter_screening.txt", dst, "--candidate", "speaker 2"])
    assert r.exit_code == 0, r.stderr
    t = read_transcript(dst)
    assert {ra.speaker: ra.role for ra in t.meta.roles} == {"Speaker 1": Role.interviewer, "Speaker 2": Role.candidate}
    assert t.segments[1].role == Role.candidate
    assert t.meta.source.endswith("otter_screening.txt") and t.meta.source_format == "txt"


def test_convert_with_from_and_to_ignores_extensions(run_cli, tmp_path):
    src = tmp_path / "captions.data"
    src.write_text((DATA / "screening.srt").read_text())
    dst = tmp_path / "out.data"
    r = run_cli(["transcript", "convert", src, dst, "--from", "srt", "--to", "txt", "--json"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["format"] == "txt" and summary["source_format"] == "srt" and summary["segments"] == 12
    assert dst.read_text().startswith("[00:00:00.800 - 00:00:06.200] Interviewer: Thanks for coming in.")


@pytest.mark.parametrize(
    "args, code, expect",
    [
        ([BROKEN / "vtt_broken_timestamp.vtt", "{out}.json"], 1, "broken cue timing"),
        ([BROKEN / "srt_missing_indices.srt", "{out}.vtt"], 1, "text outside any cue"),
        ([DATA / "nope.srt", "{out}.json"], 1, "no such transcript file"),
        ([DATA / "zoom_screening.vtt", "{out}.docx"], 1, "unsupported transcript extension .docx"),
        ([DATA / "zoom_screening.vtt", "{out}.json", "--to", "pdf"], 2, "unknown transcript format 'pdf'"),
        ([DATA / "zoom_screening.vtt", "{out}.json", "--from", "doc"], 2, "unknown transcript format 'doc'"),
        ([DATA / "zoom_screening.vtt", "{out}.json", "--interviewer", "Nobody"], 2, "no such speaker"),
        ([DATA / "screening.srt", "{out}.mp3"], 1, "is an audio/video file"),
    ],
)
def test_convert_bad_input_fails_with_one_line_and_leaves_no_output(run_cli, tmp_path, args, code, expect):
    args = [str(a).replace("{out}", str(tmp_path / "out")) for a in args]
    r = run_cli(["transcript", "convert", *args])
    assert r.exit_code == code
    assert expect in _one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == []  # no output file, no temp file


def test_convert_to_vtt_of_a_transcript_without_times_fails_without_output(run_cli, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_text("Interviewer: Why this role?\nCandidate: I love edtech.\n")
    dst = tmp_path / "out.vtt"
    r = run_cli(["transcript", "convert", src, dst])
    assert r.exit_code == 1
    assert "has no start time" in _one_error_line(r.stderr)
    assert not dst.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_long_error_lines_are_not_wrapped_when_stderr_is_piped(run_cli, tmp_path):
    deep = tmp_path / ("a-very-long-directory-name-" * 4)
    deep.mkdir()
    r = run_cli(["transcript", "show", deep / "missing-transcript-file.vtt"])
    assert r.exit_code == 1 and len(_one_error_line(r.stderr)) > 120


def test_transcript_commands_have_help(run_cli):
    for cmd in ("show", "convert"):
        r = run_cli(["transcript", cmd, "--help"])
        assert r.exit_code == 0 and "--interviewer" in r.stdout
