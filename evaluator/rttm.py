"""RTTM speaker turns (pyannote / whisperX diarization output) and assigning them to segments.

An RTTM line: `SPEAKER <file> <channel> <start> <duration> <NA> <NA> <name> <NA> <NA>`.
Only SPEAKER lines carry turns; other record types (SPKR-INFO, LEXEME, ...) are skipped. Pure: no
models, no printing.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evaluator.errors import TranscriptError
from evaluator.files import read_text
from evaluator.transcript import Segment, Transcript, Word, segment_id

_OTHER_TYPES = {"SPKR-INFO", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER", "NOSCORE", "NO_RT_METADATA",
                "SEGMENT", "SU", "A/P", "CB", "IP", "EDIT", "STYPE"}


class SpeakerTurn(BaseModel):
    """One stretch of time in which one speaker talks."""

    model_config = ConfigDict(extra="forbid")

    speaker: str
    start_s: float
    end_s: float
    file_id: str = ""
    channel: str = "1"
    line: int = 0

    @property
    def duration_s(self) -> float:
        """Length of the turn in seconds."""
        return self.end_s - self.start_s


def parse_rttm(text: str, *, source: str = "<rttm>") -> list[SpeakerTurn]:
    """Parse RTTM text into speaker turns sorted by start, with an error naming the line for bad input."""
    turns: list[SpeakerTurn] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        f = line.split()
        kind = f[0].upper()
        if kind != "SPEAKER":
            if kind in _OTHER_TYPES:
                continue
            raise TranscriptError(
                f"{source}, line {n}: expected an RTTM record starting with SPEAKER, got {f[0][:20]!r}",
                hint="give an RTTM file (pyannote `write_rttm`, whisperX `--diarize`)",
            )
        if len(f) < 8:
            raise TranscriptError(
                f"{source}, line {n}: an RTTM SPEAKER line needs at least 8 fields "
                f"(SPEAKER file channel start duration <NA> <NA> name), got {len(f)}",
                hint="check that fields are separated by spaces and none is missing",
            )
        try:
            start, dur = float(f[3]), float(f[4])
        except ValueError:
            raise TranscriptError(
                f"{source}, line {n}: start {f[3]!r} and duration {f[4]!r} must be numbers of seconds",
                hint="fields 4 and 5 of an RTTM line are start and duration",
            ) from None
        if start < 0 or dur < 0 or start != start or dur != dur:
            raise TranscriptError(f"{source}, line {n}: negative or NaN time (start {f[3]}, duration {f[4]})",
                                  hint="fix the line or regenerate the RTTM")
        name = f[7]
        if name in ("<NA>", ""):
            raise TranscriptError(f"{source}, line {n}: the speaker name (field 8) is missing",
                                  hint="every SPEAKER line needs a speaker label such as SPEAKER_00")
        turns.append(SpeakerTurn(speaker=name, start_s=start, end_s=start + dur, file_id=f[1],
                                 channel=f[2], line=n))
    if not turns:
        raise TranscriptError(f"{source}: no SPEAKER lines found", hint="give the RTTM your diarizer wrote")
    return sorted(turns, key=lambda t: (t.start_s, t.end_s))


def read_rttm(path: str | Path) -> list[SpeakerTurn]:
    """Read an RTTM file into speaker turns (clear errors for missing, empty or malformed files)."""
    return parse_rttm(read_text(path, what="RTTM file"), source=str(path))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def speaker_at(start_s: float, end_s: float, turns: list[SpeakerTurn]) -> str | None:
    """The speaker whose turns overlap [start_s, end_s] most; for no overlap, the nearest turn's speaker."""
    if not turns:
        return None
    totals: dict[str, float] = {}
    for t in turns:
        if t.start_s > end_s:
            break
        ov = _overlap(start_s, end_s, t.start_s, t.end_s)
        if ov > 0:
            totals[t.speaker] = totals.get(t.speaker, 0.0) + ov
    if totals:
        return max(totals.items(), key=lambda kv: kv[1])[0]
    mid = (start_s + end_s) / 2
    nearest = min(turns, key=lambda t: 0.0 if t.start_s <= mid <= t.end_s else min(abs(mid - t.start_s),
                                                                                     abs(mid - t.end_s)))
    return nearest.speaker


def assign_speakers(t: Transcript, turns: list[SpeakerTurn], *, split_on_words: bool = True) -> Transcript:
    """Set each segment's speaker from the RTTM turn it overlaps most.

    With word timestamps and `split_on_words`, each word gets its own speaker and a segment spanning a
    change of speaker is split there (ASR segments often run across a quick turn change). Segment ids
    are renumbered s0000... in time order. Roles are left for `evaluator.roles`.
    """
    out: list[Segment] = []
    for seg in t.segments:
        if seg.start_s is None or seg.end_s is None:
            out.append(seg.model_copy())
            continue
        if split_on_words and seg.words:
            out.extend(_split_by_speaker(seg, turns))
        else:
            out.append(seg.model_copy(update={"speaker": speaker_at(seg.start_s, seg.end_s, turns) or seg.speaker}))
    for i, seg in enumerate(out):
        seg.id = segment_id(i)
    return t.model_copy(update={"segments": out})


def _split_by_speaker(seg: Segment, turns: list[SpeakerTurn]) -> list[Segment]:
    runs: list[tuple[str, list[Word]]] = []
    for w in seg.words or []:
        who = speaker_at(w.start_s, w.end_s, turns) or seg.speaker
        if runs and runs[-1][0] == who:
            runs[-1][1].append(w)
        else:
            runs.append((who, [w]))
    # A lone short word flipping speaker is usually timing jitter at a boundary: fold it back.
    merged: list[tuple[str, list[Word]]] = []
    for who, ws in runs:
        if merged and len(ws) == 1 and len(runs) > 1 and merged[-1][0] != who and _is_jitter(ws[0], who, turns):
            merged[-1][1].extend(ws)
        elif merged and merged[-1][0] == who:
            merged[-1][1].extend(ws)
        else:
            merged.append((who, list(ws)))
    if len(merged) == 1:
        return [seg.model_copy(update={"speaker": merged[0][0]})]
    return [
        Segment(id=seg.id, start_s=ws[0].start_s, end_s=ws[-1].end_s, speaker=who, role=seg.role,
                text=" ".join(w.text.strip() for w in ws).strip(), words=ws)
        for who, ws in merged
    ]


def _is_jitter(w: Word, who: str, turns: list[SpeakerTurn]) -> bool:
    """True when the word barely overlaps its assigned speaker's turn (< 50% of the word)."""
    span = max(w.end_s - w.start_s, 1e-6)
    best = max((_overlap(w.start_s, w.end_s, t.start_s, t.end_s) for t in turns if t.speaker == who), default=0.0)
    return best / span < 0.5
