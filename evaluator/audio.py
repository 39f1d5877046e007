"""Decoding recordings to 16 kHz float32 samples, with one-line errors for every bad input.

Any container PyAV (FFmpeg) decodes works: wav, flac, mp3, m4a/aac, mp4/mov, webm/mkv, ogg/opus.
Heavy imports (av, numpy) stay inside functions so importing this module is instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.errors import AudioError

SAMPLE_RATE = 16000

# Containers we accept by extension. FFmpeg reads more, but an extension outside this list is far
# more often a wrong path (a .json transcript, a .pdf) than an exotic recording.
AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .mp3 .m4a .aac .mp4 .m4v .mov .webm .mkv .ogg .oga .opus .wma .aiff .aif .amr .3gp".split()
)

# Peak level (full scale = 1.0) below which a whole recording counts as silent: -60 dBFS.
SILENCE_PEAK = 0.001
# A decoded length shorter than the header's by more than this (and below this share) means the file
# is cut off or damaged. The seconds guard against codec priming/padding on very short files.
_TRUNCATED_MIN_S = 0.25
_TRUNCATED_SHARE = 0.97
# Demuxers whose duration is FFmpeg's guess from the bit rate and the file size, not a header field:
# useless for telling a cut file (the guess shrinks with the file) and wrong for VBR.
_ESTIMATED_DURATION_FORMATS = {"aac", "ac3", "eac3", "amr", "dts"}
_CUT = "the file looks cut off"
_CUT_FIX = "re-export or re-download it"


@dataclass
class DecodedAudio:
    """Decoded samples: one float32 array per returned channel, at SAMPLE_RATE Hz."""

    path: Path
    channels: list[Any]  # numpy float32 arrays, one per channel (one when mixed down to mono)
    source_channels: int  # how many channels the file itself has
    codec: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.channels[0]) / SAMPLE_RATE if self.channels else 0.0

    @property
    def mono(self):
        """The first (or only) channel."""
        return self.channels[0]


def check_audio_path(path: str | Path) -> Path:
    """Refuse a missing path, a directory, an empty file or an extension we do not decode."""
    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: no such audio file", hint="check the path")
    if p.is_dir():
        raise AudioError(f"{p}: is a directory, expected an audio or video file", hint="name a file inside it")
    ext = p.suffix.lower()
    if ext not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{p}: unsupported audio extension {ext or '(none)'!r}",
            hint="give a recording (" + ", ".join(sorted(e.lstrip('.') for e in _COMMON)) + ") or convert it, "
            f"e.g. `ffmpeg -i {p.name} {p.stem}.wav`; transcripts go to other commands",
        )
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: the audio file is empty (0 bytes)", hint="re-export or re-download the recording")
    return p


_COMMON = (".wav", ".flac", ".mp3", ".m4a", ".mp4", ".webm", ".ogg")


def probe_channels(path: str | Path) -> int:
    """Number of channels of the first audio stream (after the same checks as decode_audio)."""
    import av

    p = check_audio_path(path)
    with _open(p, av) as container:
        return _audio_stream(container, p).codec_context.channels


@dataclass
class _Header:
    """What the container says before decoding."""

    stream: Any
    channels: int
    declared_s: float | None  # the length it declares, None when unknown or only estimated
    truncation: str | None  # why it looks cut off, when allowed to go on
    end_intact: bool  # the container's end is known to be there (a shortfall is damage inside)


def _check_header(container, p: Path, expected_channels: int | None, allow_truncated: bool) -> _Header:
    stream = _audio_stream(container, p)
    n_src = stream.codec_context.channels or 1
    if expected_channels is not None and n_src != expected_channels:
        what = {1: "mono (1 channel)", 2: "stereo (2 channels)"}.get(n_src, f"{n_src} channels")
        raise AudioError(
            f"{p}: the recording is {what}, but {expected_channels} channels were requested (one per party)",
            hint="drop --channels for a recording where both parties share a channel"
            + (" (use --rttm for speaker turns)" if n_src == 1 else ""),
        )
    fmt = container.format.name
    declared_s = _declared_duration(container, stream, p)
    truncation = None
    if fmt == "ogg" and _ogg_end_missing(p):
        # Ogg records no total length (FFmpeg reports the last page present), only an end mark.
        present_s = declared_s or 0.0
        what = f"{p}: {_CUT}: the Ogg stream stops without its end mark after {present_s:.1f} s"
        if not allow_truncated:
            raise AudioError(what + " (Ogg files do not record their full length)", hint=_cut_hint(present_s))
        truncation, declared_s = what, None  # the length check has nothing to compare with
    return _Header(stream=stream, channels=n_src, declared_s=declared_s, truncation=truncation,
                   end_intact=fmt == "ogg" and truncation is None)


def decode_audio(path: str | Path, split_channels: bool = False, *, expected_channels: int | None = None,
                 allow_truncated: bool = False) -> DecodedAudio:
    """Decode a recording to 16 kHz float32: mixed to mono, or one array per channel.

    `expected_channels` (with split_channels) demands that layout, e.g. 2 for an interviewer/candidate
    call recording; a file with another layout is an AudioError. Corrupt, non-audio and zero-length
    files are AudioErrors too; an all-silent file is not (see `is_silent`).

    A file that decodes to less than ~97% of the length its container declares (the WAV header's data
    size, FLAC/MP4/Matroska/MP3-Xing durations), or an Ogg file that stops before its end-of-stream
    page, is cut off or damaged: an AudioError naming both lengths, or with `allow_truncated` a warning
    and what decodes.
    """
    import av
    import numpy as np

    p = check_audio_path(path)
    with _open(p, av) as container:
        head = _check_header(container, p, expected_channels if split_channels else None, allow_truncated)
        stream, n_src, codec = head.stream, head.channels, head.stream.codec_context.name
        declared_s, truncation, end_intact = head.declared_s, head.truncation, head.end_intact
        layout = _layout_name(n_src) if split_channels else "mono"
        chunks: list[Any] = []
        bad_frames = 0
        try:
            for chunk in _resampled(_frames(container, stream, av), av, layout):
                if chunk is None:
                    bad_frames += 1
                else:
                    chunks.append(chunk)
        except (av.error.InvalidDataError, av.error.EOFError, ValueError) as exc:
            if not chunks:
                raise AudioError(f"{p}: cannot decode the audio ({_av_reason(exc)})",
                                 hint="the file is corrupt; re-export or re-download it") from None
            bad_frames += 1
    data = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    n_out = n_src if split_channels else 1
    if n_out > 1:
        data = data[: len(data) - len(data) % n_out].reshape(-1, n_out).T
        channels = [np.ascontiguousarray(c, dtype=np.float32) for c in data]
    else:
        channels = [data.astype(np.float32, copy=False)]
    decoded_s = len(channels[0]) / SAMPLE_RATE
    if decoded_s == 0:
        if bad_frames:
            raise AudioError(f"{p}: no audio could be decoded ({bad_frames} corrupt frame(s))",
                             hint="the file is corrupt; re-export or re-download it")
        raise AudioError(f"{p}: the recording has zero length (no audio samples)",
                         hint="check that the recording actually captured audio")
    if declared_s and declared_s - decoded_s > _TRUNCATED_MIN_S and decoded_s < declared_s * _TRUNCATED_SHARE:
        what = (f"{p}: {'the file is damaged' if end_intact else _CUT}: its container says {declared_s:.1f} s "
                f"but only {decoded_s:.1f} s decode ({decoded_s / declared_s:.0%})")
        if not allow_truncated:
            raise AudioError(what, hint=_cut_hint(decoded_s))
        truncation = what
    warnings = []
    if truncation:
        warnings.append(f"{truncation}; only the {decoded_s:.1f} s that decode are transcribed")
    if bad_frames:
        warnings.append(f"{p.name}: skipped {bad_frames} corrupt audio frame(s); the transcript may have gaps")
    if split_channels and n_src == 2 and expected_channels == 2 and _same_signal(channels[0], channels[1]):
        raise AudioError(
            f"{p}: both stereo channels carry the same audio, so they cannot separate interviewer and candidate",
            hint="drop --channels (use --rttm for speaker turns)",
        )
    return DecodedAudio(path=p, channels=channels, source_channels=n_src, codec=codec, warnings=warnings)


def is_silent(samples) -> bool:
    """True when the whole signal stays below -60 dBFS (digital silence or a muted mic)."""
    import numpy as np

    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


# ---------------------------------------------------------------- internals


class _open:
    """av.open with our errors: non-audio content, permission problems."""

    def __init__(self, path: Path, av):
        self.path, self.av, self.container = path, av, None

    def __enter__(self):
        av = self.av
        try:
            self.container = av.open(str(self.path), mode="r", metadata_errors="ignore")
        except PermissionError:
            raise AudioError(f"{self.path}: permission denied", hint="check the file's permissions") from None
        except (av.error.InvalidDataError, av.error.EOFError, ValueError) as exc:
            if _mp4_cut(self.path):
                raise AudioError(
                    f"{self.path}: {_CUT}: it stops inside its media data, before the index "
                    "(moov box) an MP4/M4A needs to be read",
                    hint=_CUT_FIX + " (a recorder that stopped early never wrote the index)",
                ) from None
            if _looks_like_text(self.path):
                raise AudioError(
                    f"{self.path}: is a text file, not audio, despite its {self.path.suffix} extension",
                    hint="give the recording itself; a transcript goes to `interview-eval transcript`",
                ) from None
            raise AudioError(
                f"{self.path}: not a recording FFmpeg can read ({_av_reason(exc)}); the content does not "
                f"match its {self.path.suffix} extension or the file is corrupt",
                hint="open it in a media player; re-export or re-download it",
            ) from None
        except av.error.FFmpegError as exc:
            raise AudioError(f"{self.path}: cannot open the recording ({_av_reason(exc)})",
                             hint="re-export or re-download it") from None
        return self.container

    def __exit__(self, *exc):
        if self.container is not None:
            self.container.close()
        return False


def _looks_like_text(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        head.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(head.strip()) and b"\x00" not in head


def _audio_stream(container, path: Path):
    if not container.streams.audio:
        if _looks_like_text(path):  # FFmpeg's tty demuxer "reads" text files as video
            raise AudioError(f"{path}: is a text file, not audio, despite its {path.suffix} extension",
                             hint="give the recording itself; a transcript goes to `interview-eval transcript`")
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        raise AudioError(f"{path}: the file has no audio track ({kinds})",
                         hint="export the recording with its audio, or give the audio file")
    return container.streams.audio[0]


def _frames(container, stream, av):
    """Decoded frames of one stream; None in place of a frame FFmpeg rejected as invalid."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            yield None


