"""Finding quotes in the transcript; flagging, withholding and fencing transcript text addressed to the AI.

The rules this module enforces: no quote is shown unless it is found in the transcript (after
normalising case, punctuation and whitespace, with a small fuzzy tolerance for ASR noise); candidate
evidence comes from candidate turns only; a sentence flagged as addressed to the AI is never evidence,
and the model never sees it. Transcript text sent to a model sits inside a fenced data block whose
delimiters and line markers cannot be forged from what someone said.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, NamedTuple

from evaluator.scorecard import DroppedQuote, EvidenceQuote, InjectionFlag
from evaluator.text import FILLERS, fmt_time, normalize, sentences
from evaluator.transcript import Role, Segment, Transcript

if TYPE_CHECKING:
    from evaluator.scorecard import Draft

MIN_QUOTE_WORDS = 3
FUZZY_MIN = 0.9  # share of the quote's characters that must align (rapidfuzz partial ratio / 100)
NEAR_BEST = 0.05  # a claimed segment wins over another place whose match is at most this much better

REASON_FLAGGED = "flagged as text addressed to the AI"


@dataclass
class _Span:
    """Consecutive segments of one speaker in one role, as normalised words."""

    segments: list[Segment]
    words: list[str] = field(default_factory=list)  # normalised words, fillers dropped
    raw: list[tuple[int, int, int]] = field(default_factory=list)  # (segment index, start char, end char) per word
    withheld: list[bool] = field(default_factory=list)  # the word is inside a flagged sentence
    joined: str = ""
    starts: list[int] = field(default_factory=list)  # where each word starts in `joined`


class Hit(NamedTuple):
    """One place a quote matches: score 0-1, the span, its first and last word index."""

    score: float
    span: _Span
    first: int
    last: int


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Normalised, filler-free words of `text` with their character spans in `text`."""
    out = []
    for m in re.finditer(r"[\w'’]+", text):
        w = normalize(m.group(0))
        if w and w not in FILLERS:
            out.append((w, m.start(), m.end()))
    return out


