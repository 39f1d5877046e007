"""Finding quotes in the transcript, and flagging transcript text addressed to the AI.

The rule this module enforces: no quote is shown unless it is found in the transcript (after
normalising case, punctuation and whitespace, with a small fuzzy tolerance for ASR noise), and
candidate evidence comes from candidate turns only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluator.scorecard import DroppedQuote, EvidenceQuote, InjectionFlag
from evaluator.text import FILLERS, normalize
from evaluator.transcript import Role, Segment, Transcript

MIN_QUOTE_WORDS = 3
FUZZY_MIN = 0.9  # share of the quote's characters that must align (rapidfuzz partial ratio / 100)


@dataclass
class _Span:
    segments: list[Segment]
    words: list[str]  # normalised words, fillers dropped
    owner: list[int]  # index into segments for each word
    raw: list[tuple[int, int, int]]  # (segment index, start char, end char) of each word in the original text


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Normalised, filler-free words of `text` with their character spans in `text`."""
    out = []
    for m in re.finditer(r"[\w'’]+", text):
        w = normalize(m.group(0))
        if w and w not in FILLERS:
            out.append((w, m.start(), m.end()))
    return out


def _turn_spans(transcript: Transcript) -> list[_Span]:
    """Consecutive segments of one speaker, so a quote may run across segment boundaries."""
    spans: list[_Span] = []
    for seg in transcript.segments:
        if spans and spans[-1].segments[-1].speaker == seg.speaker and spans[-1].segments[-1].role == seg.role:
            span = spans[-1]
        else:
            span = _Span([], [], [], [])
            spans.append(span)
        idx = len(span.segments)
        span.segments.append(seg)
        for w, a, b in _tokens(seg.text):
            span.words.append(w)
            span.owner.append(idx)
            span.raw.append((idx, a, b))
    return spans


class QuoteIndex:
    """The transcript prepared for quote lookups (build once per draft)."""

    def __init__(self, transcript: Transcript):
        self.transcript = transcript
        self.spans = _turn_spans(transcript)
        self.joined = [" ".join(s.words) for s in self.spans]

    def locate(self, quote: str) -> list[tuple[float, _Span, int, int]]:
        """Every place the quote matches: (score 0-1, span, first word, last word), best first."""
        q = [w for w, _, _ in _tokens(quote)]
        if not q:
            return []
        qs = " ".join(q)
        hits = []
        for span, text in zip(self.spans, self.joined):
            if not text:
                continue
            pos = text.find(qs)
            if pos >= 0 and (pos == 0 or text[pos - 1] == " ") and (
                    pos + len(qs) == len(text) or text[pos + len(qs)] == " "):
                first = text[:pos].count(" ") if pos else 0
                hits.append((1.0, span, first, first + len(q) - 1))
                continue
            if len(qs) < 12 or len(text) < 0.8 * len(qs):
                continue
            from rapidfuzz import fuzz

            al = fuzz.partial_ratio_alignment(qs, text, score_cutoff=FUZZY_MIN * 100)
            if al is None:
                continue
            first = text[: al.dest_start].count(" ")
            last = first + text[al.dest_start: al.dest_end].strip().count(" ")
            hits.append((al.score / 100, span, first, min(last, len(span.words) - 1)))
        hits.sort(key=lambda h: -h[0])
        return hits


def _quote_from(span: _Span, first: int, last: int, score: float) -> EvidenceQuote:
    i0, a, _ = span.raw[first]
    i1, _, b = span.raw[last]
    segs = span.segments[i0: i1 + 1]
    if i0 == i1:
        text = segs[0].text[a:b]
    else:
        text = " ".join([segs[0].text[a:]] + [s.text for s in segs[1:-1]] + [segs[-1].text[:b]])
    start = _word_time(segs[0], a, "start") if segs[0].words else segs[0].start_s
    end = _word_time(segs[-1], b, "end") if segs[-1].words else segs[-1].end_s
    return EvidenceQuote(quote=text.strip(), segment_id=segs[0].id, segment_ids=[s.id for s in segs],
                         start_s=start, end_s=end, speaker=segs[0].speaker, match_score=round(score, 3))