def _cut_hint(present_s: float) -> str:
    return (f"{_CUT_FIX}; or pass --allow-truncated to transcribe the {present_s:.1f} s "
            "that are there")


_BLOCK_SAMPLES = 500_000  # resample in blocks this long: resampling frame by frame costs as much as decoding


def _resampled(frames, av, layout: str):
    """SAMPLE_RATE float32 arrays from decoded frames, resampled in long blocks; None for each bad frame.

    A change of sample format, layout or rate mid-stream ends the block and starts a new resampler."""
    fifo = resampler = fmt = None

    def flush(final: bool) -> list:
        out = []
        if fifo is not None and fifo.samples:
            out += resampler.resample(fifo.read())
        if final and resampler is not None:
            out += resampler.resample(None)
        return [f.to_ndarray().reshape(-1) for f in out]

    for frame in frames:
        if frame is None:
            yield None
            continue
        frame.pts = None  # resample by count, not timestamps (VFR/odd pts in webm from browsers)
        this = (frame.format.name, frame.layout.name, frame.sample_rate)
        if this != fmt:
            yield from flush(final=True)
            fifo, fmt = av.audio.fifo.AudioFifo(), this
            resampler = av.audio.resampler.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE)
        fifo.write(frame)
        if fifo.samples >= _BLOCK_SAMPLES:
            yield from flush(final=False)
    yield from flush(final=True)


