"""Transcript readers and writers: real exports in, the same transcript back out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evaluator.errors import EvalError, InputFileError, TranscriptError, UsageError
from evaluator.formats import (
    AUDIO_EXTENSIONS,
    READERS,
    WRITERS,
    format_for_path,
    is_audio_path,
    parse_transcript,
    read_transcript,
    render_transcript,
    write_transcript,
)
from evaluator.transcript import Role, RoleAssignment, Segment, Transcript, TranscriptMeta, segment_id

DATA = Path(__file__).resolve().parent / "data" / "transcripts"
BROKEN = DATA / "broken"

FIXTURES = {
    "zoom_screening.vtt": ("vtt", ["Dana Reyes", "Sam Patel"], 16),
    "teams_screening.vtt": ("vtt", ["Morgan Blake", "Jamie O'Connor"], 14),
    "meet_screening.vtt": ("vtt", ["Alex Kim", "Riley Chen"], 12),
    "screening.srt": ("srt", ["Interviewer", "Candidate"], 12),
    "otter_screening.txt": ("txt", ["Speaker 1", "Speaker 2"], 14),
    "plain_screening.txt": ("txt", ["Dana Reyes", "Chris Novak"], 14),
    "roleplay_work_sample.txt": ("txt", ["Customer", "Account Manager"], 10),
}


def _key(t: Transcript, *, known_ends_only: bool = False) -> list[tuple]:
    """What a round trip must keep: text, speaker and times to the millisecond."""
    ms = lambda x: None if x is None else round(x * 1000)  # noqa: E731
    return [(s.id, s.speaker, ms(s.start_s), None if known_ends_only else ms(s.end_s), s.text) for s in t.segments]


# ---------------------------------------------------------------- reading the real exports


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_export_reads_with_its_speakers_turn_count_and_sequential_ids(name):
    fmt, speakers, n = FIXTURES[name]
    t = read_transcript(DATA / name)
    assert t.meta.source_format == fmt
    assert t.speakers == speakers
    assert len(t.segments) == n
    assert [s.id for s in t.segments] == [segment_id(i) for i in range(n)]
    assert all(s.text and s.role == Role.unknown for s in t.segments)
    assert all(s.start_s is not None for s in t.segments)
    starts = [s.start_s for s in t.segments]
    assert starts == sorted(starts)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_read_fills_source_path_hash_of_file_bytes_and_duration(name):
    path = DATA / name
    t = read_transcript(path)
    assert t.meta.source == str(path)
    assert t.meta.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    last = t.segments[-1]
    assert t.meta.duration_s == (last.end_s if last.end_s is not None else last.start_s)


def test_zoom_name_prefixes_become_speakers_and_consecutive_cues_stay_separate():
    t = read_transcript(DATA / "zoom_screening.vtt")
    s0, s1 = t.segments[0], t.segments[1]
    assert (s0.speaker, s1.speaker) == ("Dana Reyes", "Dana Reyes")
    assert s0.text.startswith("Hi Sam, thanks for joining.")
    assert "Dana Reyes:" not in s0.text
    assert (s0.start_s, s0.end_s) == (1.25, 9.48)
    assert t.segments[7].text.startswith("My retention for last year was 93 percent")


def test_teams_multiline_voice_cues_are_joined_and_entities_decoded():
    t = read_transcript(DATA / "teams_screening.vtt")
    assert t.segments[0].text == "Hi Jamie, thanks for making time today. Can you hear me all right?"
    assert t.segments[6].text == "Net retention was 104 percent last fiscal year & gross was 92."
    assert t.segments[5].text.startswith("I'm a customer success manager at Learnly. I own about 120 school district accounts")
    assert "</v>" not in " ".join(s.text for s in t.segments)


def test_teams_crosstalk_is_kept_with_a_warning_naming_the_cue():
    t = read_transcript(DATA / "teams_screening.vtt")
    mm = [s for s in t.segments if s.text == "Mm-hmm."]
    assert len(mm) == 1 and mm[0].start_s == 54.8  # the overlapping cue is still there
    (w,) = [w for w in t.meta.warnings if "crosstalk" in w]
    assert "a91c0e77-2b3d-4f5a-8c6d-9e0f1a2b3c4d/5-0" in w and "line 37" in w


def test_meet_header_text_note_and_style_blocks_are_skipped():
    t = read_transcript(DATA / "meet_screening.vtt")
    joined = " ".join(s.text for s in t.segments)
    assert "Google Meet" not in joined and "color" not in joined and "microphone" not in joined
    assert t.segments[0].text == "Good morning Riley. Thanks for joining the screening call."
    assert t.meta.warnings == []


def test_srt_multiline_cue_text_is_joined_and_speaker_prefix_removed():
    t = read_transcript(DATA / "screening.srt")
    s = t.segments[2]
    assert s.speaker == "Interviewer"
    assert s.text == ("Good. Tell me about your most recent role in customer success or account management. "
                      "What were your key responsibilities and performance metrics?")
    assert (s.start_s, s.end_s) == (10.9, 18.4)


def test_srt_without_cue_numbers_is_read_with_a_warning():
    t = read_transcript(BROKEN / "srt_no_indices_ok.srt")
    assert [s.speaker for s in t.segments] == ["Interviewer", "Candidate", "Interviewer"]
    assert t.segments[1].text == "Yes, I am."
    assert any("no cue number" in w for w in t.meta.warnings)


def test_otter_headers_start_turns_and_paragraph_lines_join_them():
    t = read_transcript(DATA / "otter_screening.txt")
    s = t.segments[5]
    assert (s.speaker, s.start_s) == ("Speaker 2", 31.0)
    assert s.text.startswith("So I'm currently a customer success associate at KinderCloud.")
    assert s.text.endswith("Last year my renewal rate was 88 percent.")
    assert "otter.ai" not in " ".join(x.text for x in t.segments)  # the footer is not speech


def test_start_only_formats_end_at_the_next_start_and_the_last_end_is_unknown():
    t = read_transcript(DATA / "otter_screening.txt")
    for a, b in zip(t.segments, t.segments[1:]):
        assert a.end_s == b.start_s
    assert t.segments[-1].end_s is None
    assert t.meta.duration_s == t.segments[-1].start_s == 130.0


def test_plain_text_skips_a_title_joins_continuations_and_ignores_colons_in_prose():
    t = read_transcript(DATA / "plain_screening.txt")
    assert any("before the first speaker turn were skipped" in w for w in t.meta.warnings)
    assert t.segments[0].start_s == 4.0
    assert t.segments[3].text == ("I'm an account manager at Tots Software. I handle about 150 accounts and I'm "
                                  "measured on retention, upsell revenue and customer satisfaction. "
                                  "My CSAT average this year is 4.7.")
    s = t.segments[5]
    assert s.speaker == "Chris Novak"
    assert s.text == "Roughly 320. Here's the thing: most are short check-in calls."


@pytest.mark.parametrize(
    "text",
    [
        "Dana (00:03): Hello there?\nSam (00:07): Hi.\n",
        "(00:03) Dana: Hello there?\n(00:07) Sam: Hi.\n",
        "[00:03] Dana: Hello there?\n[00:07] Sam: Hi.\n",
        "[0:00:03] Dana: Hello there?\n[0:00:07] Sam: Hi.\n",
        "Dana [00:00:03]: Hello there?\nSam [00:00:07]: Hi.\n",
        "Dana  0:03\nHello there?\n\nSam  0:07\nHi.\n",
        "[00:03] Dana\nHello there?\n\n[00:07] Sam\nHi.\n",
    ],
)
def test_txt_timestamp_placements_all_read_the_same(text):
    t = parse_transcript(text, "txt")
    assert [(s.speaker, s.start_s, s.end_s, s.text) for s in t.segments] == [
        ("Dana", 3.0, 7.0, "Hello there?"),
        ("Sam", 7.0, None, "Hi."),
    ]


def test_txt_without_times_reads_name_colon_lines_with_unknown_times():
    t = parse_transcript("Interviewer: Why this role?\nCandidate: I love edtech.\nIt shows.\n", "txt")
    assert [(s.speaker, s.text, s.start_s) for s in t.segments] == [
        ("Interviewer", "Why this role?", None),
        ("Candidate", "I love edtech. It shows.", None),
    ]
    assert not t.has_times and t.meta.duration_s is None


def test_transcript_without_speakers_loads_with_empty_speaker_and_a_warning():
    t = read_transcript(DATA / "mono_no_speakers.txt")
    assert t.speakers == [""]
    assert len(t.segments) == 8 and t.segments[1].text == "Yes, I am, no sponsorship needed."
    assert all(s.role == Role.unknown for s in t.segments)
    assert any("no speaker labels" in w for w in t.meta.warnings)


def test_speakerless_paragraphs_become_one_segment_each():
    t = parse_transcript("First paragraph\nstill first.\n\nSecond one.\n", "txt")
    assert [s.text for s in t.segments] == ["First paragraph still first.", "Second one."]
    assert t.speakers == [""]


def test_vtt_voice_variants_classes_unclosed_tags_inline_timestamps_and_two_voices():
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v.loud Dana>Hi <i>there</i>\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v Sam><00:00:02.100><c>Hello</c> <00:00:02.500><c>again</c>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Dana>Dana: one</v>\n\n"
        "00:00:04.000 --> 00:00:05.000 align:start position:10%\n<v Dana>Question?</v>\n<v Sam>Answer.</v>\n"
    )
    t = parse_transcript(text, "vtt")
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("Dana", "Hi there"), ("Sam", "Hello again"), ("Dana", "one"), ("Dana", "Question?"), ("Sam", "Answer."),
    ]


def test_vtt_short_timestamps_without_hours_are_read():
    t = parse_transcript("WEBVTT\n\n00:01.500 --> 01:02.250\nhello\n", "vtt")
    assert (t.segments[0].start_s, t.segments[0].end_s) == (1.5, 62.25)


def test_out_of_order_cues_are_sorted_with_a_warning():
    t = parse_transcript("WEBVTT\n\n00:00:05.000 --> 00:00:06.000\n<v A>second\n\n"
                         "00:00:01.000 --> 00:00:02.000\n<v B>first\n", "vtt")
    assert [s.text for s in t.segments] == ["first", "second"]
    assert [s.id for s in t.segments] == ["s0000", "s0001"]
    assert any("not in time order" in w for w in t.meta.warnings)


def test_overlap_within_one_speaker_is_kept_with_its_own_warning():
    t = parse_transcript("WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v A>one\n\n"
                         "00:00:04.000 --> 00:00:06.000\n<v A>two\n", "vtt")
    assert len(t.segments) == 2
    assert any("same speaker" in w for w in t.meta.warnings)
    assert not any("crosstalk" in w for w in t.meta.warnings)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("out_fmt", sorted(WRITERS))
@pytest.mark.parametrize("name", sorted(FIXTURES) + ["mono_no_speakers.txt"])
def test_every_fixture_round_trips_through_every_writer(tmp_path, name, out_fmt):
    t = read_transcript(DATA / name)
    out = write_transcript(t, tmp_path / f"out.{out_fmt}")
    back = read_transcript(out)
    # An unknown end (last turn of a txt source) must be invented for a vtt/srt cue; all else is kept.
    unknown_end = out_fmt in ("vtt", "srt") and t.segments[-1].end_s is None
    assert _key(back)[:-1] == _key(t)[:-1]
    assert _key(back, known_ends_only=unknown_end)[-1] == _key(t, known_ends_only=unknown_end)[-1]
    # JSON keeps the provenance it stores (the original source format); other formats record their own.
    assert back.meta.source_format == (t.meta.source_format if out_fmt == "json" else out_fmt)


def test_unknown_last_end_is_estimated_when_a_cue_format_needs_one():
    t = read_transcript(DATA / "otter_screening.txt")
    back = parse_transcript(render_transcript(t, "vtt"), "vtt")
    last = back.segments[-1]
    assert t.segments[-1].end_s is None
    assert last.end_s == last.start_s + 2.0  # "Is the role fully remote?": 5 words x 0.4 s


def _tricky() -> Transcript:
    segs = [
        Segment(id="s0000", start_s=0.0, end_s=1.234, speaker="Dana Reyes", text="Is <this> & that --> ok?"),
        Segment(id="s0001", start_s=2.5, end_s=7.001, speaker="Sam O'Neil", text="Note: yes. Ratio 3:2, at 5:30."),
        Segment(id="s0002", start_s=6.9, end_s=8.0, speaker="Dana Reyes", text="Mm-hmm."),
        Segment(id="s0003", start_s=3725.125, end_s=3726.0, speaker="Sam O'Neil", text="Much later."),
    ]
    return Transcript(meta=TranscriptMeta(source="call.wav"), segments=segs)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_gaps_overlaps_milliseconds_markup_and_colons_survive_a_round_trip(fmt):
    t = _tricky()
    back = parse_transcript(render_transcript(t, fmt), fmt)
    assert _key(back) == _key(t)


def test_json_round_trip_is_exactly_lossless_including_roles_words_and_meta(tmp_path):
    from evaluator.transcript import Word

    t = _tricky()
    t.segments[0].role = Role.interviewer
    t.segments[0].words = [Word(text="Is", start_s=0.0, end_s=0.2, probability=0.9)]
    t.meta.roles = [RoleAssignment(speaker="Dana Reyes", role=Role.interviewer, method="option")]
    t.meta.source_sha256 = "ab" * 32
    t.meta.source_format = "wav"
    t.meta.duration_s = 3726.0
    t.meta.warnings = ["something"]
    back = read_transcript(write_transcript(t, tmp_path / "t.json"))
    assert back == t


def test_txt_writer_uses_plain_start_stamps_and_adds_an_end_only_where_needed():
    lines = render_transcript(_tricky(), "txt").splitlines()
    assert lines[0] == "[00:00:00 - 00:00:01.234] Dana Reyes: Is <this> & that --> ok?"
    t = read_transcript(DATA / "plain_screening.txt")
    assert render_transcript(t, "txt").splitlines()[0].startswith("[00:00:04] Dana Reyes: Thanks for joining")


def test_vtt_writer_tags_voices_and_srt_writer_prefixes_names():
    t = read_transcript(DATA / "screening.srt")
    vtt = render_transcript(t, "vtt")
    assert vtt.startswith("WEBVTT\n")
    assert "<v Candidate>Yes, I have settled status.</v>" in vtt
    srt = render_transcript(t, "srt")
    assert "2\n00:00:06,700 --> 00:00:10,300\nCandidate: Yes, I have settled status.\n" in srt


# ---------------------------------------------------------------- format choice


def test_format_is_chosen_by_extension_or_explicit_name():
    assert format_for_path("a/b.VTT") == "vtt"
    assert format_for_path("x.srt") == "srt"
    assert format_for_path("x.txt") == "txt"
    assert format_for_path("x.json") == "json"
    t = read_transcript(DATA / "screening.srt", "SubRip")
    assert t.meta.source_format == "srt"


def test_explicit_format_overrides_the_extension(tmp_path):
    p = tmp_path / "export.data"
    p.write_text((DATA / "zoom_screening.vtt").read_text())
    assert len(read_transcript(p, "webvtt").segments) == 16


def test_audio_extensions_are_recognised_and_refused_as_transcripts():
    assert AUDIO_EXTENSIONS >= {"wav", "flac", "mp3", "m4a", "mp4", "webm", "ogg", "opus", "aac", "mkv", "mov", "wma"}
    assert is_audio_path("call.M4A") and is_audio_path("x/y.webm")
    assert not is_audio_path("call.vtt")
    with pytest.raises(InputFileError, match=r"call\.mp3: is an audio/video file.*transcribe"):
        format_for_path("call.mp3")


def test_registries_have_a_reader_and_a_writer_per_format():
    assert set(READERS) == set(WRITERS) == {"json", "vtt", "srt", "txt"}


# ---------------------------------------------------------------- bad input: one clear error each


@pytest.mark.parametrize(
    "name, exc, pattern",
    [
        ("vtt_broken_timestamp.vtt", TranscriptError, r"vtt_broken_timestamp\.vtt, line 12 \(cue 3\): broken cue timing"),
        ("vtt_end_before_start.vtt", TranscriptError, r"line 6 \(cue 2\): cue ends \(00:00:06\.000\) before it starts"),
        ("vtt_no_header.vtt", TranscriptError, r"line 1: not a WebVTT file.*--format srt"),
        ("vtt_no_cues.vtt", TranscriptError, r"vtt_no_cues\.vtt: no transcript turns found"),
        ("vtt_missing_timing.vtt", TranscriptError, r"line 6: cue 2 has no timing line"),
        ("srt_missing_indices.srt", TranscriptError, r"line 5: text outside any cue \('Candidate: Yes, I am\.'\)"),
        ("srt_broken_timestamp.srt", TranscriptError, r"line 6 \(cue 2\): broken cue timing"),
        ("txt_no_turns.txt", TranscriptError, r"txt_no_turns\.txt: no transcript turns found"),
        ("txt_broken_timestamp.txt", TranscriptError, r"line 2: broken timestamp"),
        ("empty.vtt", InputFileError, r"empty\.vtt: the transcript is empty"),
        ("blank.txt", InputFileError, r"blank\.txt: the transcript is empty"),
        ("non_utf8.txt", InputFileError, r"non_utf8\.txt, line 1: not valid UTF-8.*iconv"),
        ("notes.docx", InputFileError, r"notes\.docx: unsupported transcript extension \.docx.*\.json.*\.vtt"),
        ("invalid.json", TranscriptError, r"invalid transcript JSON at segments\.0\.start_s"),
        ("truncated.json", TranscriptError, r"truncated\.json, line 2: not valid JSON"),
    ],
)
def test_bad_input_raises_one_clear_line_naming_file_and_place(name, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        read_transcript(BROKEN / name)
    line = info.value.one_line()
    assert "\n" not in line and name in line
    assert info.value.hint  # says how to fix it


def test_missing_file_is_an_input_error():
    with pytest.raises(InputFileError, match=r"nope\.vtt: no such transcript file"):
        read_transcript(DATA / "nope.vtt")


def test_unknown_explicit_format_is_a_usage_error_listing_formats():
    with pytest.raises(UsageError, match=r"unknown transcript format 'docx'.*json, srt, txt, vtt"):
        read_transcript(DATA / "screening.srt", "docx")


def test_json_that_is_not_a_transcript_is_refused(tmp_path):
    p = tmp_path / "guide.json"
    p.write_text('{"role": "x"}')
    with pytest.raises(TranscriptError, match="not an interview-eval transcript"):
        read_transcript(p)


def test_writing_segments_without_times_as_vtt_fails_and_leaves_no_file(tmp_path):
    t = parse_transcript("Interviewer: Why?\nCandidate: Because.\n", "txt")
    dst = tmp_path / "out.vtt"
    with pytest.raises(TranscriptError, match=r"out\.vtt: cannot write as vtt: segment s0000: has no start time"):
        write_transcript(t, dst)
    assert list(tmp_path.iterdir()) == []


def test_writing_to_an_unsupported_extension_fails_and_leaves_no_file(tmp_path):
    t = read_transcript(DATA / "screening.srt")
    with pytest.raises(EvalError, match="unsupported transcript extension"):
        write_transcript(t, tmp_path / "out.docx")
    assert list(tmp_path.iterdir()) == []


def test_srt_formatting_tags_are_removed_but_other_angle_brackets_kept():
    t = parse_transcript("1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Interviewer:</i> Is a <b>2 < 3</b> plan ok?\n", "srt")
    assert (t.segments[0].speaker, t.segments[0].text) == ("Interviewer", "Is a 2 < 3 plan ok?")


def test_a_one_off_colon_in_unlabelled_cues_is_not_taken_for_a_speaker():
    text = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nSo here is the thing: we grew.\n\n"
            "00:00:03.000 --> 00:00:05.000\nAnd then we kept growing.\n\n"
            "00:00:05.000 --> 00:00:07.000\nIt went well.\n")
    t = parse_transcript(text, "vtt")
    assert t.speakers == [""] and t.segments[0].text == "So here is the thing: we grew."


def test_numeric_cue_ids_and_cue_settings_in_vtt_are_not_text():
    t = parse_transcript("WEBVTT\n\n42\n00:00:01.000 --> 00:00:02.000 line:0 align:left\n<v A>Hi\n", "vtt")
    assert t.segments[0].text == "Hi" and t.segments[0].speaker == "A"
