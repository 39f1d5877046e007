"""Decoding recordings (evaluator.audio): layouts, resampling, and one-line errors for bad files.

Bad files are generated here with the wave module; nothing needs espeak or a model.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from evaluator.audio import decode_audio, is_silent, probe_channels
from evaluator.errors import AudioError

SAMPLES_AUDIO = Path(__file__).resolve().parent.parent / "samples" / "audio"


def write_wav(path: Path, channels: list[np.ndarray] | np.ndarray, rate: int = 16000) -> Path:
    """Write float samples (one array per channel) as 16-bit PCM WAV."""
    chans = [channels] if isinstance(channels, np.ndarray) else channels
    data = np.stack([np.clip(c, -1, 1) for c in chans], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(chans))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float = 2.0, freq: float = 440.0, rate: int = 16000, level: float = 0.3) -> np.ndarray:
    """A sine tone (audible, but not speech)."""
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------- decoding


def test_mono_wav_at_44k_is_resampled_to_16k(tmp_path):
    p = write_wav(tmp_path / "a.wav", tone(2.0, rate=44100), rate=44100)
    audio = decode_audio(p)
    assert audio.source_channels == 1
    assert len(audio.channels) == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.01)
    assert audio.mono.dtype == np.float32
    assert 0.25 < float(np.max(np.abs(audio.mono))) < 0.35


def test_stereo_split_keeps_each_channel_and_default_mixes_down(tmp_path):
    left, right = tone(1.0, 300), np.zeros(16000, dtype=np.float32)
    p = write_wav(tmp_path / "call.wav", [left, right])
    split = decode_audio(p, split_channels=True, expected_channels=2)
    assert split.source_channels == 2 and len(split.channels) == 2
    assert float(np.max(np.abs(split.channels[0]))) > 0.25
    assert is_silent(split.channels[1])
    mixed = decode_audio(p)
    assert len(mixed.channels) == 1 and mixed.duration_s == pytest.approx(1.0, abs=0.01)
    assert probe_channels(p) == 2


def test_bundled_ogg_samples_decode_with_their_layouts():
    mono = decode_audio(SAMPLES_AUDIO / "cam-screening.ogg")
    assert 60 <= mono.duration_s <= 95 and mono.source_channels == 1 and mono.codec == "opus"
    stereo = decode_audio(SAMPLES_AUDIO / "cam-retention-call-stereo.ogg", split_channels=True, expected_channels=2)
    assert stereo.source_channels == 2 and 50 <= stereo.duration_s <= 70


def test_sample_audio_stays_small():
    total = sum(f.stat().st_size for f in SAMPLES_AUDIO.iterdir())
    assert total < 3 * 1024 * 1024


def test_importing_the_audio_modules_does_not_import_av_or_numpy():
    code = ("import sys, evaluator.audio, evaluator.transcribe, evaluator.rttm, evaluator.cli; "
            "bad = [m for m in ('av', 'numpy', 'faster_whisper', 'ctranslate2') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- bad inputs, one line each


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(AudioError) as exc:
        decode_audio(tmp_path / "nope.wav")
    assert "nope.wav: no such audio file" in one_line(exc)


def test_unsupported_extension_says_what_to_give(tmp_path):
    p = tmp_path / "interview.pdf"
    p.write_bytes(b"%PDF-1.4")
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    msg = one_line(exc)
    assert "unsupported audio extension '.pdf'" in msg and "ffmpeg -i" in msg


def test_empty_file_is_refused(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "empty (0 bytes)" in one_line(exc)


def test_text_file_renamed_wav_is_recognised_as_text(tmp_path):
    p = tmp_path / "transcript.wav"
    p.write_text("Interviewer: Tell me about your last role.\nCandidate: I managed 120 accounts.\n" * 20)
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "is a text file, not audio" in one_line(exc)


def test_random_bytes_named_mp3_are_not_a_recording(tmp_path):
    p = tmp_path / "call.mp3"
    p.write_bytes(np.random.default_rng(3).bytes(50_000))
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "not a recording FFmpeg can read" in one_line(exc)


def test_truncated_wav_reports_promised_and_decodable_length(tmp_path):
    full = write_wav(tmp_path / "full.wav", tone(6.0))
    cut = tmp_path / "cut.wav"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError) as exc:
        decode_audio(cut)
    msg = one_line(exc)
    assert "looks cut off" in msg and "6.0 s" in msg and "2.0 s" in msg


def test_wav_with_header_only_is_zero_length(tmp_path):
    p = write_wav(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "zero length" in one_line(exc)


def test_two_channels_requested_on_mono_file_is_refused(tmp_path):
    p = write_wav(tmp_path / "mono.wav", tone(1.0))
    with pytest.raises(AudioError) as exc:
        decode_audio(p, split_channels=True, expected_channels=2)
    msg = one_line(exc)
    assert "mono (1 channel)" in msg and "2 channels were requested" in msg and "--rttm" in msg


def test_identical_stereo_channels_cannot_separate_parties(tmp_path):
    x = tone(1.0)
    p = write_wav(tmp_path / "fake-stereo.wav", [x, x])
    with pytest.raises(AudioError) as exc:
        decode_audio(p, split_channels=True, expected_channels=2)
    assert "same audio" in one_line(exc)


def test_silence_is_detected_below_minus_60_dbfs(tmp_path):
    p = write_wav(tmp_path / "quiet.wav", np.full(16000, 0.0005, dtype=np.float32))
    assert is_silent(decode_audio(p).mono)
    assert not is_silent(tone(0.5))


def encode(path: Path, samples: np.ndarray, codec: str, rate: int = 16000, video: bool = False,
           options: dict | None = None) -> Path:
    """Encode mono samples with PyAV into any container (plus a tiny video track for mp4/webm video)."""
    import av

    with av.open(str(path), "w", options=options or {}) as out:
        if video:
            vs = out.add_stream("mpeg4" if path.suffix == ".mp4" else "libvpx", rate=10)
            vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        st = out.add_stream(codec, rate=rate, layout="mono")
        fmt = st.codec_context.codec.audio_formats[0].name
        frame_size = st.codec_context.frame_size or 1024
        pcm = samples.astype(np.float32)
        for i in range(0, len(pcm), frame_size):
            chunk = pcm[i: i + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = i
            if fmt != "fltp":
                for f in av.AudioResampler(format=fmt, layout="mono", rate=rate).resample(frame):
                    out.mux(st.encode(f))
                continue
            out.mux(st.encode(frame))
        if video:
            img = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype=np.uint8), format="rgb24")
            out.mux(vs.encode(img.reformat(format="yuv420p")))
            out.mux(vs.encode(None))
        out.mux(st.encode(None))
    return path


@pytest.mark.parametrize("name, codec, rate, video", [
    ("a.flac", "flac", 16000, False),
    ("a.mp3", "libmp3lame", 44100, False),
    ("a.m4a", "aac", 48000, False),
    ("a.ogg", "libopus", 48000, False),
    ("a.webm", "libopus", 48000, True),
    ("a.mp4", "aac", 44100, True),
])
def test_common_containers_decode_to_16k_mono(tmp_path, name, codec, rate, video):
    p = encode(tmp_path / name, tone(2.0, rate=rate), codec, rate, video)
    audio = decode_audio(p)
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert 0.2 < float(np.max(np.abs(audio.mono))) < 0.5  # lossy codecs overshoot a little


def test_video_without_audio_track_says_so(tmp_path):
    import av

    p = tmp_path / "screen.mp4"
    with av.open(str(p), "w") as out:
        vs = out.add_stream("mpeg4", rate=10)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        img = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype=np.uint8), format="rgb24")
        out.mux(vs.encode(img.reformat(format="yuv420p")))
        out.mux(vs.encode(None))
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "no audio track (video)" in one_line(exc)


# ---------------------------------------------------------------- cut-off files (head -c of a real recording)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    """The first 20 s of the bundled speech sample in each container, encoded once (PyAV, no ffmpeg CLI)."""
    d = tmp_path_factory.mktemp("recordings")
    speech = decode_audio(SAMPLES_AUDIO / "cam-screening.ogg").mono[: 20 * 16000]
    return {
        "wav": write_wav(d / "call.wav", speech),
        "mp3": encode(d / "call.mp3", speech, "libmp3lame"),
        "m4a": encode(d / "call.m4a", speech, "aac"),  # index (moov) at the end, as most recorders write it
        "m4a-faststart": encode(d / "fast.m4a", speech, "aac", options={"movflags": "faststart"}),
        "flac": encode(d / "call.flac", speech, "flac"),
        "ogg": SAMPLES_AUDIO / "cam-screening.ogg",  # the bundled file itself (another muxer than PyAV's)
        "ogg-pyav": encode(d / "call.opus.ogg", np.repeat(speech, 3), "libopus", 48000),  # 16 -> 48 kHz
    }


def head_c(src: Path, dst: Path, percent: int) -> Path:
    """`head -c <percent>%` of a file."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) * percent // 100])
    return dst