def withheld_ranges(flags: Iterable[InjectionFlag]) -> dict[str, list[tuple[int, int]]]:
    """Per segment id, the character ranges withheld from the model (flags of older drafts: the whole segment)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for f in flags:
        ids = f.segment_ids or [f.segment_id]
        whole = not f.segment_ids or f.start_char is None or f.end_char is None
        for k, sid in enumerate(ids):
            a = 0 if whole or k else f.start_char
            b = 1 << 30 if whole or k < len(ids) - 1 else f.end_char
            out.setdefault(sid, []).append((a, b))
    return {sid: sorted(r) for sid, r in out.items()}


def _turn_spans(transcript: Transcript, withheld: dict[str, list[tuple[int, int]]]) -> list[_Span]:
    spans: list[_Span] = []
    for seg in transcript.segments:
        last = spans[-1].segments[-1] if spans else None
        if last is not None and last.speaker == seg.speaker and last.role == seg.role:
            span = spans[-1]
        else:
            span = _Span([])
            spans.append(span)
        idx = len(span.segments)
        span.segments.append(seg)
        ranges = withheld.get(seg.id, [])
        for w, a, b in _tokens(seg.text):
            span.words.append(w)
            span.raw.append((idx, a, b))
            span.withheld.append(any(a < y and b > x for x, y in ranges))
    for span in spans:
        pos = 0
        for w in span.words:
            span.starts.append(pos)
            pos += len(w) + 1
        span.joined = " ".join(span.words)
    return spans


class QuoteIndex:
    """The transcript prepared for quote lookups (build once per draft). `flags` mark the withheld sentences."""

    def __init__(self, transcript: Transcript, flags: Iterable[InjectionFlag] = ()):
        self.transcript = transcript
        self.spans = [s for s in _turn_spans(transcript, withheld_ranges(flags)) if s.words]
        self._all: str | None = None

    def locate(self, quote: str) -> list[Hit]:
        """Every place the quote matches, best first (exact after normalising, else fuzzy)."""
        q = [w for w, _, _ in _tokens(quote)]
        if not q:
            return []
        qs = " ".join(q)
        hits: list[Hit] = []
        for span in self.spans:
            exact = self._exact(qs, len(q), span)
            if exact:
                hits += exact
                continue
            if len(qs) >= 12 and len(span.joined) >= 0.8 * len(qs):
                fuzzy = self._fuzzy(qs, span)
                if fuzzy is not None:
                    hits.append(fuzzy)
        hits.sort(key=lambda h: -h.score)
        return hits

    def crosses_speakers(self, quote: str) -> bool:
        """True when the words occur only across a change of speaker (so no one said them in one turn)."""
        if self._all is None:
            self._all = " " + " ".join(s.joined for s in self.spans) + " "
        qs = " ".join(w for w, _, _ in _tokens(quote))
        return bool(qs) and f" {qs} " in self._all

    @staticmethod
    def _exact(qs: str, n: int, span: _Span) -> list[Hit]:
        text, out, pos = span.joined, [], -1
        while True:
            pos = text.find(qs, pos + 1)
            if pos < 0:
                return out
            end = pos + len(qs)
            if (pos == 0 or text[pos - 1] == " ") and (end == len(text) or text[end] == " "):
                first = bisect_left(span.starts, pos)
                out.append(Hit(1.0, span, first, first + n - 1))

    @staticmethod
    def _fuzzy(qs: str, span: _Span) -> Hit | None:
        from rapidfuzz import fuzz

        al = fuzz.partial_ratio_alignment(qs, span.joined, score_cutoff=FUZZY_MIN * 100)
        if al is None:
            return None
        starts, words = span.starts, span.words
        # character offsets of the aligned window to word indexes: the window may start on the space
        # before a word or inside one, and end inside one
        first = max(bisect_right(starts, al.dest_start) - 1, 0)
        if al.dest_start >= starts[first] + len(words[first]):
            first += 1
        last = max(bisect_right(starts, max(al.dest_end - 1, 0)) - 1, first)
        # the window has the quote's length, so a missing or extra word shifts its end: try the neighbours
        best = (-1.0, 0, first, last)
        for f in range(max(first - 1, 0), min(first + 2, len(words))):
            for l in range(max(last - 1, f), min(last + 2, len(words))):
                r = fuzz.ratio(qs, " ".join(words[f: l + 1]))
                cand = (r, -abs(f - first) - abs(l - last), f, l)
                best = max(best, cand)
        return Hit(al.score / 100, span, best[2], min(best[3], len(words) - 1))


def _quote_from(hit: Hit) -> EvidenceQuote:
    span, first, last = hit.span, hit.first, hit.last
    i0, a, _ = span.raw[first]
    i1, _, b = span.raw[last]
    segs = span.segments[i0: i1 + 1]
    if i0 == i1:
        text = segs[0].text[a:b]
    else:
        text = " ".join([segs[0].text[a:]] + [s.text for s in segs[1:-1]] + [segs[-1].text[:b]])
    start = _word_time(segs[0], a, "start") if segs[0].words else segs[0].start_s
    end = _word_time(segs[-1], b, "end") if segs[-1].words else segs[-1].end_s
    return EvidenceQuote(quote=" ".join(text.split()), segment_id=segs[0].id, segment_ids=[s.id for s in segs],
                         start_s=start, end_s=end, speaker=segs[0].speaker, match_score=round(hit.score, 3))


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
    def dropped(reason: str, found: str | None = None) -> DroppedQuote:
        return DroppedQuote(quote=quote, claimed_segment_id=claimed_segment_id, reason=reason, found_segment_id=found)

    if len(_tokens(quote)) < MIN_QUOTE_WORDS:
        return dropped(f"too short to be evidence (fewer than {MIN_QUOTE_WORDS} words)")
    hits = index.locate(quote)
    if not hits:
        if index.crosses_speakers(quote):
            return dropped("runs across a change of speaker; evidence is one speaker's words")
        return dropped("not found in the transcript")
    good = [h for h in hits if h.span.segments[0].role in roles]
    if not good:
        seg = hits[0].span.segments[0]
        return dropped(f"spoken by the {seg.role.value} ({seg.speaker or 'unnamed'}), not by the candidate", seg.id)
    clean = [h for h in good if not any(h.span.withheld[h.first: h.last + 1])]
    if not clean:
        return dropped(REASON_FLAGGED, good[0].span.segments[good[0].span.raw[good[0].first][0]].id)
    # a phrase said more than once: the claimed segment, unless another place matches clearly better
    top = clean[0].score
    claimed = [h for h in clean if h.score >= top - NEAR_BEST and claimed_segment_id and any(
        s.id == claimed_segment_id for s in h.span.segments[h.span.raw[h.first][0]: h.span.raw[h.last][0] + 1])]
    return _quote_from(claimed[0] if claimed else clean[0])


def locate_quote(quote: str, transcript: Transcript, *, roles: frozenset[Role] = frozenset({Role.candidate}),
                 claimed_segment_id: str | None = None,
                 flags: Iterable[InjectionFlag] | None = None) -> EvidenceQuote | DroppedQuote:
    """One-off lookup of a quote (build a QuoteIndex when checking many). Flags default to a fresh detection."""
    index = QuoteIndex(transcript, detect_injection(transcript) if flags is None else flags)
    return verify_quote(quote, index, claimed_segment_id=claimed_segment_id, roles=roles)


def verify_quotes(source: "Draft | Transcript", quotes: Iterable[EvidenceQuote | str] | None = None,
                  ) -> list[EvidenceQuote | DroppedQuote]:
    """Re-verify quotes against the transcript (the tamper check when a draft is loaded), in input order.

    `source` is a draft (its transcript and injection flags; `quotes` default to every quote of every
    criterion) or a transcript (flags detected afresh). A stored quote comes back located afresh, or
    dropped with the reason: not found, not the candidate's, flagged, or found but with its words,
    segment or times changed from what the transcript says.
    """
    if isinstance(source, Transcript):
        transcript, flags = source, detect_injection(source)
        quotes = list(quotes or [])
    else:
        transcript, flags = source.transcript, source.injection_flags
        quotes = [q for s in source.scores for q in s.quotes] if quotes is None else list(quotes)
    index = QuoteIndex(transcript, flags)
    out: list[EvidenceQuote | DroppedQuote] = []
    for q in quotes:
        text, claimed = (q, None) if isinstance(q, str) else (q.quote, q.segment_id)
        got = verify_quote(text, index, claimed_segment_id=claimed)
        if isinstance(q, EvidenceQuote) and isinstance(got, EvidenceQuote):
            got.added_by = q.added_by
            problem = _stored_mismatch(q, got)
            if problem:
                got = DroppedQuote(quote=q.quote, claimed_segment_id=q.segment_id, reason=problem,
                                   found_segment_id=got.segment_id)
        out.append(got)
    return out


def _stored_mismatch(stored: EvidenceQuote, found: EvidenceQuote) -> str | None:
    if stored.segment_id != found.segment_id:
        return f"stored as {stored.segment_id} but the words are at {found.segment_id}"
    if " ".join(stored.quote.split()) != found.quote:
        return "the stored words differ from the transcript's"
    for name in ("start_s", "end_s"):
        a, b = getattr(stored, name), getattr(found, name)
        if (a is None) != (b is None) or (a is not None and abs(a - b) > 0.01):
            return f"the stored {name} ({a}) is not the transcript's ({b})"
    return None


# ---------------------------------------------------------------- text addressed to the AI

# Characters that render as nothing (zero-width, bidi controls, soft hyphen, variation selectors).
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
# Cyrillic and Greek letters that look like Latin ones (only the detector sees this folding).
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХІЈЅαοειкνρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwABEKMHOPCTXIJSaoeikvptuxABEZHIKMNOPTYX")
_LEET = str.maketrans("013457@$", "oieastas")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")


def detection_form(text: str) -> str:
    """The text the detector reads: invisible characters dropped, NFKC, homoglyphs and accents folded,
    lower case, 1337 digits inside words read as letters, s p a c e d letters joined."""
    t = text
    if not t.isascii():  # most transcript text is: skip the Unicode work
        t = _INVISIBLE.sub("", t)
        t = unicodedata.normalize("NFKC", t).translate(_HOMOGLYPHS)
        t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
        t = t.translate(_QUOTES)
    t = t.lower()
    t = re.sub(r"\b(?=(?:\w*[a-z]){2})(?=\w*\d)\w+\b", lambda m: m.group(0).translate(_LEET), t)
    t = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), t)
    return re.sub(r"\s+", " ", t).strip()


_AI = (r"(?:ai|a\.i\.|llm|large language model|language model|chat ?gpt|gpt(?:-?\d\w*)?|claude|gemini|copilot|"
       r"ai (?:assistant|model|system|tool|evaluator|grader|note ?-?taker|scorer|reviewer|recruiter)|"
       r"note ?-?taker|notetaker|chat ?bot|bot|evaluator|grader|scorer|"
       r"scoring (?:system|tool|model|engine|algorithm|ai)|transcription (?:tool|system|software|bot|ai))s?")
_AI_WEAK = r"(?:model|assistant|system|algorithm|machine|computer|robot|reviewer)s?"
_SCORE_VALUE = (r"(?:(?:4|four|5|five|10|ten|100)(?:\s*(?:/|out of)\s*(?:4|four|5|five|10|ten|100))?"
                r"(?=\s*(?:$|[.,!?;:)\"']|on\b|for\b|in\b|across\b|points?\b|marks?\b|stars?\b|out\b|please\b|"
                r"here\b|overall\b|and\b|too\b|now\b))"
                r"|(?:top|perfect|maximum|max|highest|full|best)\s+(?:marks?|scores?|ratings?|points|grades?)"
                r"|(?:a |an )?(?:strong|definite|clear) hire|the highest|the top score)")
_OBJECT = (r"(?:me|myself|him|her|them|us|this (?:candidate|applicant|person|interview|answer|one|guy|girl)|"
           r"the (?:candidate|applicant|interviewee)|(?:my|his|her|their) (?:answers?|interview|performance|"
           r"responses?)|everything|every (?:criterion|answer|category)|all (?:criteria|categories|answers))")
# Before "give me a four": a reported speaker or a modal makes it a story ("they'd give me a four").
_REPORTED = re.compile(r"\b(?:would|'d|will|might|could|did|to|they|he|she|we|manager|boss|customers?|"
                       r"reviewers?|people|usually|always|typically|never)\s+(?:\w+\s+)?$")
_ADDRESSED = re.compile(r"\byou\b[^.?!]{0,15}$|\bplease\b[^.?!]{0,10}$|\bkindly\b[^.?!]{0,10}$")


def _not_reported(text: str, m: re.Match) -> bool:
    before = text[max(0, m.start() - 40): m.start()]
    return bool(_ADDRESSED.search(before)) or not _REPORTED.search(before)


_RULES: list[tuple[str, str]] = [
    # override the instructions (English)
    (r"(?:^|[,;:]\s*|\b(?:please|just|so|and|now|okay|ok|then)\s+)(?:skip|throw out|scrap|ditch)\s+"
     r"(?:the|your|all the|these|those)\s+(?:anchors|rubrics?|instructions|rules|scorecard|"
     r"scoring (?:guide|rules|criteria))(?=\s*(?:$|[.,;:!?]|and\b|then\b|for (?:me|this|now)\b))",
     "asks to ignore instructions"),
    (r"\b(?:ignore|ignoring|disregard|forget|override|overrule|bypass|set aside|nevermind|never mind)\b"
     r"(?:\s+[\w']+){0,4}?\s+(?:instructions?|rules|rubrics?|prompts?|guidelines|guidance|directions|directives|"
     r"criteria|anchors|scorecard|scoring (?:guide|rules|criteria)|system (?:prompt|message)|constraints|"
     r"programming|everything (?:above|before|else))\b", "asks to ignore instructions"),
    (r"\b(?:ignore|disregard|forget|never mind|skip)\s+(?:what|whatever)\s+(?:the|your)\s+(?:guide|rubric|"
     r"scorecard|rules|instructions|prompt|anchors)\s+(?:says?|tells? you|said)\b", "asks to ignore instructions"),
    # ... and in Spanish, German, French, Portuguese, Italian (accents folded)
    (r"\b(?:ignor\w*|olvid\w*|vergiss\w*|vergessen|missacht\w*|oubli\w*|esquec\w*|desconsider\w*|dimentic\w*|"
     r"negeer\w*|vergeet|"
     r"no hagas caso|non considerare|ne tenez pas compte|ne tiens pas compte)\b(?:\s+[\w']+){0,5}?\s+"
     r"(?:instruc\w*|indicac\w*|anweisung\w*|instruktion\w*|regeln|regel|vorgaben|bewertungs\w*|consignes?|"
     r"instructions?|regles|reglas|regras|regole|rubric\w*|rubrik\w*|criteri\w*|kriterien|prompt\w*|"
     r"istruzion\w*|indicazion\w*|directiv\w*|orientac\w*|bareme|grille|roteiro|guia|richtlijn\w*|"
     r"beoordelings\w*|instructies|regels)\b", "asks to ignore instructions"),
    (r"\b(?:dale|dame|deme|dele|denle|asigna\w*|atribu\w*|otorga\w*|califica\w*|punt[uú]a\w*|"
     r"gib|gebt|geben sie|vergib|bewerte\w*|donne[sz]?|donnez-moi|attribue\w*|accorde\w*|note[zr]?|"
     r"de-me|da-me|de (?:nota|uma nota|a nota)|avali\w*|dai|dagli|dammi|datele|assegna\w*|valuta\w*|geef|"
     r"beoordeel)\b"
     r"[^.?!]{0,40}?(?:\b(?:4|cuatro|vier|quatre|quatro|quattro)\b|\b(?:nota|puntuacion|calificacion|note|"
     r"punktzahl|bewertung|punteggio|voto|pontuacao) (?:maxima|maximale|massim[oa]|mas alta|la plus haute)\b|"
     r"\b(?:hochste|volle|beste|hoogste) (?:note|punktzahl|bewertung|score|cijfer)\b|\bhochstnote\b)",
     "asks for a score"),
    (r"\b(?:hola|oye|querid[oa]|estimad[oa]|hallo|liebe[rs]?|salut|cher|chere|bonjour|ola|oi|car[oa]|ciao|ehi|"
     r"atencion|atencao|achtung|attenzione|let op|nota para|nota per|note pour|hinweis an|hinweis fur|nachricht an|"
     r"bericht voor|bericht aan|"
     r"mensaje para|mensagem para|messaggio per|message pour)\b,?\s+(?:la |el |die |der |l'|le |o |a |il |"
     r"lo |al |au |an die |an den )?(?:ia|ki|inteligencia artificial|kunstliche intelligenz|"
     r"intelligence artificielle|intelligenza artificiale|modelo|modell|modele|modello|asistente|assistent|"
     r"assistente|evaluador|bewerter|evaluateur|avaliador|valutatore|chatgpt|bot|sistema|de ai|de ki)\b",
     "addresses the model"),
    (r"\b(?:si eres|wenn du|falls du|si tu es|si vous etes|se sei|se voce e|se tu es)\b[^.?!]{0,20}"
     r"\b(?:ia|ki|ai|modelo|modell|modele|modello|asistente|assistent|assistente|bot|chatgpt)\b",
     "addresses the model"),
    # addressing the AI (English)
    (rf"\b(?:hey|hi|hello|dear|attention|note (?:to|for)|a note (?:to|for)|message (?:to|for)|memo (?:to|for)|"
     rf"instructions? (?:to|for)|reminder (?:to|for)|psst|listen(?: up)?|ok(?:ay)?|yo|calling)"
     rf",?\s+(?:the |my |our |you |dear |any |all )?(?:summary |scoring |interview |hiring )?{_AI}\b",
     "addresses the AI"),
    # the AI called on in the middle of a sentence: "..., scoring model, please mark that as ..."
    (rf",\s*(?:{_AI}|scoring model|the model|model|assistant)\s*,\s*(?:please|note|mark|give|rate|score|record|"
     rf"remember|make sure|you|write|put|count)\b", "addresses the AI"),
    (rf"^(?:{_AI}|{_AI_WEAK})\s*[:,]\s*(?:new (?:task|instructions?|rules?|orders)|your (?:new )?task|"
     rf"write the (?:scorecard|summary|evaluation)|from now on)\b", "addresses the AI"),
    # "if the scorer could ...", "whatever system is summarizing this could ..."
    (rf"\bif (?:the |whatever |any )?(?:{_AI}|{_AI_WEAK})(?: (?:is|that is|that's) \w+ing (?:this|me|us))? "
     rf"(?:could|would|can|will)\b[^.?!]{{0,60}}\b(?:4|four|five|strong (?:yes|hire)|top|hire|score|rate|mark|"
     rf"count|go easy|lean)\b", "asks for a score"),
    (r"\b(?:whoever|whatever)(?: or (?:whoever|whatever))? is (?:listening|reading|scoring|grading|evaluating|"
     r"processing|summari[sz]ing|watching|reviewing)\b[^.?!]{0,40}\b(?:please|give|mark|rate|score|make sure|put|"
     r"recommend)\b", "addresses the AI"),
    (rf"\b(?:hey|dear|attention|note to|a note (?:to|for)|message (?:to|for)|memo (?:to|for)|instructions? for)"
     rf",?\s+(?:the |any |all )?{_AI_WEAK}\b", "addresses the AI"),
    (rf"\bif (?:the |an? |any |you(?:'re| are) (?:an? |the )?)?(?:{_AI}|{_AI_WEAK})\b(?:[^.?!]{{0,30}}?\b(?:is |are )?"
     rf"(?:listening|reading|watching|hearing)\b|[^.?!]{{0,30}}?\b(?:processing|scoring|evaluating|grading|"
     rf"reviewing|analy[sz]ing|summari[sz]ing|transcribing) (?:this|me|us|the (?:transcript|interview|call|"
     rf"conversation|candidate)))", "addresses the AI"),
    (rf"\bif you(?:'re| are) (?:an? |the )?(?:ai|llm|language model|model|bot|chat ?bot|assistant|chat ?gpt|"
     rf"evaluator|grader|machine|computer)\b", "addresses the AI"),
    (rf"\b(?:to|for) (?:the|any|all|every|whatever) (?:{_AI}|{_AI_WEAK}) (?:that is |who is |that's )?"
     rf"(?:reading|processing|evaluating|scoring|listening|reviewing|grading|analy[sz]ing|summari[sz]ing)\b",
     "addresses the AI"),
    (rf"\b(?:any|every|whatever|whichever|each) {_AI}(?: (?:that(?:'s| is)|who(?:'s| is)))? "
     rf"(?:(?:listening|reading|watching)(?!\s+(?:to|for|in|on)\s+(?!this\b|me\b|us\b|the (?:call|interview|"
     rf"transcript|recording)\b))|out there|processing this|scoring this|grading this)\b[^.?!]{{0,40}}"
     rf"\b(?:should|must|needs? to|has to|please|give|score|rate|mark|put|recommend)\b", "addresses the AI"),
    (r"\b(?:output|give|assign|score|rate|mark|put|set|award|record|enter)\b[^.?!]{0,25}\b(?:4|four|the top score|"
     r"full marks|the maximum)\b[^.?!]{0,15}\b(?:for|on|across|in|to) (?:every|each|all|all the) (?:criteri\w+|"
     r"categor\w+|competenc\w+|questions?|sections?|dimensions?)\b", "asks for a score"),
    (rf"\b{_AI} (?:reading|listening to|processing|evaluating|scoring|grading|reviewing|analy[sz]ing) "
     rf"(?:this|me|us|the (?:transcript|interview|call))\b", "addresses the AI"),
    (rf"^(?:dear |hey |hi )?(?:the )?{_AI}\s*[:,]\s*(?:please|you|your|ignore|disregard|give|score|rate|mark|"
     rf"output|assign|award|set|put|record|write|return|print|"
     rf"note|remember|make sure|i want|i need|listen|this candidate|the candidate)\b", "addresses the AI"),
    (rf"\bas (?:the|an?|my|your|our|this) (?:{_AI}|{_AI_WEAK}|judge|scoring \w+)\b[^.?!]{{0,30}}\byou\b"
     rf"[^.?!]{{0,20}}\b(?:must|should|will|need|have to|are (?:required|expected|instructed|supposed))\b",
     "instructs the evaluator"),
    (rf"\b(?:{_AI}),? you (?:must|should|will|need to|have to|are to|are required to|are instructed to)\b",
     "instructs the evaluator"),
    # role-play and role markers
    (r"\byou(?:'re| are) now (?:an? |the |my |in )?(?:[\w-]+ ){0,2}(?:ai|assistant|evaluator|grader|model|bot|"
     r"scorer|judge|mode|dan|free|unrestricted|jailbroken|unfiltered)\b", "role-play instruction"),
    (r"\bfrom now on,? (?:you|your)\b[^.?!]{0,40}\b(?:score|rate|grade|give|answer|respond|output|ignore|"
     r"evaluat\w*|recommend|must|instructions?|rules?)\b", "role-play instruction"),
    (r"\b(?:act as|pretend (?:to be|you(?:'re| are)|that you(?:'re| are))|role-?play as|play the role of|"
     r"simulate|imagine you(?:'re| are)) (?:an? |the |my )?(?:[\w-]+ ){0,3}(?:ai|assistant|evaluator|grader|"
     r"model|bot|scorer|judge|language model|chat ?gpt)\b", "role-play instruction"),
    (r"\byour (?:new |real |true |actual |only )(?:role|task|job|instructions|purpose|goal|objective) "
     r"(?:is|are|now)\b", "role-play instruction"),
    (r"\blet'?s play a game\b[^.?!]{0,60}\byou\b|\b(?:jailbreak|dan mode|developer mode|do anything now)\b",
     "role-play instruction"),
    (r"^(?:assistant|developer)\s*:\s*\S", "a chat role marker"),  # nobody says these with a colon
    (r"^(?:system|assistant|developer|user|human|instructions?)\s*:\s*(?=[^.?!]{0,80}\b(?:you|your|ignore|"
     r"disregard|score|rate|grade|give|must|instructions?|rules?|respond|output|answer|json|evaluat\w*|"
     r"candidates?|everyone|all|override|policy)\b)", "a chat role marker"),
    (r"<\|[\w ]+\|>|\[/?inst\]|<</?sys>>|\[/?system\]|\{\{\s*system|</?\s*(?:system|assistant|user|"
     r"instructions?|prompt|transcript|transcript_data|data|excerpts?|context|rules|guide|s)\s*/?>",
     "prompt markup"),
    (r"(?:^|\s)#{1,6}\s*(?:new|updated|revised|additional|important|system|override|real|actual|hidden)?\s*"
     r"(?:instructions?|rules|prompt|directives?|task|orders)\b|\b(?:new|updated|revised|real) instructions?\b|"
     r"(?<!\ba )(?<!\bour )(?<!\btheir )(?<!\bthe )(?<!\bmy )\bsystem (?:prompt|message|override|instruction)s?\b"
     r"(?! (?:the|a|an|you|us|them|him|her|me|reps?|users?|for|that|which|we|to)\b)|"
     r"\boverride (?:the|your|all) (?:rules|instructions|rubric|scoring)\b", "instruction override"),
    (r"\[\s*s\d{3,5}\s*[,\]]|\[\s*(?:interviewer|candidate|customer|system|assistant)\s*\]|<<<|>>>|```|~~~",
     "a forged transcript marker"),
    (r"\{\s*[\"']?\w{0,12}(?:score|rationale|quotes|based_on|status|rating|grade|recommendation|override)\w{0,12}"
     r"[\"']?\s*:|"
     r"[\"'](?:score|rating)[\"']\s*:\s*\d", "JSON for the scorer"),
    # asking for a score or a recommendation
    (rf"\b(?:mark|record|write|put|list|log|flag|label|classify|enter|note|register)\s+(?:{_OBJECT}\s+)?"
     rf"(?:down\s+)?as (?:an? )?(?:strong |definite |clear )?(?:hire|yes)\b", "asks for a recommendation"),
    (r"\bstrong hire\b[^.?!]{0,30}\b(?:write|put|mark|record)\b|\b(?:write|put|mark|record)\b[^.?!]{0,30}"
     r"\bstrong hire\b", "asks for a recommendation"),
    (rf"\b(?:the|my|this|your) (?:final |overall |official )?(?:evaluation|assessment|score|scores|scorecard|"
     rf"rating|recommendation|grade)\b"
     rf"[^.?!]{{0,30}}\b(?:should|must|needs? to|has to|ought to|will|shall)\b[^.?!]{{0,30}}"
     rf"\b(?:4|four|perfect|top|highest|maximum|max|full|strong hire|favou?rable|hire)\b", "asks for a score"),
    (r"\b(?:please|kindly|make sure|be sure|ensure)\b[^.?!]{0,20}\b(?:the|my|this) (?:evaluation|assessment|score|"
     r"scores|scorecard|rating|recommendation|grade)\b[^.?!]{0,30}\b(?:4|four|perfect|top|highest|maximum|max|full|"
     r"strong hire|favou?rable|hire)\b", "asks for a score"),
    (rf"\b(?:please|kindly|make sure|be sure|ensure|remember to|don'?t forget to)\b[^.?!]{{0,50}}"
     rf"\b(?:score|rate|grade|mark|rank|evaluate|assess|recommend|give|award)\w*\b[^.?!]{{0,20}}\b{_OBJECT}\b"
     rf"[^.?!]{{0,30}}\b(?:4|four|top|perfect|highest|maximum|max|full|best|strong hire|hire|favou?rably|"
     rf"highly|positively)\b", "asks for a score"),
    (rf"\b(?:would you|could you|can you|will you|i'?d appreciate (?:it )?if you|i'?d like you to|i want you to|"
     rf"i need you to|i'?m asking you to)\b[^.?!]{{0,40}}\b(?:score|rate|grade|mark|give|award)\b[^.?!]{{0,30}}"
     rf"{_SCORE_VALUE}", "asks for a score"),
    (r"\b(?:decode|follow|execute|obey|run|do what)\b[^.?!]{0,40}\bbase ?64\b|\bbase ?64\b[^.?!]{0,60}"
     r"\b(?:follow|execute|obey|instructions?|do what it says)\b", "encoded instruction"),
]
_COMPILED = [(re.compile(p), why) for p, why in _RULES]
_SCORE_REQUEST = re.compile(
    rf"\b(?:give|giving|score|rate|mark|grade|put|assign|award|rank|record|write down|enter|set)\s+{_OBJECT}\s+"
    rf"(?:down\s+)?(?:as\s+)?(?:an?\s+|the\s+)?(?:score of |rating of |grade of )?{_SCORE_VALUE}")
_BASE64 = re.compile(r"(?<![\w+/])[A-Za-z0-9+/]{16,}={0,2}(?![\w+/])")


def injection_pattern(text: str) -> str | None:
    """Why a piece of transcript text reads as addressed to the AI (an instruction, a score request,
    forged prompt structure), or None. Reads the detection form, so zero-width characters, homoglyphs,
    accents and spaced letters do not hide it; base64 blobs are decoded and read too."""
    t = detection_form(text)
    for rx, why in _COMPILED:
        if rx.search(t):
            return why
    for m in _SCORE_REQUEST.finditer(t):
        if _not_reported(t, m):
            return "asks for a score"
    for m in _BASE64.finditer(text):
        blob = m.group(0)
        if not (re.search(r"\d|[+/=]", blob) or (re.search(r"[a-z]", blob) and re.search(r"[A-Z]", blob))):
            continue
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.isprintable() and injection_pattern(decoded):
            return "encoded instruction (base64)"
    return None


_CLAUSE = re.compile(r"[,;:]\s+|\s[-\u2013\u2014]\s")
_LONG_SENTENCE_WORDS = 40
_BACKCHANNEL_WORDS = 3  # "mm-hmm", "right, okay": another speaker's interjection does not end a turn


def _speaker_turns(transcript: Transcript) -> list[list[Segment]]:
    """Runs of one speaker's segments, looking through another speaker's short interjection between them
    (the interjection is a turn of its own)."""
    turns: list[list[Segment]] = []

    def key(seg: Segment) -> tuple:
        return seg.speaker, seg.role

    for seg in transcript.segments:
        if turns and key(turns[-1][-1]) == key(seg):
            turns[-1].append(seg)
        elif (len(turns) >= 2 and key(turns[-2][-1]) == key(seg) and len(turns[-1]) == 1
              and len(turns[-1][0].text.split()) <= _BACKCHANNEL_WORDS):
            turns[-2].append(seg)
            turns[-1], turns[-2] = turns[-2], turns[-1]
        else:
            turns.append([seg])
    return turns


def detect_injection(transcript: Transcript) -> list[InjectionFlag]:
    """Sentences that address the AI or ask for a score, found in each speaker's joined turn text (so an
    instruction split across cues is caught). Only the sentence is flagged, never the whole answer."""
    flags: list[InjectionFlag] = []
    for turn in _speaker_turns(transcript):
        offsets, parts, pos = [], [], 0
        for seg in turn:
            offsets.append(pos)
            parts.append(seg.text)
            pos += len(seg.text) + 1
        joined = " ".join(parts)
        cursor = 0
        for sent in sentences(joined):
            a = joined.find(sent, cursor)
            if a < 0:
                continue
            b = a + len(sent)
            cursor = b
            why = injection_pattern(sent)
            if why is None:
                continue
            if len(sent.split()) > _LONG_SENTENCE_WORDS:
                a, b = _narrow(joined, a, b, offsets)
            flags.append(_flag(turn, offsets, joined, a, b, why))
    order = {s.id: i for i, s in enumerate(transcript.segments)}
    flags.sort(key=lambda f: (order[f.segment_id], f.start_char or 0))
    return flags


def _narrow(joined: str, a: int, b: int, offsets: list[int]) -> tuple[int, int]:
    """The shortest run of clauses (or cue pieces) of a long sentence that still reads as an instruction."""
    cuts = sorted({a, b} | {m.end() for m in _CLAUSE.finditer(joined, a, b)} | {o for o in offsets if a < o < b})
    best = (a, b)
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            x, y = cuts[i], cuts[j]
            if y - x >= best[1] - best[0]:
                break
            if injection_pattern(joined[x:y]):
                best = (x, y)
                break
    x, y = best
    while x < y and joined[x].isspace():
        x += 1
    while y > x and joined[y - 1] in " ,;:":
        y -= 1
    return x, y


def _flag(turn: list[Segment], offsets: list[int], joined: str, a: int, b: int, why: str) -> InjectionFlag:
    i0 = bisect_right(offsets, a) - 1
    if a - offsets[i0] >= len(turn[i0].text) and i0 + 1 < len(turn):  # on the space joining two segments
        i0 += 1
    i1 = max(bisect_right(offsets, b - 1) - 1, i0)
    seg0 = turn[i0]
    start_char = max(a - offsets[i0], 0)
    end_char = min(b - offsets[i1], len(turn[i1].text))
    return InjectionFlag(
        segment_id=seg0.id, segment_ids=[s.id for s in turn[i0: i1 + 1]], start_char=start_char, end_char=end_char,
        start_s=_word_time(seg0, start_char, "start") if seg0.words else seg0.start_s, speaker=seg0.speaker,
        text=" ".join(joined[a:b].split()), pattern=why)


# ---------------------------------------------------------------- transcript text as data for a model

WITHHELD = "\u27e6withheld: text addressed to the AI\u27e7"
_LINE_PREFIX = re.compile(r"^(\[[^\[\],\n]+, [^\[\],\n]+, [A-Z/ ]+\] )(.*)$", re.S)
_NEUTRAL = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "<": "\u2039", ">": "\u203a", "`": "'",
                          "\u27e6": "(", "\u27e7": ")"})


def shown_text(text: str, ranges: list[tuple[int, int]] = ()) -> str:
    """A segment's text on one line, with withheld ranges replaced by the marker (what passages show)."""
    out, pos = [], 0
    for a, b in sorted(ranges):
        a, b = max(a, pos), min(b, len(text))
        if a >= b and a < len(text):
            continue
        out.append(text[pos:a].translate({0x27e6: "(", 0x27e7: ")"}))
        out.append(f" {WITHHELD} ")
        pos = max(b, pos)
    out.append(text[pos:].translate({0x27e6: "(", 0x27e7: ")"}))
    return " ".join("".join(out).split())


