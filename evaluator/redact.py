"""Redact contact details and names before text leaves the machine, and map placeholders back.

What is replaced: e-mail addresses (also spoken: "marcus dot lee at gmail dot com"), URLs, phone
numbers in the usual shapes (+44 20 7946 0958, (415) 555-0134, 415.555.0134, 4155550134, 555-0134,
with extensions), street addresses and postcodes, handles, and people's names: the speaker labels
that are names, and the names said in the conversation ("Hi Marcus", "I'm Marcus Lee", "this is Dana
from...", "thanks, Priya", "my manager, Greg,"), and people named with no cue ("I worked with Sarah
Chen"): a known given name (`evaluator/rules/given_names.txt`) with the capitalised words after it, or a
capitalised word before a known surname (`surnames.txt`: "Zanele Dlamini"; a given name that is also a word,
`given_names_ambiguous.txt`, only so: "Grace Kim"); each with every later mention of them, first or last
name alone too ("Will" kept where it is the word: "Will you..."). Money, percentages, years and counts
("$52K", "94%", "2019", "160 accounts") are kept.

Text sent to the model stays in redacted form everywhere (rationales and quotes sent back to it
included); only what is shown to people is restored.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from evaluator.text import STOPWORDS

if TYPE_CHECKING:
    from evaluator.transcript import Transcript

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPOKEN_EMAIL = re.compile(r"\b[a-z0-9]+(?:(?: dot |\.)[a-z0-9]+)* at [a-z0-9-]+(?: dot [a-z0-9-]+)* dot "
                           r"(?:com|org|net|io|co|edu|gov|ai|de|fr|uk|es|it)\b", re.I)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|ai|co|"
                  r"edu|gov|app|dev|me|us|uk|de|fr)(?:/[^\s<>\"]*[^\s<>\".,;:!?)])?\b", re.I)
_EXT = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?"
_PHONE = re.compile(
    r"(?<![\w$€£.,/-])(?:"
    r"\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}"  # international
    r"|\(\d{3}\)\s?\d{3}[\s.-]?\d{4}"  # (415) 555-0134
    r"|\d{3}[.-]\d{3}[.-]\d{4}|\d{3} \d{3} \d{4}"  # 415.555.0134, 415-555-0134, 415 555 0134
    r"|0\d{2,4}[\s-]\d{3,4}[\s-]?\d{3,4}"  # national with a trunk 0: 020 7946 0958, 07700 900123
    r"|1?\d{10}|0\d{9,10}"  # no separators: 4155550134, 07700900123
    r"|\d{3}[- ]\d{4}"  # seven digits: 555-0134, 555 0134
    rf"){_EXT}(?![\w%$€£]|[.,]\d|\s?(?:k|m|bn|percent|dollars|euros|pounds)\b)", re.I)
# Seven bare digits are a phone number only when the sentence says so (else a count or an amount).
_PHONE7 = re.compile(r"\b(?:phone|call|cell|mobile|number|reach|text|ring|dial|landline)\b[^.?!\d]{0,25}"
                     r"(?<![\w$€£.,])(\d{7})(?![\w%]|[.,]\d)", re.I)
_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\.?\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|"
    r"Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|Square|Sq|Close|Crescent|Highway|Hwy)\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\.?\s*\w+)?")
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b"  # UK, Canada
                       r"|(?<=\b[A-Z]{2} )\d{5}(?:-\d{4})?\b")  # a US ZIP after the state: CA 94105
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z_][\w.]{2,}\b")

# -- names said in the conversation
_NAME = r"[A-Z][a-z]+(?:['\u2019-][A-Z]?[a-z]+)?"
_FULL = rf"({_NAME}(?:\s+{_NAME})?)"
_AFTER_GREETING = r"(?=\s*(?:[,.!?;:]|$|\s(?:and|how|it's|i'm|thanks|nice|good|great|welcome|here)\b))"
_RELATION = (r"(?:manager|boss|colleague|director|champion|customer|client|contact|teammate|partner|friend|mentor|"
             r"lead|VP|CEO|CFO|COO|CTO|founder|rep|person|guy|woman|man|wife|husband)")
_NAME_CUES = [
    re.compile(rf"\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Tt]hanks|[Tt]hank you|[Ww]elcome|[Mm]orning|[Gg]ood (?:morning|afternoon|"
               rf"evening)|[Nn]ice to meet you|[Gg]reat to meet you|[Pp]leasure|[Bb]ye|[Gg]oodbye|[Cc]heers|"
               rf"[Cc]ongrats|[Ss]orry),?\s+{_FULL}{_AFTER_GREETING}"),
    re.compile(rf"\b(?:I'm|I\u2019m|I am|[Mm]y name is|[Mm]y name's|[Nn]ame's|[Tt]his is|[Cc]all me|[Ii]t's|"
               rf"I go by|[Ss]peaking with|[Tt]alking (?:to|with)|joined by|[Mm]eet|introduce)\s+{_FULL}"),
    re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+{_FULL}"),
    re.compile(rf"(?:^|[.!?]\s+){_FULL}\s+here\b"),
    re.compile(rf"\b(?:named|called)\s+{_FULL}"),
    re.compile(rf"\b{_RELATION}\s*,?\s+{_FULL}(?=\s*,|\s+(?:who|said|came|told|asked|was|is|had|from)\b)"),
    re.compile(rf"\b{_RELATION}\s*,?\s+({_NAME}\s+{_NAME})"),  # a full name needs no more context
]
# Capitalised words the cues above pick up that are not names.
_NOT_NAMES = frozenset("""
    i im okay ok great good yes yeah no sure glad happy sorry excited fine well here back ready thanks thank
    everyone everybody all team guys folks sir madam maam there again today tomorrow yesterday god perfect
    awesome cool absolutely totally definitely really actually honestly monday tuesday wednesday thursday
    friday saturday sunday january february march april june july august september october november december
    interviewer candidate customer agent speaker manager account sales support success operations
    american canadian british english irish scottish french german spanish italian portuguese mexican
    brazilian indian chinese japanese korean australian european asian african dutch swiss swedish polish
    not just also still currently based responsible working looking going calling curious interested
    thrilled afraid hoping trying new the a an it this that so and but or