@pytest.mark.parametrize("kind", ["wav", "mp3", "m4a", "m4a-faststart", "flac", "ogg", "ogg-pyav"])
def test_complete_recordings_are_not_flagged(recordings, kind):
    audio = decode_audio(recordings[kind])
    assert audio.warnings == [] and audio.duration_s > 19


@pytest.mark.parametrize("percent", [10, 50, 90])
@pytest.mark.parametrize("kind", ["wav", "mp3", "m4a", "m4a-faststart", "flac", "ogg", "ogg-pyav"])
def test_cut_off_recording_is_one_line_error_saying_so(recordings, tmp_path, kind, percent):
    src = recordings[kind]
    cut = head_c(src, tmp_path / f"cut{src.suffix}", percent)
    with pytest.raises(AudioError) as exc:
        decode_audio(cut)
    msg = one_line(exc)
    assert msg.startswith(f"{cut}: the file looks cut off: ") and "re-export or re-download it" in msg
    if kind in ("wav", "mp3", "m4a-faststart", "flac"):  # the container says how long it should be
        full_s = decode_audio(src).duration_s
        assert f"says {full_s:.1f} s but only " in msg
    if kind.startswith("ogg"):  # Ogg records no total length, only an end-of-stream mark
        assert "stops without its end mark after" in msg