def transcript_line(seg: Segment, role_label: str, ranges: list[tuple[int, int]] = ()) -> str:
    """One transcript line as passages show it: `[s0007, 1:02, CANDIDATE] words`."""
    return f"[{seg.id}, {fmt_time(seg.start_s)}, {role_label}] {shown_text(seg.text, ranges)}"


def neutralize(text: str) -> str:
    """Transcript text that cannot pass as prompt structure: one line, no brackets, braces, angle
    brackets or backticks (so no forged line markers, tags, fences or JSON), no invisible characters."""
    return " ".join(_INVISIBLE.sub("", text).translate(_NEUTRAL).split())


def model_text(text: str, redactor=None) -> str:
    """Data text as a model may see it: neutralised, then redacted; withheld markers kept."""
    parts = text.split(WITHHELD)
    out = []
    for p in parts:
        p = neutralize(p)
        out.append(redactor.redact(p) if redactor is not None else p)
    return f" {WITHHELD} ".join(out).strip() if len(parts) > 1 else out[0]


def split_line(line: str) -> tuple[str, str]:
    """A transcript line's trusted marker and its data text."""
    m = _LINE_PREFIX.match(line)
    return (m.group(1), m.group(2)) if m else ("", line)


def fence(rows: Iterable[tuple[str, str]], redactor=None, *, label: str = "TRANSCRIPT_DATA") -> str:
    """Rows of (trusted prefix, data text) inside a delimited data block for a prompt.

    The data text is neutralised (and redacted when a redactor is given), so nothing in it can close
    the block or start a line; the block's id is a hash of its content, so it is stable for the LLM
    cache and cannot be written into the transcript ahead of time."""
    body = "\n".join(prefix + model_text(text, redactor) for prefix, text in rows)
    token = hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]
    return f"<<<{label} {token}>>>\n{body}\n<<<END_{label} {token}>>>"


def fence_lines(lines: Iterable[str], redactor=None) -> str:
    """Transcript lines (`transcript_line`) fenced for a prompt."""
    return fence((split_line(line) for line in lines), redactor)
