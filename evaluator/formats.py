"""Transcript readers and writers, one per format, in a registry keyed by format name.

Formats:

- ``json``: the project's own transcript JSON (`Transcript.model_dump_json`), lossless.
- ``vtt``: WebVTT as exported by Zoom (``Name: text`` inside cues or ``<v Name>``), Microsoft Teams
  (``<v Name>text</v>``, GUID cue ids, multi-line cues) and Google Meet. NOTE/STYLE/REGION blocks
  are skipped.
- ``srt``: SubRip; cue numbers may be missing when the timing lines make the cue boundaries plain.
- ``txt``: plain text, either ``Name: words`` lines with an optional ``[hh:mm:ss]``, ``[mm:ss]`` or
  ``(mm:ss)`` timestamp before or after the name (continuation lines join the previous turn), or
  the note-taker layout of Otter and similar tools: a ``Name  0:03`` header line, then the
  paragraph(s) of that turn.

Times are seconds (`start_s`, `end_s`). Formats that carry only start times (txt) get
``end_s = next segment's start_s``; the last segment's ``end_s`` stays ``None`` (unknown) rather
than an invented estimate, and ``meta.duration_s`` is then the last start time. The vtt and srt
writers need an end for every cue: an unknown end is written as start + 0.4 s per word (at least
1 s), so that one value does not survive a round trip through vtt/srt.

Segments keep the source granularity: consecutive cues of one speaker stay separate segments.
Readers leave roles ``unknown`` (JSON keeps the stored ones); `evaluator.roles.assign_roles` sets them.

Round trips: whatever a writer writes, its reader reads back with the same segment text, speaker
and times to the millisecond. The txt writer writes ``[hh:mm:ss] Name: text`` and adds the end
time (``[00:00:01.500 - 00:00:04.000]``) only where it is not simply the next segment's start.
Roles are not stored in vtt/srt/txt; they are re-derived. JSON is exactly lossless.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from evaluator.audio import AUDIO_EXTENSIONS as _DECODABLE
from evaluator.errors import InputFileError, TranscriptError, UsageError
from evaluator.files import atomic_write, read_text, sha256_bytes
from evaluator.transcript import Segment, Transcript, TranscriptMeta, segment_id

# One list of what can be transcribed: the decoder's (audio.py is light to import), without the dots.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(e.lstrip(".") for e in _DECODABLE)

# Extension (no dot, lower case) -> format name.
EXTENSIONS: dict[str, str] = {
    "json": "json",
    "vtt": "vtt",
    "webvtt": "vtt",
    "srt": "srt",
    "txt": "txt",
    "text": "txt",
}

# Names accepted by --format / --from / --to besides the canonical ones.
_ALIASES = {"webvtt": "vtt", "subrip": "srt", "text": "txt", "plain": "txt"}

# Two segments overlap only beyond this tolerance (exports round to the millisecond).
_OVERLAP_TOLERANCE_S = 0.0005
# About 50 hours of talk as WebVTT (an hour is ~75 KB), a full-day loop of interviews several times over: more is
# not one interview, and evaluating it would take minutes (~6 s a MB: alignment, evidence and rule scans are
# linear but not free).
MAX_TRANSCRIPT_BYTES = 4 * 1024 * 1024


def is_audio_path(path: str | Path) -> bool:
    """True when the file's extension is one of `AUDIO_EXTENSIONS` (audio or video to transcribe)."""
    return Path(path).suffix.lower().lstrip(".") in AUDIO_EXTENSIONS


def normalize_format(fmt: str) -> str:
    """The canonical format name for `fmt` ('WebVTT' -> 'vtt'); UsageError listing the supported ones."""
    name = fmt.strip().lower().lstrip(".")
    name = _ALIASES.get(name, name)
    if name not in READERS:
        raise UsageError(
            f"unknown transcript format {fmt!r}",
            hint=f"use one of: {', '.join(sorted(READERS))}",
        )
    return name


