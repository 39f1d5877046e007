"""Text normalisation shared by alignment, evidence lookup and coaching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_WS = re.compile(r"\s+")
_APOS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})

# Disfluencies that carry no meaning for matching (not removed from anything shown to people).
FILLERS = frozenset("uh um uhm erm er ah hmm mm mhm like".split())

STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been being do does did
    have has had you your yours i me my we our us they them their it its this that these those what which who
    whom how when where why can could would should will shall may might must so than then there here about into
    over also just very any some such not no nor too s t don doesn didn ve ll re d m o y
    make making made per wise actual actually little bit right ever really okay ok yeah yes sure well
    kind sort thing things stuff lot lots maybe pretty quite""".split()
)


def fold(text: str) -> str:
    """Unicode-fold: NFKC, straight quotes and dashes."""
    return unicodedata.normalize("NFKC", text).translate(_APOS)


def normalize(text: str) -> str:
    """Lowercase, drop punctuation (apostrophes join: "don't" -> "dont"), collapse whitespace."""
    t = fold(text).lower().replace("'", "")
    t = _PUNCT.sub(" ", t)
    return _WS.sub(" ", t).strip()


def words(text: str, *, drop_fillers: bool = True) -> list[str]:
    """Normalised word tokens, optionally without fillers ("uh", "um")."""
    toks = normalize(text).split()
    return [w for w in toks if w not in FILLERS] if drop_fillers else toks


def content_words(text: str) -> list[str]:
    """Normalised tokens without stopwords and fillers, crudely stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """A tiny suffix stripper: enough to match 'retaining'/'retention'/'retained' loosely."""
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if len(word) > len(suf) + 3 and word.endswith(suf):
            return word[: -len(suf)]
    return word


def slugify(text: str, max_len: int = 48) -> str:
    """A lowercase ASCII slug, cut at a word boundary."""
    t = unicodedata.normalize("NFKD", fold(text)).encode("ascii", "ignore").decode()
    t = re.sub(r"[^a-zA-Z0-9]+", "-", t).strip("-").lower()
    if len(t) > max_len:
        t = t[:max_len].rsplit("-", 1)[0]
    return t or "x"


_ABBREV = re.compile(r"\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|approx|No)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[?!])\s+|(?<=[^A-Z\x00]\.)\s+")


def sentences(text: str) -> list[str]:
    """Split text into sentences, verbatim (abbreviations such as 'U.S.' and 'Mrs.' are kept whole).

    The one sentence splitter of the project: alignment, role inference, coaching and evidence use it."""
    return list(_sentences(text))


@lru_cache(maxsize=65536)
def _sentences(text: str) -> tuple[str, ...]:
    # one transcript is split many times (roles, each stage's alignment, evidence): split each text once
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), text)
    return tuple(p.replace("\x00", ".").strip() for p in _SENTENCE_END.split(protected) if p.strip())


def fmt_time(seconds: float | None) -> str:
    """'1:02:03' / '2:03' style timestamp, or '--:--' when unknown."""
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# ---------------------------------------------------------------- questions

# Openings that make a sentence a question even when the transcriber dropped the "?". Wh-words need
# an auxiliary (or a question noun) after them: "what did you" asks, "what I did was" does not.
_QUESTION_OPENING = re.compile(
    r"^(?:(?:what|how|why|when|where|who|which)\s+(?:is|are|was|were|do|does|did|would|could|can|will|have|has|"
    r"had|should|kind|sort|type|types|many|much|long|often|comfortable|questions|made|makes|excites|motivates|"
    r"drew|drives|attracted|keeps|else|about|if)\b|"
    r"why\b|"
    r"(?:can|could|would|will|do|did|have|has|are|were|is|was|should)\s+(?:you|there|it|we|they|your)\b|"
    r"(?:tell|walk|talk|take) (?:me|us)\b|describe\b|give (?:me|us) (?:an? |some |your )?(?:example|sense|overview|rundown|walkthrough)|share (?:an|a|some|with)\b|explain\b|"
    r"(?:i'?d|i would) (?:like|love) (?:to )?(?:hear|know|ask|understand)\b)"
)
# Requests inside a sentence: "so, before we wrap, I'd love to hear about ...".
_REQUEST = re.compile(r"\b(?:tell me|tell us|walk me through|walk us through|talk me through|give me an example|"
                      r"(?:i wanted|i want|i'?d like|i would like|i'?d love) to (?:ask|hear|know))\b")
# Spoken lead-ins before the question itself: "so, um, okay, tell me ..."
_LEAD_IN = re.compile(r"^(?:(?:so|and|but|okay|ok|alright|all right|now|next|great|um|uh|well|then|also|right|"
                      r"cool|perfect|nice|good|sure|lets see|last|first|finally|oh)\s+)+")


@lru_cache(maxsize=65536)
def asks(sentence: str) -> bool:
    """One sentence asks something: it ends with '?', or opens like a question or a request
    ("tell me about ...", "how did you ...") even without the '?' a transcriber may drop.

    The one question detector of the project: role inference and alignment both use it."""
    if sentence.rstrip().endswith("?"):
        return True
    s = _LEAD_IN.sub("", normalize(sentence))
    return bool(_QUESTION_OPENING.match(s) or _REQUEST.search(s))


def question_sentences(text: str) -> list[str]:
    """The sentences of `text` that ask something (see `asks`)."""
    return [s for s in sentences(text) if asks(s)]