""".split()) | STOPWORDS
_ROLE_LABEL = re.compile(r"^(?:interviewer|candidate|customer|agent|account manager|speaker|spk|host|guest|"
                         r"participant|unknown|hiring manager|recruiter|panel(?:ist)?|moderator|caller|rep)"
                         r"[\s_#-]*\d*$|^speaker[_ ]?\d+$|^[A-Z]?\d+$", re.I)
PLACEHOLDER = re.compile(r"\[(?:PERSON|EMAIL|PHONE|URL|ADDRESS|POSTCODE|HANDLE)_[0-9A-Z_]+\]")


# -- names said with no cue ("I worked with Sarah Chen"): a known given name, and the capitalised words after it
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_NOT_SURNAMES = frozenset("""
    academy inc corp corporation group team teams office university college school labs lab systems software
    solutions partners capital consulting media health bank foundation institute center centre hospital street
    avenue road accounts sales success support operations marketing finance cloud platform enterprise services
    technologies analytics insights studio studios club company co ltd llc associates holdings industries
    international global digital network networks plan plans tier edition
""".split())
# A given name after one of these is a place ("San Diego", "St. Louis", "Fort Worth"), not a person.
_PLACE_PREFIXES = ("San", "Santa", "Santo", "Sao", "São", "St", "Saint", "Ste", "Los", "Las", "Port", "Fort", "Mount",
                   "Lake", "Cape")
_NOT_AFTER_PLACE_PREFIX = "".join(rf"(?<!{p} )" for p in _PLACE_PREFIXES) + r"(?<!St\. )"


@lru_cache(maxsize=None)
def name_list(file: str) -> frozenset[str]:
    """A bundled name list (`evaluator/rules/<file>`: given_names.txt, given_names_ambiguous.txt, surnames.txt),
    lower case with accents folded."""
    from evaluator.resources import bundled_rules

    text, _ = bundled_rules(file)
    return frozenset(w for line in text.splitlines() if (w := line.strip()) and not w.startswith("#"))


def given_names() -> frozenset[str]:
    """The bundled given names that are names wherever they stand capitalised."""
    return name_list("given_names.txt")


def _folded(tok: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", tok.casefold()) if not unicodedata.combining(c))


def _capitalised(tok: str) -> bool:
    return tok[:1].isupper() and any(c.islower() for c in tok[1:])


_GREETINGS = frozenset("hey hi hello hiya dear morning evening afternoon bye goodbye cheers congrats welcome".split())
# After a name that is also a word (Will, Hope, May, Grant), these mean the word: "Will you", "May I", "Hope that".
# Only where a sentence starts: mid-sentence the capital makes it a name ("I owe Faith a lot").
_WORD_USE = re.compile(r"\s+(?:you|we|they|i|it|he|she|there|this|that|these|those|the|a|an|me|us|them|not|your|our)"
                       r"\b", re.I)
_SENTENCE_END = re.compile(r"(?:^|[.!?]\s+)$")  # searched up to a match: the match starts a sentence
# Lower-case words inside a surname ("Pieter van der Berg", "Maria de la Cruz"): taken only before a capital.
_PARTICLES = frozenset("van der den de la le del della da di do dos das du von ter ten bin al el".split())


def _starts_name(toks: list[tuple[str, int]], i: int, text: str) -> bool:
    """Whether the capitalised word at i begins a person's name: a known given name; a given name that is also a
    word or a place ("Will", "Grace") or an unknown word ("Zanele") with a known surname right after it."""
    base = _POSSESSIVE.sub("", toks[i][0])
    if not _capitalised(base) or (i and toks[i - 1][0] in _PLACE_PREFIXES):
        return False
    key = _folded(base)
    if key in given_names():
        return True
    if i + 1 >= len(toks) or base != toks[i][0] or text[toks[i][1]:toks[i + 1][1] - len(toks[i + 1][0])] != " ":
        return False
    nxt = _POSSESSIVE.sub("", toks[i + 1][0])
    if not _capitalised(nxt) or _folded(nxt) not in name_list("surnames.txt") or nxt.lower() in _NOT_SURNAMES:
        return False
    if key in name_list("given_names_ambiguous.txt"):
        return True
    # an unknown word: not a function word, a cue word, a greeting, an adverb or a place's first word
    # ("Then Patel", "Hey Mateo", "Honestly Okafor", "Fort Campbell")
    return (_is_name_token(base) and key not in _GREETINGS and base not in _PLACE_PREFIXES and len(key) > 2
            and not key.endswith("ly"))


def _given_name_runs(text: str) -> list[str]:
    """Names said with no cue, each with the capitalised words that follow it (up to two, not words that name an
    organisation or a team; surname particles between them): "Sarah Chen", "Mei Ling Wong", "Priya",
    "Grace Kim", "Zanele Dlamini", "Pieter van der Berg"."""
    toks = [(m.group(0), m.end()) for m in _WORD.finditer(text)]
    out: list[str] = []
    after = 0  # the words of the last name found are not the start of another ("Sarah Chen": not "Chen")
    for i, (tok, tok_end) in enumerate(toks):
        if i < after or not _starts_name(toks, i, text):
            continue
        base = _POSSESSIVE.sub("", tok)
        run, end, taken, k = [base], tok_end, 0, i + 1
        while taken < 2 and k < len(toks) and base == tok:
            j = k
            while j < len(toks) and toks[j][0] in _PARTICLES and j - k < 2:
                j += 1
            nxt, nend = toks[j] if j < len(toks) else ("", 0)
            gap = text[end:nend - len(nxt)]
            nbase = _POSSESSIVE.sub("", nxt)
            between = " ".join(t for t, _ in toks[k:j])
            if (not nxt or gap.strip() != between or not _capitalised(nbase) or not _is_name_token(nbase)
                    or nbase.lower() in _NOT_SURNAMES):
                break
            run += [between, nbase] if between else [nbase]
            end, taken, k = nend, taken + 1, j + 1
            if nbase != nxt:  # a possessive ends the name
                break
        out.append(" ".join(run))
        after = k
    return out


def _is_name_token(tok: str) -> bool:
    return tok.lower().replace("'", "").replace("\u2019", "") not in _NOT_NAMES and len(tok) > 1


def names_in(texts: Iterable[str], speakers: Iterable[str] = ()) -> list[str]:
    """People's names in a conversation: speaker labels that are names, and names said in it
    (greetings, introductions, "my manager, Greg,", and known given names with their surnames)."""
    found: dict[str, None] = {}
    for label in speakers:
        label = " ".join(re.sub(r"\(.*?\)|\[.*?\]", " ", label).split())  # "Dana Whitfield (Rosterly)"
        if label and not _ROLE_LABEL.match(label) and re.fullmatch(r"[^\W\d_]+(?:[ .'-][^\W\d_]+){0,3}\.?", label):
            found.setdefault(label, None)
    for text in texts:
        for rx in _NAME_CUES:
            for m in rx.finditer(text):
                toks = [t for t in m.group(1).split()]
                while toks and not _is_name_token(toks[-1]):
                    toks.pop()
                if toks and all(_is_name_token(t) for t in toks):
                    found.setdefault(" ".join(toks), None)
        for name in _given_name_runs(text):
            found.setdefault(name, None)
    return list(found)


class Redactor:
    """Replaces contact details and names with stable placeholders ([EMAIL_1], [PERSON_2_FIRST]...), and
    restores them in text that comes back (so quotes can be verified against the transcript)."""

    def __init__(self, names: Iterable[str] | None = None):
        self.forward: dict[str, str] = {}
        self.back: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._names: list[tuple[re.Pattern, str, bool]] = []  # pattern, placeholder, also an everyday word
        fulls = sorted({" ".join(x.split()) for x in names or [] if x and x.strip()}, key=len, reverse=True)
        pieces: list[tuple[str, str]] = []
        person: dict[str, int] = {}
        for full in fulls:
            # a name that is part of a longer one already seen ("Marcus" in "Marcus Lee") is that person
            owner = next((p for p in person if re.search(rf"\b{re.escape(full)}\b", p, re.I)), None)
            n = person[owner] if owner else len(person) + 1
            person.setdefault(full, n)
            parts = full.split()
            if owner is None:
                pieces.append((full, f"[PERSON_{n}]"))
            if len(parts) > 1 or owner is not None:
                src = owner.split() if owner else parts
                for k, piece in enumerate(src):
                    if len(piece) < 2:
                        continue
                    which = "FIRST" if k == 0 else "LAST" if k == len(src) - 1 else f"PART{k + 1}"
                    pieces.append((piece, f"[PERSON_{n}_{which}]"))
        seen = set()
        for text, tag in sorted(pieces, key=lambda p: len(p[0]), reverse=True):
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            if " " in text:  # a full name: any case
                rx = re.compile(rf"(?<![\w\[]){re.escape(text)}(?![\w\]])", re.I)
            else:  # one word ("Price", "Will"): capitalised or upper case only, so the word itself is kept
                word = re.escape(text[0].upper() + text[1:])
                # not a place named after a saint ("San Diego", "St. Paul") when a Diego or a Paul was mentioned
                rx = re.compile(rf"(?<![\w\[]){_NOT_AFTER_PLACE_PREFIX}(?:{word}|{re.escape(text.upper())})(?![\w\]])")
            # a name that is also a word is kept where it is the word ("Will you", "Hope that helps"): see redact()
            self._names.append((rx, tag, " " not in text and _folded(text) in name_list("given_names_ambiguous.txt")))

    @classmethod
    def for_transcript(cls, transcript: "Transcript", extra_names: Iterable[str] = ()) -> "Redactor":
        """A redactor that knows every name in this transcript (speaker labels and names said in it)."""
        return cls(names=names_in([s.text for s in transcript.segments], transcript.speakers) + list(extra_names))

    def _tag(self, kind: str, value: str) -> str:
        if value not in self.forward:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            tag = f"[{kind}_{self._counts[kind]}]"
            self.forward[value] = tag
            self.back[tag] = value
        return self.forward[value]

    def _sub(self, rx: re.Pattern, kind: str, text: str, group: int = 0) -> str:
        def repl(m: re.Match) -> str:
            if not group:
                return self._tag(kind, m.group(0))
            a, b = m.span(group)
            return m.group(0)[: a - m.start()] + self._tag(kind, m.group(group)) + m.group(0)[b - m.start():]

        return rx.sub(repl, text)

    def redact(self, text: str) -> str:
        """Text with contact details and names replaced by placeholders."""
        text = self._sub(_EMAIL, "EMAIL", text)
        text = self._sub(_SPOKEN_EMAIL, "EMAIL", text)
        text = self._sub(_URL, "URL", text)
        text = self._sub(_HANDLE, "HANDLE", text)
        text = self._sub(_STREET, "ADDRESS", text)
        text = self._sub(_POSTCODE, "POSTCODE", text)
        text = self._sub(_PHONE, "PHONE", text)
        text = self._sub(_PHONE7, "PHONE", text, group=1)
        for rx, tag, also_word in self._names:
            def repl(m: re.Match, tag=tag, also_word=also_word) -> str:
                if also_word and _WORD_USE.match(m.string, m.end()) and _SENTENCE_END.search(m.string, 0, m.start()):
                    return m.group(0)  # the word: "Will you...", "Hope that helps."
                self.back.setdefault(tag, m.group(0))
                return tag
            text = rx.sub(repl, text)
        return text

    def restore(self, text: str) -> str:
        """Placeholders back to the original values (names to their first recorded spelling)."""
        return PLACEHOLDER.sub(lambda m: self.back.get(m.group(0), m.group(0)), text)