def format_for_path(path: str | Path) -> str:
    """The transcript format of a file, from its extension ('.vtt' -> 'vtt').

    Raises InputFileError for audio files (they must be transcribed first) and for unknown
    extensions, listing the supported ones.
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    supported = ", ".join("." + e for e in sorted(EXTENSIONS))
    if ext in AUDIO_EXTENSIONS:
        raise InputFileError(
            f"{p}: is an audio/video file, not a transcript",
            hint="transcribe it first (`interview-eval transcribe`), or give a transcript file",
        )
    raise InputFileError(
        f"{p}: unsupported transcript extension {('.' + ext) if ext else '(none)'}",
        hint=f"use one of {supported}, or name the format (--format, or --from/--to for convert)",
    )


# ---------------------------------------------------------------- time stamps

# [h:]mm:ss with an optional fraction; ',' (SRT) and '.' (VTT) both accepted.
_TS = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_TS_RE = re.compile(rf"^(?:(\d+):)?(\d{{1,2}}):(\d{{2}})(?:[.,](\d{{1,3}}))?$")
_TIMING_RE = re.compile(rf"^\s*({_TS})\s*-->\s*({_TS})(?:\s+.*)?$")
_TS_LIKE = re.compile(r"\d+:\d+(?::\d+)?(?:[.,]\d+)?")


def _looks_like_timing(line: str) -> bool:
    """A cue timing line, well-formed or not ('00:01.5 -> 00:04', '00:00:01 - 00:00:04')."""
    if "-->" in line:
        return re.match(r"^\s*\d", line) is not None  # cue text may contain "-->" too
    # Two time stamps joined by something arrow-like, and nothing else.
    return len(_TS_LIKE.findall(line)) == 2 and re.fullmatch(r"[\s\-–>=]+", _TS_LIKE.sub("", line)) is not None


def parse_timestamp(text: str) -> float:
    """Seconds from 'hh:mm:ss.mmm', 'mm:ss,mmm', 'h:mm:ss' or 'm:ss' (ValueError if malformed)."""
    m = _TS_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    h, mi, s, frac = m.groups()
    if int(s) >= 60 or (h is not None and int(mi) >= 60):
        raise ValueError(text)
    value = int(h or 0) * 3600 + int(mi) * 60 + int(s)
    if frac:
        value += int(frac.ljust(3, "0")) / 1000
    return round(value, 3)


def format_timestamp(seconds: float, *, sep: str = ".", always_hours: bool = True) -> str:
    """'hh:mm:ss.mmm' (VTT) or with sep=',' 'hh:mm:ss,mmm' (SRT)."""
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    head = f"{h:02d}:{m:02d}" if (always_hours or h) else f"{m:02d}"
    return f"{head}:{s:02d}{sep}{ms:03d}"


# ---------------------------------------------------------------- speaker labels

# A speaker name: starts with a letter, at most 5 words of letters/digits/.'-_ and optional
# parenthesised role ("Dana Reyes (Recruiter)"); no sentence punctuation.
_NAME = r"[^\W\d][\w.'’\-]*(?:[ \t]+[\w.'’\-&]+){0,4}(?:[ \t]*\([^()\n]{1,30}\))?"
_NAME_RE = re.compile(rf"^{_NAME}$")
_PREFIX_RE = re.compile(rf"^({_NAME})[ \t]*:[ \t]*(.*)$", re.S)

# Words that often end a prefix in prose ("Here's the thing: ...") but never a name.
_NOT_NAMES = frozenset(
    "note notes so and but well the thing here there example question answer yes no okay ok um uh "
    "http https also then because step tip summary agenda".split()
)
# Conventional labels are always accepted as speakers even if they appear once.
_LABEL_WORDS = frozenset(
    "interviewer interviewee candidate applicant host guest recruiter manager customer agent csm "
    "speaker".split()
)


def _plausible_name(name: str) -> bool:
    words = name.split()
    return bool(words) and words[0].lower().strip(".'") not in _NOT_NAMES and bool(_NAME_RE.match(name))


def _accepted_prefixes(candidates: list[str], total: int, *, timed: set[str] = frozenset()) -> set[str]:
    """Which 'X:' prefixes are speaker names.

    Accepted: names seen at least twice, conventional labels, names on a timestamped turn, and -
    when most of the `total` lines/cues are labelled turns - any short Title-Case name. A single
    "So here's the thing: ..." in prose does not become a speaker; real speaker labels repeat.
    """
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c] = counts.get(c, 0) + 1

    def title(name: str) -> bool:
        return len(name.split()) <= 3 and all(w[0].isupper() or w[0].isdigit() for w in name.split())

    accepted = set()
    for name, n in counts.items():
        low = name.lower()
        if n >= 2 or any(w in _LABEL_WORDS for w in re.findall(r"[a-z]+", low)) or (name in timed and title(name)):
            accepted.add(name)
    if candidates and len(candidates) >= 0.6 * total:
        accepted |= {c for c in counts if title(c)}
    return accepted


def _split_prefix(text: str) -> tuple[str, str] | None:
    m = _PREFIX_RE.match(text)
    if m and _plausible_name(m.group(1).strip()):
        return m.group(1).strip(), m.group(2)
    return None


# ---------------------------------------------------------------- shared building


@dataclass
class _Cue:
    """A parsed turn before ids are assigned; `where` locates it in the file for messages."""

    start_s: float | None
    end_s: float | None
    speaker: str
    text: str
    where: str


def _clean_spaces(text: str) -> str:
    return " ".join(text.split())


def _build(cues: list[_Cue], source: str, fmt: str, warnings: list[str]) -> Transcript:
    """Turn parsed cues into a Transcript: check times, order, overlaps; ids s0000...; warnings."""
    cues = [c for c in cues if c.text.strip()]
    if not cues:
        raise TranscriptError(
            f"{source}: no transcript turns found (read as {fmt})",
            hint="check that the file is a transcript, or name its format with --format",
        )
    for c in cues:
        if c.start_s is not None and c.end_s is not None and c.end_s < c.start_s:
            raise TranscriptError(
                f"{source}, {c.where}: cue ends ({format_timestamp(c.end_s)}) before it starts "
                f"({format_timestamp(c.start_s)})",
                hint="fix the timing line so that end >= start",
            )
    timed = [c for c in cues if c.start_s is not None]
    if len(timed) == len(cues):
        order = sorted(range(len(cues)), key=lambda i: cues[i].start_s)  # stable
        if order != list(range(len(cues))):
            first = next(cues[i] for k, i in enumerate(order) if i != k)
            warnings.append(
                f"cues were not in time order (first out of place: {first.where}); sorted by start time"
            )
            cues = [cues[i] for i in order]
    crosstalk: list[_Cue] = []
    same: list[_Cue] = []
    prev: _Cue | None = None  # the cue that runs latest so far: a short cue inside a long one overlaps it too
    for c in cues:
        if prev is not None and None not in (c.start_s, prev.end_s) and c.start_s < prev.end_s - _OVERLAP_TOLERANCE_S:
            (crosstalk if c.speaker != prev.speaker else same).append(c)
        if c.end_s is not None and (prev is None or prev.end_s is None or c.end_s >= prev.end_s):
            prev = c
        elif prev is None:
            prev = c
    if crosstalk:
        warnings.append(
            f"{len(crosstalk)} cue(s) overlap a cue of another speaker (crosstalk), kept as they are; "
            f"first: {crosstalk[0].where} at {format_timestamp(crosstalk[0].start_s)}"
        )
    if same:
        warnings.append(
            f"{len(same)} cue(s) overlap the previous cue of the same speaker, kept as they are; "
            f"first: {same[0].where} at {format_timestamp(same[0].start_s)}"
        )
    segments = [
        Segment(id=segment_id(i), start_s=c.start_s, end_s=c.end_s, speaker=c.speaker, text=_clean_spaces(c.text))
        for i, c in enumerate(cues)
    ]
    t = Transcript(meta=TranscriptMeta(source_format=fmt, warnings=list(warnings)), segments=segments)
    _finish_meta(t)
    return t


def _finish_meta(t: Transcript) -> None:
    """Duration and the speaker-label warnings every reader shares."""
    if t.meta.duration_s is None:
        t.meta.duration_s = _duration(t)
    unlabeled = sum(1 for s in t.segments if not s.speaker)
    if t.segments and unlabeled == len(t.segments):
        t.meta.warnings.append(
            "no speaker labels found: every segment has speaker '' and role unknown; roles can only be "
            "guessed per segment (question-like turns as interviewer) — a diarized or labelled transcript is better"
        )
    elif unlabeled:
        t.meta.warnings.append(f"{unlabeled} segment(s) have no speaker label (speaker '')")


# ---------------------------------------------------------------- JSON


def read_json(text: str, source: str) -> Transcript:
    """The project's transcript JSON, validated by the Transcript model."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})",
            hint="fix the JSON, or name the real format with --format",
        ) from None
    if not isinstance(data, dict) or "segments" not in data:
        raise TranscriptError(
            f"{source}: JSON is not an interview-eval transcript (no 'segments' list)",
            hint="give a file written by `interview-eval transcript convert ... out.json` or `transcribe`",
        )
    try:
        t = Transcript.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise TranscriptError(
            f"{source}: invalid transcript JSON at {loc}: {err['msg']} ({exc.error_count()} error(s))",
            hint="fix that field; see the Transcript model in evaluator/transcript.py",
        ) from None
    if not t.segments:
        raise TranscriptError(f"{source}: the transcript has no segments", hint="give a transcript with content")
    for s in t.segments:
        if s.start_s is not None and s.end_s is not None and s.end_s < s.start_s:
            raise TranscriptError(
                f"{source}, segment {s.id}: ends ({s.end_s}) before it starts ({s.start_s})",
                hint="fix the segment times",
            )
    return t