def _declared_duration(container, stream, path: Path) -> float | None:
    """What the container itself says the audio lasts, in seconds (None when it does not say, or when
    FFmpeg only estimated it from the bit rate)."""
    fmt = container.format.name
    if fmt == "wav":
        # FFmpeg clamps a WAV's length to the bytes present, so read the header's promise ourselves.
        return _wav_declared_duration(path)
    if fmt in _ESTIMATED_DURATION_FORMATS or (fmt == "mp3" and not _mp3_has_length_header(path)):
        return None
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _mp3_has_length_header(path: Path) -> bool:
    """True when the first MP3 frame carries a Xing/Info/VBRI header (frame count: an exact length)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
            skip = 0
            if head[:3] == b"ID3" and len(head) == 10:  # ID3v2 tag: syncsafe size
                skip = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F)
            fh.seek(skip)
            frame = fh.read(4096)
    except OSError:
        return False
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def _ogg_end_missing(path: Path) -> bool:
    """True when an Ogg file stops mid-page or its last page lacks the end-of-stream flag (cut off).

    Follows the page chain through the file's last two maximum page sizes; False when it cannot tell."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(max(0, size - 2 * _OGG_MAX_PAGE))
            tail = fh.read()
    except OSError:
        return False
    pos = tail.find(b"OggS")
    while pos != -1:
        q, flags = pos, 0
        while True:  # hop page by page from this candidate
            if tail[q + 4:q + 5] != b"\x00" or len(tail) >= q + 6 and tail[q + 5] & ~0x07:
                break  # not a page header after all (b"OggS" inside packet data)
            if q + 27 > len(tail) or q + 27 + tail[q + 26] > len(tail):
                return True  # the file ends inside a page header
            nseg = tail[q + 26]
            flags = tail[q + 5]
            end = q + 27 + nseg + sum(tail[q + 27:q + 27 + nseg])
            if end > len(tail):
                return True  # the last page's data runs past the end of the file
            if end == len(tail):
                return not flags & 0x04
            if tail[end:end + 4] != b"OggS":
                break
            q = end
        pos = tail.find(b"OggS", pos + 1)
    return False