def test_cut_off_recording_decodes_with_a_warning_when_allowed(recordings, tmp_path):
    cut = head_c(recordings["ogg"], tmp_path / "cut.ogg", 50)
    audio = decode_audio(cut, allow_truncated=True)
    assert 35 < audio.duration_s < 45
    assert len(audio.warnings) == 1 and "looks cut off" in audio.warnings[0] and "only the" in audio.warnings[0]
    cut_wav = head_c(recordings["wav"], tmp_path / "cut.wav", 50)
    audio = decode_audio(cut_wav, allow_truncated=True)
    assert 9 < audio.duration_s < 11 and "says 20.0 s but only 10.0 s" in audio.warnings[0]


def test_recording_damaged_inside_says_damaged_not_cut(tmp_path):
    data = bytearray((SAMPLES_AUDIO / "cam-screening.ogg").read_bytes())
    data[20000:25000] = b"\xff" * 5000  # a few seconds of pages destroyed; the end is intact
    p = tmp_path / "damaged.ogg"
    p.write_bytes(bytes(data))
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "the file is damaged: its container says 81.6 s but only" in one_line(exc)


@pytest.mark.parametrize("kind, offset, size", [("wav", 12, 24), ("ogg", 0, 200), ("m4a", 0, 64)])
def test_corrupt_header_is_one_line_error(recordings, tmp_path, kind, offset, size):
    data = bytearray(recordings[kind].read_bytes())
    data[offset:offset + size] = bytes(size)
    p = tmp_path / f"corrupt{recordings[kind].suffix}"
    p.write_bytes(bytes(data))
    with pytest.raises(AudioError) as exc:
        decode_audio(p)
    assert "not a recording FFmpeg can read" in one_line(exc) and "cut off" not in one_line(exc)


def test_sample_rate_change_mid_stream_decodes_both_parts(tmp_path):
    # Two MP3s joined byte for byte (16 kHz then 44.1 kHz): the decoder's frames change rate mid-stream.
    a = encode(tmp_path / "a.mp3", tone(2.0, rate=16000), "libmp3lame", 16000)
    b = encode(tmp_path / "b.mp3", tone(3.0, 300, rate=44100), "libmp3lame", 44100)
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    # (the first part's Xing header speaks for the whole file, so its length is not the file's)
    audio = decode_audio(joined, allow_truncated=True)
    assert audio.duration_s == pytest.approx(5.0, abs=0.15)