def write_json(t: Transcript) -> str:
    """The lossless transcript JSON."""
    return t.model_dump_json(indent=2) + "\n"


# ---------------------------------------------------------------- WebVTT

_VOICE_RE = re.compile(r"<v(?:\.[\w.\-]+)?(?:[ \t]+([^>]*))?>(.*?)(?:</v>|(?=<v[ .>])|$)", re.S)
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")
# SRT has no escaping: only strip the formatting tags and {\an8}-style codes players know.
_SRT_TAG_RE = re.compile(r"</?(?:i|b|u|s|font|c|v)(?:[\s.][^>]*)?>|\{\\[^}]*\}", re.I)


def _strip_tags(text: str) -> str:
    """Cue text without WebVTT markup, entities decoded, direction marks dropped."""
    return html.unescape(_TAG_RE.sub("", text)).replace("\u200e", "").replace("\u200f", "")


def _strip_srt_tags(text: str) -> str:
    return _SRT_TAG_RE.sub("", text)


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks as (1-based first line number, lines)."""
    out: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    start = 0
    for i, line in enumerate(lines, 1):
        if line.strip():
            if not cur:
                start = i
            cur.append(line.rstrip())
        elif cur:
            out.append((start, cur))
            cur = []
    if cur:
        out.append((start, cur))
    return out


def read_vtt(text: str, source: str) -> Transcript:
    """WebVTT with speakers from `<v Name>` voice tags or a `Name: ` prefix in the cue text."""
    lines = text.split("\n")
    first = lines[0].lstrip("\ufeff") if lines else ""
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", first):
        looks_srt = any(_TIMING_RE.match(line) and "," in line for line in lines[:20])
        raise TranscriptError(
            f"{source}, line 1: not a WebVTT file (the first line must be 'WEBVTT', found {first[:40]!r})",
            hint="add the 'WEBVTT' header line" + (", or read it as SRT with --format srt" if looks_srt else ""),
        )
    raw: list[tuple[_Cue, str | None]] = []  # (cue, voice name or None)
    blocks = _blocks(lines)
    for n, (lineno, block) in enumerate(blocks):
        if n == 0:
            continue  # the header block: 'WEBVTT' and optional header lines (Kind:, Language:)
        head = block[0].strip()
        if re.match(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)", head):
            continue
        timing_idx = next((i for i, line in enumerate(block[:2]) if _looks_like_timing(line)), None)
        cue_no = len(raw) + 1
        if timing_idx is None:
            raise TranscriptError(
                f"{source}, line {lineno}: cue {cue_no} has no timing line, found {head[:50]!r}",
                hint="each cue needs a line 'hh:mm:ss.mmm --> hh:mm:ss.mmm' (after an optional cue id), "
                "and cues are separated by one blank line",
            )
        timing_line = block[timing_idx]
        tl_no = lineno + timing_idx
        cue_id = block[0].strip() if timing_idx == 1 else None
        where = f"line {tl_no} (cue {cue_id})" if cue_id else f"line {tl_no} (cue {cue_no})"
        m = _TIMING_RE.match(timing_line)
        try:
            if not m:
                raise ValueError(timing_line)
            start, end = parse_timestamp(m.group(1)), parse_timestamp(m.group(2))
        except ValueError:
            raise TranscriptError(
                f"{source}, {where}: broken cue timing {timing_line.strip()[:60]!r}",
                hint="write it as 'hh:mm:ss.mmm --> hh:mm:ss.mmm' (minutes and seconds below 60)",
            ) from None
        body = "\n".join(block[timing_idx + 1 :])
        voices = [(name, txt) for name, txt in _VOICE_RE.findall(body)] if "<v" in body else []
        if voices:
            for name, txt in voices:
                raw.append((_Cue(start, end, "", _strip_tags(txt), where), _clean_spaces(html.unescape(name or ""))))
        else:
            raw.append((_Cue(start, end, "", _strip_tags(body), where), None))
    return _build(_resolve_prefixes(raw), source, "vtt", [])


def _resolve_prefixes(raw: list[tuple[_Cue, str | None]]) -> list[_Cue]:
    """Set speakers from voice tags, else from 'Name: ' prefixes that look like speaker labels."""
    candidates = []
    for cue, voice in raw:
        if voice is None:
            sp = _split_prefix(_clean_spaces(cue.text))
            if sp:
                candidates.append(sp[0])
    accepted = _accepted_prefixes(candidates, sum(1 for _, voice in raw if voice is None))
    out = []
    for cue, voice in raw:
        text = _clean_spaces(cue.text)
        if voice is not None:
            cue.speaker = voice
            # Some exports put both: '<v Dana>Dana: hello' - drop the duplicated name.
            sp = _split_prefix(text)
            if sp and sp[0] == voice:
                text = sp[1]
        else:
            sp = _split_prefix(text)
            if sp and sp[0] in accepted:
                cue.speaker, text = sp
        cue.text = text
        out.append(cue)
    return out


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


def write_vtt(t: Transcript) -> str:
    """WebVTT with a `<v Speaker>` voice tag per cue (segments without times are refused)."""
    _require_times(t, "vtt")
    out = ["WEBVTT", ""]
    for s in t.segments:
        end = _cue_end(s)
        out.append(s.id)
        out.append(f"{format_timestamp(s.start_s)} --> {format_timestamp(end)}")
        body = _vtt_escape(s.text)
        out.append(f"<v {_vtt_escape(s.speaker)}>{body}</v>" if s.speaker else body)
        out.append("")
    return "\n".join(out)


def _cue_end(s: Segment) -> float:
    """A cue needs an end: an unknown one (last turn of a txt transcript) is estimated from its length."""
    if s.end_s is not None:
        return s.end_s
    return round(s.start_s + max(1.0, 0.4 * len(s.text.split())), 3)


def _require_times(t: Transcript, fmt: str) -> None:
    missing = [s for s in t.segments if s.start_s is None]
    if missing:
        raise TranscriptError(
            f"segment {missing[0].id}: has no start time, which {fmt} needs ({len(missing)} segment(s) without times)",
            hint="write it as txt or json instead",
        )


# ---------------------------------------------------------------- SRT

_INDEX_RE = re.compile(r"^\d+$")


def read_srt(text: str, source: str) -> Transcript:
    """SubRip: cue number, 'hh:mm:ss,mmm --> hh:mm:ss,mmm', text lines; speakers from 'Name: ' prefixes.

    A cue whose number is missing is read when its timing line starts the block (unambiguous);
    text that belongs to no timing line is an error naming the line.
    """
    lines = text.split("\n")
    raw: list[tuple[_Cue, str | None]] = []
    warnings: list[str] = []
    missing_idx: list[int] = []
    blocks = _blocks(lines)
    if not any(_looks_like_timing(line) for line in lines):
        raise TranscriptError(
            f"{source}: no SRT cues found (no 'hh:mm:ss,mmm --> hh:mm:ss,mmm' timing lines)",
            hint="check the file, or name its real format with --format (txt for plain 'Name: text' lines)",
        )
    for lineno, block in blocks:
        # A block may hold several cues when blank lines are missing: split at timing lines.
        i = 0
        while i < len(block):
            line = block[i].strip()
            idx_line = None
            if _INDEX_RE.match(line) and i + 1 < len(block):
                idx_line, i = line, i + 1
                line = block[i].strip()
            if not _looks_like_timing(line):
                raise TranscriptError(
                    f"{source}, line {lineno + i}: text outside any cue ({line[:50]!r}): expected "
                    + ("a timing line 'hh:mm:ss,mmm --> hh:mm:ss,mmm' after the cue number" if idx_line
                       else "a cue number and a timing line 'hh:mm:ss,mmm --> hh:mm:ss,mmm' before the text"),
                    hint="each SRT cue is: number, timing line, text lines, blank line; restore the missing lines "
                    "(or remove the blank line inside the cue text)",
                )
            tl_no = lineno + i
            where = f"line {tl_no} (cue {idx_line})" if idx_line else f"line {tl_no} (cue {len(raw) + 1})"
            if idx_line is None:
                missing_idx.append(tl_no)
            m = _TIMING_RE.match(line)
            try:
                if not m:
                    raise ValueError(line)
                start, end = parse_timestamp(m.group(1)), parse_timestamp(m.group(2))
            except ValueError:
                raise TranscriptError(
                    f"{source}, {where}: broken cue timing {line[:60]!r}",
                    hint="write it as 'hh:mm:ss,mmm --> hh:mm:ss,mmm' (minutes and seconds below 60)",
                ) from None
            i += 1
            body: list[str] = []
            while i < len(block) and not _looks_like_timing(block[i]) and not (
                _INDEX_RE.match(block[i].strip()) and i + 1 < len(block) and _looks_like_timing(block[i + 1])
            ):
                body.append(block[i])
                i += 1
            text_ = "\n".join(body)
            voices = _VOICE_RE.findall(text_) if "<v" in text_ else []
            if voices:
                for name, txt in voices:
                    raw.append((_Cue(start, end, "", _strip_srt_tags(txt), where), _clean_spaces(name)))
            else:
                raw.append((_Cue(start, end, "", _strip_srt_tags(text_), where), None))
    if missing_idx:
        warnings.append(
            f"{len(missing_idx)} SRT cue(s) have no cue number (first at line {missing_idx[0]}); "
            "read them by their timing lines"
        )
    return _build(_resolve_prefixes(raw), source, "srt", warnings)


def write_srt(t: Transcript) -> str:
    """SRT with the speaker as a 'Name: ' prefix of the cue text."""
    _require_times(t, "srt")
    out = []
    for n, s in enumerate(t.segments, 1):
        end = _cue_end(s)
        out.append(str(n))
        out.append(f"{format_timestamp(s.start_s, sep=',')} --> {format_timestamp(end, sep=',')}")
        out.append(f"{s.speaker}: {s.text}" if s.speaker else s.text)
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- plain text

# A timestamp in brackets/parens, optionally a range "[00:01.5 - 00:04]" (what write_txt emits).
_BTS = rf"[\[(]\s*({_TS})(?:\s*[-–]\s*({_TS}))?\s*[\])]"
_TXT_TS_FIRST = re.compile(rf"^{_BTS}\s*(.*)$", re.S)
_TXT_NAME_TS = re.compile(rf"^({_NAME})\s*{_BTS}\s*:\s*(.*)$", re.S)
# Otter-style header: "Dana Reyes  0:03" / "Speaker 1  1:02:03" / "Dana (00:03)" alone on its line.
_TXT_HEADER = re.compile(rf"^({_NAME})\s+(?:[\[(]\s*)?({_TS})(?:\s*[\])])?$")


_FOOTER_RE = re.compile(r"^(?:transcribed by https?://\S+|transcribed by otter\.ai)\s*$", re.I)


@dataclass
class _Line:
    kind: str  # 'turn' (speaker given), 'timed' (time, no speaker), 'text', 'blank'
    lineno: int
    speaker: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    text: str = ""
    header: bool = False  # a header line whose text follows on the next lines
    rest: str = ""  # the line without a leading timestamp (used if the speaker is rejected)
    ts_first: bool = False  # the line started with a timestamp


def _ts(a: str | None) -> float | None:
    return parse_timestamp(a) if a else None


def _classify_txt_line(line: str, lineno: int) -> _Line:
    s = line.strip()
    start = end = None
    rest = s
    m = _TXT_TS_FIRST.match(s)  # "[00:03] Dana: text" or "[00:03] text"
    if m:
        start, end, rest = _ts(m.group(1)), _ts(m.group(2)), m.group(3).strip()
    if not m:
        h = _TXT_HEADER.match(s)  # "Dana Reyes  0:03"
        if h and _plausible_name(h.group(1)):
            return _Line("turn", lineno, h.group(1), _ts(h.group(2)), None, "", header=True, rest=s)
        n = _TXT_NAME_TS.match(s)  # "Dana [00:03]: text"
        if n and _plausible_name(n.group(1).strip()):
            return _Line("turn", lineno, n.group(1).strip(), _ts(n.group(2)), _ts(n.group(3)), n.group(4), rest=s)
    first = m is not None
    sp = _split_prefix(rest)
    if sp:
        return _Line("turn", lineno, sp[0], start, end, sp[1], header=not sp[1].strip(), rest=rest, ts_first=first)
    if m:
        # "[00:03] Dana Reyes" alone, followed by a paragraph: a header with the time first.
        if rest and _plausible_name(rest) and len(rest.split()) <= 3 and rest[-1] not in ".?!,":
            return _Line("turn", lineno, rest, start, end, "", header=True, rest=rest, ts_first=True)
        return _Line("timed", lineno, None, start, end, rest, rest=rest, ts_first=True)
    return _Line("text", lineno, text=s, rest=s)


def read_txt(text: str, source: str) -> Transcript:
    """Plain text turns: 'Name: words' lines with optional timestamps, or 'Name  0:03' headers + paragraphs."""
    parsed: list[_Line] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            parsed.append(_Line("blank", lineno))
            continue
        if _FOOTER_RE.match(line.strip()):
            continue  # note-taker footers such as "Transcribed by https://otter.ai"
        try:
            parsed.append(_classify_txt_line(line, lineno))
        except ValueError:
            raise TranscriptError(
                f"{source}, line {lineno}: broken timestamp in {line.strip()[:60]!r}",
                hint="write times as [hh:mm:ss], [mm:ss] or (mm:ss) with minutes and seconds below 60",
            ) from None
    # Speaker names must repeat (or be conventional labels) so that a line of prose such as
    # "So here's the thing: ..." or "We met at 5:30" is not taken for a speaker turn.
    turns = [p for p in parsed if p.kind == "turn"]
    accepted = _accepted_prefixes(
        [p.speaker for p in turns],
        sum(1 for p in parsed if p.kind != "blank"),
        timed={p.speaker for p in turns if p.start_s is not None},
    )
    for p in parsed:
        if p.kind == "turn" and p.speaker not in accepted:
            p.kind = "timed" if p.ts_first else "text"
            p.speaker, p.header, p.text = None, False, p.rest
            if p.kind == "text":
                p.start_s = p.end_s = None
    has_turns = any(p.kind == "turn" for p in parsed)
    # Without any speaker turns, blank lines separate paragraphs (one segment each); a file
    # without blank lines is taken line by line.
    last = max((i for i, p in enumerate(parsed) if p.kind != "blank"), default=0)
    has_blank = any(p.kind == "blank" for p in parsed[:last])
    cues: list[_Cue] = []
    warnings: list[str] = []
    preamble: list[int] = []
    open_para = False  # the last cue may take continuation lines
    for p in parsed:
        if p.kind == "blank":
            if not has_turns:
                open_para = False
            continue
        where = f"line {p.lineno}"
        if p.kind == "turn":
            cues.append(_Cue(p.start_s, p.end_s, p.speaker, p.text, where))
            open_para = True
        elif p.kind == "timed":
            speaker = cues[-1].speaker if cues else ""
            cues.append(_Cue(p.start_s, p.end_s, speaker, p.text, where))
            open_para = has_turns or has_blank
        elif cues and open_para:  # plain text continues the previous turn
            cues[-1].text = (cues[-1].text + " " + p.text).strip()
        elif has_turns:
            preamble.append(p.lineno)
        else:
            cues.append(_Cue(None, None, "", p.text, where))
            open_para = has_blank
    if preamble and cues:
        warnings.append(
            f"line(s) {preamble[0]}-{preamble[-1]} before the first speaker turn were skipped (a title or notes?)"
            if len(preamble) > 1
            else f"line {preamble[0]} before the first speaker turn was skipped (a title or notes?)"
        )
    if not any(re.search(r"\w", c.text) for c in cues):
        raise TranscriptError(
            f"{source}: no transcript turns found (no 'Name: text' lines and no text)",
            hint="give lines like '[00:01:02] Dana: text' or 'Dana  0:03' headers followed by text",
        )
    # Only start times in txt: the end of a turn is the start of the next, unless given as a range.
    for i, c in enumerate(cues):
        if c.end_s is None and c.start_s is not None:
            nxt = next((d.start_s for d in cues[i + 1 :] if d.start_s is not None), None)
            if nxt is not None and nxt >= c.start_s:
                c.end_s = nxt
    return _build(cues, source, "txt", warnings)


def _txt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    base = f"{h:02d}:{m:02d}:{s:02d}"
    return f"{base}.{ms:03d}" if ms else base


def write_txt(t: Transcript) -> str:
    """'[hh:mm:ss] Name: text' lines; an end time is added only where it is not the next start."""
    out = []
    segs = t.segments
    for i, s in enumerate(segs):
        nxt = segs[i + 1].start_s if i + 1 < len(segs) else None
        stamp = ""
        if s.start_s is not None:
            implied = nxt if (nxt is not None and nxt >= s.start_s) else None
            if s.end_s is not None and (implied is None or abs(s.end_s - implied) > 0.0005):
                stamp = f"[{_txt_time(s.start_s)} - {_txt_time(s.end_s)}] "
            else:
                stamp = f"[{_txt_time(s.start_s)}] "
        name = f"{s.speaker}: " if s.speaker else ""
        out.append(f"{stamp}{name}{s.text}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- registry and API

READERS: dict[str, Callable[[str, str], Transcript]] = {
    "json": read_json,
    "vtt": read_vtt,
    "srt": read_srt,
    "txt": read_txt,
}

WRITERS: dict[str, Callable[[Transcript], str]] = {
    "json": write_json,
    "vtt": write_vtt,
    "srt": write_srt,
    "txt": write_txt,
}


def parse_transcript(text: str, fmt: str, *, source: str = "<text>") -> Transcript:
    """Parse transcript text in a named format (no file involved); `source` names it in errors."""
    return READERS[normalize_format(fmt)](text, source)


def read_transcript(path: str | Path, fmt: str | None = None) -> Transcript:
    """Read a transcript file; the format comes from `fmt` or the extension.

    Fills meta.source (the path), meta.source_sha256 (of the file bytes), meta.source_format and
    meta.duration_s. For our own JSON the stored meta is kept and only fields it lacks are filled,
    so provenance such as the original audio file survives. Roles are as in the source (unknown
    for vtt/srt/txt); see `evaluator.roles.assign_roles`.
    """
    p = Path(path)
    name = normalize_format(fmt) if fmt else None
    if not p.exists():
        raise InputFileError(f"{p}: no such transcript file", hint="check the path")
    if name is None:
        name = format_for_path(p)
    text = read_text(p, what="transcript", max_bytes=MAX_TRANSCRIPT_BYTES)
    t = READERS[name](text, str(p))
    if name == "json":
        t.meta.source = t.meta.source or str(p)
        t.meta.source_sha256 = t.meta.source_sha256 or sha256_bytes(p.read_bytes())
        t.meta.source_format = t.meta.source_format or "json"
        if t.meta.duration_s is None:
            t.meta.duration_s = _duration(t)
    else:
        t.meta.source = str(p)
        t.meta.source_sha256 = sha256_bytes(p.read_bytes())
        t.meta.source_format = name
    return t


def _duration(t: Transcript) -> float | None:
    """The latest end (or start, where the end is unknown) of any segment; None without times."""
    ends = [s.end_s if s.end_s is not None else s.start_s for s in t.segments]
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def render_transcript(t: Transcript, fmt: str) -> str:
    """The transcript as text in a named format."""
    return WRITERS[normalize_format(fmt)](t)


def write_transcript(t: Transcript, path: str | Path, fmt: str | None = None) -> Path:
    """Write a transcript atomically (no half-written file); the format comes from `fmt` or the extension."""
    p = Path(path)
    name = normalize_format(fmt) if fmt else format_for_path(p)
    try:
        text = WRITERS[name](t)
    except TranscriptError as exc:
        raise TranscriptError(f"{p}: cannot write as {name}: {exc.message}", hint=exc.hint) from None
    return atomic_write(p, text)