def _mp4_cut(path: Path) -> bool:
    """True for an MP4/M4A/MOV whose top-level boxes run past the end of the file (a cut recording)."""
    import struct

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8 or head[4:8] != b"ftyp":
                return False
            pos = 0
            while pos + 8 <= size:
                fh.seek(pos)
                box = fh.read(16)
                box_size = struct.unpack(">I", box[:4])[0]
                if box_size == 1 and len(box) >= 16:
                    box_size = struct.unpack(">Q", box[8:16])[0]
                if box_size == 0:  # "to the end of the file"
                    return False
                if box_size < 8:
                    return False  # not a box structure we understand: let FFmpeg's error stand
                pos += box_size
            return pos > size
    except OSError:
        return False


def _wav_declared_duration(path: Path) -> float | None:
    """Seconds the RIFF header's data chunk promises (None if unknown or a streaming placeholder)."""
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return None
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, None
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[pos + 16:pos + 20])[0]
        if cid == b"data":
            # 0 and 0xFFFFFFFF are what live recorders write before they know the length.
            if not byte_rate or size in (0, 0xFFFFFFFF) or head[:4] == b"RF64":
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def _layout_name(n: int) -> str:
    return {1: "mono", 2: "stereo"}.get(n, f"{n}c")


def _same_signal(a, b) -> bool:
    import numpy as np

    n = min(len(a), len(b))
    return n > 0 and float(np.max(np.abs(a[:n] - b[:n]))) < 1e-4


def _av_reason(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(msg).split()).rstrip(":").strip() or type(exc).__name__
