"""Talk time: each party's share of the speaking, the interviewer's longest monologue, interruptions."""

from __future__ import annotations

import re
from typing import Any

from evaluator.coach.report import Interruption, Monologue, SpeakerShare, TalkTime
from evaluator.text import fmt_time, words
from evaluator.transcript import Role, Transcript

# Speaking rate used only to estimate the length of a last turn that has a start but no end.
_WORDS_PER_S = 2.5
_SLOW_WORDS_PER_S = 1.0
# Interviewer share of talk above which the report suggests talking less (structured interviews: listen more).
TALK_SHARE_LIMIT = 0.45


def ends_are_derived(t: Transcript) -> bool:
    """True when end times are missing or merely copied from the next turn's start (txt readers do this)."""
    segs = t.segments
    for i, seg in enumerate(segs):
        if seg.end_s is None:
            continue
        nxt = next((x.start_s for x in segs[i + 1:] if x.start_s is not None), None)
        if nxt is None or abs(seg.end_s - nxt) > 1e-6:
            return False
    return True


def turn_ends(t: Transcript) -> list[float | None]:
    """End time of every turn. Real end times are kept. Missing or derived ones run to the next start, but no
    longer than the words could take at a slow pace: a gap before the next line is nobody's speaking time."""
    derived = ends_are_derived(t)
    out: list[float | None] = []
    segs = t.segments
    for i, seg in enumerate(segs):
        if seg.start_s is None:
            out.append(seg.end_s)
            continue
        if seg.end_s is not None and not derived:
            out.append(seg.end_s)
            continue
        longest = max(2.0, len(words(seg.text)) / _SLOW_WORDS_PER_S)
        nxt = next((x.start_s for x in segs[i + 1:] if x.start_s is not None and x.start_s >= seg.start_s), None)
        if nxt is not None:
            out.append(min(nxt, seg.start_s + longest))
        else:
            out.append(seg.start_s + len(words(seg.text)) / _WORDS_PER_S)
    return out


def transcript_end(t: Transcript) -> float | None:
    """When the last turn ends (None without timestamps)."""
    if not t.has_times:
        return None
    return max((e or 0.0) for e in turn_ends(t))


def measure_talk_time(t: Transcript) -> TalkTime:
    """Each party's share of speaking time (of words when there are no timestamps), the longest interviewer
    monologue, and interruptions and overlaps where the timestamps or the text show them."""
    timed = t.has_times
    ends_given = timed and all(s.end_s is not None for s in t.segments) and not ends_are_derived(t)
    ends = turn_ends(t)
    per: dict[str, dict[str, Any]] = {}
    for i, seg in enumerate(t.segments):
        d = per.setdefault(seg.speaker, {"role": seg.role, "turns": 0, "words": 0, "seconds": 0.0})
        d["turns"] += 1
        d["words"] += len(words(seg.text))
        if timed:
            d["seconds"] += max(0.0, (ends[i] or seg.start_s) - seg.start_s)
    basis = "time" if timed else "words"
    key = "seconds" if timed else "words"
    total = sum(d[key] for d in per.values()) or 1
    speakers = [SpeakerShare(speaker=s, role=d["role"], turns=d["turns"], words=d["words"],
                             seconds=round(d["seconds"], 1) if timed else None, share=round(d[key] / total, 3))
                for s, d in per.items()]

    def role_share(role: Role) -> float:
        return round(sum(d[key] for d in per.values() if d["role"] == role) / total, 3)

    if not timed:
        note = ("No timestamps in the transcript: shares are of words spoken, not of time; "
                "interruptions, overlaps and time per question cannot be measured.")
    elif not ends_given:
        note = ("Shares are of speaking time estimated from start times only: a turn lasts until the next one "
                "starts, but at most one second per word, so short pauses count towards the speaker and overlaps "
                "cannot be seen.")
    else:
        note = "Shares are of speaking time from the segment start and end times."
    return TalkTime(basis=basis, note=note, interviewer_share=role_share(Role.interviewer),
                    candidate_share=role_share(Role.candidate), speakers=speakers,
                    longest_monologue=_longest_monologue(t, timed, ends),
                    interruptions=_interruptions(t, ends_given), overlaps_measurable=ends_given)


def _longest_monologue(t: Transcript, timed: bool, ends: list[float | None]) -> Monologue | None:
    runs: list[list[int]] = []
    current: list[int] = []
    for i, seg in enumerate(t.segments):
        if seg.role == Role.interviewer:
            current.append(i)
        elif seg.role == Role.candidate:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    if not runs:
        return None

    def size(run: list[int]) -> float:
        if timed:
            return sum(max(0.0, (ends[i] or 0) - t.segments[i].start_s) for i in run)
        return sum(len(words(t.segments[i].text)) for i in run)

    best = max(runs, key=size)
    segs = [t.segments[i] for i in best]
    nwords = sum(len(words(s.text)) for s in segs)
    text = " ".join(s.text for s in segs)
    return Monologue(segment_ids=[s.id for s in segs], start_s=segs[0].start_s,
                     end_s=ends[best[-1]] if timed else None,
                     duration_s=round(size(best), 1) if timed else None, words=nwords,
                     time=fmt_time(segs[0].start_s), excerpt=text[:160] + ("..." if len(text) > 160 else ""))


_CUT_OFF = re.compile(r"(--|\u2014|\u2013|-|\.\.\.|\u2026)\s*$")


def _interruptions(t: Transcript, ends_given: bool) -> list[Interruption]:
    out: list[Interruption] = []
    segs = t.segments
    for i in range(1, len(segs)):
        prev, cur = segs[i - 1], segs[i]
        if prev.speaker == cur.speaker or cur.role not in (Role.interviewer, Role.candidate):
            continue
        if ends_given and prev.end_s is not None and cur.start_s is not None and cur.start_s < prev.end_s - 0.2:
            out.append(Interruption(segment_id=cur.id, interrupted_segment_id=prev.id, by_role=cur.role,
                                    start_s=cur.start_s, time=fmt_time(cur.start_s),
                                    overlap_s=round(prev.end_s - cur.start_s, 1), evidence="overlap"))
        elif _CUT_OFF.search(prev.text.strip()) and not prev.text.strip().endswith("?"):
            out.append(Interruption(segment_id=cur.id, interrupted_segment_id=prev.id, by_role=cur.role,
                                    start_s=cur.start_s, time=fmt_time(cur.start_s), evidence="cut-off"))
    return out