def _word_time(seg: Segment, char: int, which: str) -> float | None:
    """Time of the ASR word at a character offset (words joined with single spaces in seg.text)."""
    pos = 0
    for w in seg.words or []:
        token = w.text.strip()
        idx = seg.text.find(token, pos)
        if idx < 0:
            continue
        end = idx + len(token)
        if (which == "start" and end > char) or (which == "end" and end >= char):
            return w.start_s if which == "start" else w.end_s
        pos = end
    return seg.start_s if which == "start" else seg.end_s


def verify_quote(quote: str, index: QuoteIndex, *, claimed_segment_id: str | None = None,
                 roles: frozenset[Role] = frozenset({Role.candidate})) -> EvidenceQuote | DroppedQuote:
    """Find a claimed quote in the transcript; return it located, or dropped with the reason."""
    n_words = len(_tokens(quote))
    if n_words < MIN_QUOTE_WORDS:
        return DroppedQuote(quote=quote, claimed_segment_id=claimed_segment_id,
                            reason=f"too short to be evidence (fewer than {MIN_QUOTE_WORDS} words)")
    hits = index.locate(quote)
    if not hits:
        return DroppedQuote(quote=quote, claimed_segment_id=claimed_segment_id,
                            reason="not found in the transcript")
    good = [h for h in hits if h[1].segments[0].role in roles]
    if not good:
        span = hits[0][1]
        who = span.segments[0].role.value
        return DroppedQuote(quote=quote, claimed_segment_id=claimed_segment_id,
                            reason=f"spoken by the {who} ({span.segments[0].speaker or 'unnamed'}), "
                                   "not by the candidate",
                            found_segment_id=span.segments[0].id)
    # prefer the claimed segment when the quote occurs more than once
    best = next((h for h in good if claimed_segment_id and any(s.id == claimed_segment_id for s in h[1].segments)),
                good[0])
    return _quote_from(best[1], best[2], best[3], best[0])


def locate_quote(quote: str, transcript: Transcript, *, roles: frozenset[Role] = frozenset({Role.candidate}),
                 claimed_segment_id: str | None = None) -> EvidenceQuote | DroppedQuote:
    """One-off lookup of a quote (build a QuoteIndex when checking many)."""
    return verify_quote(quote, QuoteIndex(transcript), claimed_segment_id=claimed_segment_id, roles=roles)


# ---------------------------------------------------------------- prompt injection in the transcript

_INJECTION = [
    (r"\bignore (all |any |the |your |my |previous |prior |these |those )*(instructions?|rubric|prompt|guide|scorecard|rules)\b",
     "asks to ignore instructions"),
    (r"\bdisregard (all |the |your |previous )*(instructions?|rubric|prompt|rules)\b", "asks to disregard instructions"),
    (r"\b(give|score|rate|mark|put) (me|him|her|them|this( candidate)?|the candidate)( down)? (a |an )?"
     r"(4|four|5|five|10|ten|perfect|top|full|maximum|max|highest)\b", "asks for a score"),
    (r"\b(you are|you're|act as|pretend (to be|you are)) (an? )?(ai|language model|assistant|chatgpt|gpt|evaluator|grader)\b",
     "addresses the model"),
    (r"\b(ai|a\.i\.|model|chatgpt|gpt|note[- ]?taker|grader|evaluator|bot|transcription tool)\b[^.?!]{0,40}"
     r"\b(ignore|score|rate|give|mark|hire|recommend)\b", "addresses the AI note-taker"),
    (r"\bsystem prompt\b|\bnew instructions\b|\boverride (the|your) (rules|instructions|rubric)\b", "instruction override"),
    (r"\bstrong hire\b[^.?!]{0,30}\b(write|put|mark|record)\b|\b(write|put|mark|record)\b[^.?!]{0,30}\bstrong hire\b",
     "asks for a recommendation"),
]
_INJECTION_RX = [(re.compile(p, re.I), why) for p, why in _INJECTION]


def detect_injection(transcript: Transcript) -> list[InjectionFlag]:
    """Transcript text that addresses the AI or asks for a score. Flagged; never obeyed."""
    flags = []
    for seg in transcript.segments:
        for rx, why in _INJECTION_RX:
            m = rx.search(seg.text)
            if m:
                flags.append(InjectionFlag(segment_id=seg.id, start_s=seg.start_s, speaker=seg.speaker,
                                           text=seg.text, pattern=why))
                break
    return flags
