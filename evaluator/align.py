"""Align a transcript to one stage of a guide: which questions were asked, where, which follow-ups,
the span of each answer, and which areas to cover the answer touched.

`align(transcript, stage)` is a pure function. Two signals, each usable alone (`signals=`) so both
can be measured:

- lexical: content words (normalised, stemmed, fillers dropped) weighted by how distinctive they
  are within the stage, with a fuzzy match per word for ASR errors;
- semantic: sentence meaning, from the static embedding model shipped in the package
  (`evaluator.semantic`), for paraphrases that share few words with the guide.

A question is asked where one of them finds it (lexical OR semantic, each with its guards), and
every match records which signal found it (`method`: lexical, semantic or both). Matching is done
on short windows of interviewer sentences, so a question split across segments, merged with small
talk or asked out of order is found, but one long turn cannot collect the words of every question;
pairs of turns separated by a short candidate reply are windows too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from evaluator.errors import AlignmentError
from evaluator.findings import AlignmentMethod
from evaluator.guide import Guide, Question, Stage
from evaluator.text import asks, content_words, normalize, sentences, stem
from evaluator.transcript import Role, Segment, Transcript

# ---- lexical thresholds (weighted share of the guide text's content words)
ASKED_THRESHOLD = 0.5
RELATIVE_THRESHOLD = 0.3
RELATIVE_MARGIN = 0.12
FOLLOW_UP_THRESHOLD = 0.55
AREA_COVERED = 0.5
AREA_PARTLY = 0.25
# a question is located in at most this many consecutive interviewer sentences
WINDOW_SENTENCES = 3
# Interviewers prompt with statements too ("A night you nearly missed a cutoff.", "Current job."): one of the last
# two sentences of an interviewer turn, this short, that the candidate answers with at least this many words,
# asks as a question does (chosen on samples/labels and tests/data/dev_align).
PROMPT_MAX_WORDS = 25
PROMPT_ANSWER_WORDS = 15
# questions with fewer content words than this ("Why should we hire you?") match by their whole
# wording (function words included) or by meaning, never by one or two shared words
SHORT_QUESTION_WORDS = 3
SHORT_QUESTION_WORDING = 85
# ---- semantic thresholds (cosine similarity of the static sentence model), chosen on samples/labels
SEMANTIC_ASKED = 0.76
SEMANTIC_MARGIN = 0.04
# ... or lower, when the window is about this question far more than about any other
SEMANTIC_ASKED_DISTINCT = 0.55
SEMANTIC_DISTINCT_MARGIN = 0.15
# a follow-up: the asking sentence is this close to it, and closer to it than to the question's other follow-ups
SEMANTIC_FOLLOW_UP = 0.70
SEMANTIC_FOLLOW_UP_MARGIN = 0.05
SEMANTIC_ON_TOPIC = 0.55
# an area to cover: an answer sentence this close to the area, and closer to it than to the
# question's other areas (area names are short noun phrases, so similarities run low)
SEMANTIC_AREA_COVERED = 0.40
SEMANTIC_AREA_PARTLY = 0.25
SEMANTIC_AREA_MARGIN = 0.0

SIGNALS: tuple[str, ...] = ("lexical", "semantic")
Method = Literal["lexical", "semantic", "both"]

# areas about amounts are covered by an answer that gives numbers
_QUANT_AREA = re.compile(r"\b(metric|kpi|volume|result|impact|rate|measur|performance|quantif|value|size|number|"
                         r"target|achiev|outcome)", re.I)
_NUMBER = re.compile(r"\b(\d[\d,.]*\s*%?|\d+k|(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million)"
                     r"( (percent|points|accounts|customers|calls|k|grand|dollars))?)\b", re.I)

CoverageStatus = Literal["covered", "partly", "not"]


class AreaCoverage(BaseModel):
    """Whether the candidate's answer covered one area to cover, and the words that did."""

    area: str
    status: CoverageStatus
    score: float
    segment_ids: list[str] = Field(default_factory=list)
    quote: str | None = Field(default=None, description="The candidate sentence that covers it best.")
    outside_answer: bool = Field(default=False, description="Covered somewhere other than this question's answer.")
    method: Method | None = Field(default=None, description="The signal that found it (none when not covered).")


class FollowUpMatch(BaseModel):
    """One of the guide's follow-up questions and whether it was asked."""

    text: str
    asked: bool
    confidence: float = 0.0
    segment_id: str | None = None
    start_s: float | None = None
    method: Method | None = Field(default=None, description="The signal that found it (none when not asked).")


class QuestionMatch(BaseModel):
    """One guide question: asked or not, where, the answer span and the areas it covered."""

    question_id: str
    text: str
    asked: bool
    confidence: float = Field(description="0-1: how sure the match (or the absence) is.")
    method: Method | None = Field(default=None, description="The signal that found it: lexical (words), semantic "
                                  "(meaning) or both; none when not asked.")
    segment_ids: list[str] = Field(default_factory=list, description="Interviewer segments where it was asked.")
    start_s: float | None = None
    asked_text: str = ""
    order: int | None = Field(default=None, description="1-based position in the order questions were asked.")
    follow_ups: list[FollowUpMatch] = Field(default_factory=list)
    answer_segment_ids: list[str] = Field(default_factory=list)
    answer_start_s: float | None = None
    answer_end_s: float | None = None
    answered: bool = False
    areas: list[AreaCoverage] = Field(default_factory=list)


class ExtraQuestion(BaseModel):
    """A question the interviewer asked that is not in the guide."""

    segment_id: str
    start_s: float | None = None
    text: str


class Alignment(BaseModel):
    """The alignment of one transcript to one stage."""

    guide_id: str = ""
    stage_id: str
    stage_name: str = ""
    method: AlignmentMethod = "offline"
    signals: list[str] = Field(default_factory=lambda: list(SIGNALS),
                               description="The signals used: lexical and/or semantic.")
    semantic_model: str | None = Field(default=None, description="The bundled embedding model, when semantic was used.")
    questions: list[QuestionMatch] = Field(default_factory=list)
    extra_questions: list[ExtraQuestion] = Field(default_factory=list)
    directions_segment_ids: list[str] = Field(
        default_factory=list, description="Interviewer segments that gave the stage's directions to the candidate.")
    warnings: list[str] = Field(default_factory=list)

    @property
    def asked(self) -> list[QuestionMatch]:
        """Questions that were asked, in guide order."""
        return [q for q in self.questions if q.asked]

    def match(self, question_id: str) -> QuestionMatch:
        """The match for one question id."""
        for q in self.questions:
            if q.question_id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def coverage_pct(self) -> float:
        """Share of the stage's questions that were asked (0-100)."""
        return 100.0 * len(self.asked) / len(self.questions) if self.questions else 0.0


# ---------------------------------------------------------------- turns


@dataclass
class Sentence:
    """One sentence of a segment, with what matching needs computed once."""

    text: str
    segment: Segment
    turn: int
    words: frozenset[str]
    asks: bool
    has_number: bool
    # set by _prepare: a statement the candidate answers at length ("Forklift near-miss on your shift.")
    prompts: bool = False


@dataclass
class Turn:
    """Consecutive segments of one role."""

    role: Role
    segments: list[Segment]
    index: int
    text: str = ""
    words: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def start_s(self) -> float | None:
        return self.segments[0].start_s

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.segments]

    def _set_sentences(self, sents: list[Sentence]) -> None:
        self.sentences = sents
        self.text = " ".join(s.text for s in sents)
        self.words = concept_words(self.text)


def _sentence(text: str, seg: Segment, turn: int) -> Sentence:
    return Sentence(text=text, segment=seg, turn=turn, words=frozenset(concept_words(text)), asks=asks(text),
                    has_number=bool(_NUMBER.search(text)))


def build_turns(transcript: Transcript) -> list[Turn]:
    """Group consecutive segments of the same role into turns."""
    turns: list[Turn] = []
    for seg in transcript.segments:
        role = seg.role
        if turns and turns[-1].role == role:
            turns[-1].segments.append(seg)
        else:
            turns.append(Turn(role=role, segments=[seg], index=len(turns)))
    for t in turns:
        t._set_sentences([_sentence(x, s, t.index) for s in t.segments for x in sentences(s.text)])
    return turns


_SKIP = re.compile(r"\b(skip|skipping|not going to ask|won't ask|no need to ask|we can pass on|let's pass on|"
                   r"come back to that|leave (that|it) (out|aside))\b", re.I)


# ---------------------------------------------------------------- lexical similarity

# Interviewers paraphrase. Words that stand for the same idea in interview talk map to one concept,
# so "walk me through what you own and how they measure you" meets "responsibilities and metrics".
_CONCEPTS = {
    "recent": "current today now present latest currently last",
    "role": "role job position",
    "use": "use used using leverage leveraged",
    "identif": "identify identified found spotted noticed catch caught",
    "solv": "solve solved fix fixed resolve resolved",
    "responsib": "responsibilit responsible own owned duties duty handle scope",
    "metric": "metric kpi kpis measure measured numbers number target targets quota goals goal scorecard",
    "authoriz": "authorized authorization legally eligible eligibility permit visa sponsorship sponsor citizen",
    "comfort": "comfortable comfort okay fine feel",
    "volume": "volume high-volume many calls dials dial sixty seventy 60 70 pace",
    "data": "data analytics analysis analyze analyzed dashboard dashboards report reports numbers insight insights",
    "inform": "inform informed drive drove guide decide decision decisions shape",
    "retain": "retention retain retained renewal renewals churn churned keep",
    "strateg": "strategy strategies approach plan playbook tactics",
    "upsell": "upsell upsold upsells upselling expansion expand upgrade add-on cross-sell",
    "customer": "customer customers client clients account accounts",
    "industr": "industry sector space market edtech",
    "trend": "trend trends news developments happening changes",
    "keepup": "keepup informed read follow",
    "success": "success successful successfully win won wins",
    "lost": "lost lose losing churned",
    "learn": "learn learned lesson lessons takeaway takeaways",
    "significant": "significant biggest major largest proudest",
    "difficult": "difficult hard tough tricky",
    "feedback": "feedback input survey surveys nps",
    "improv": "improve improved improving better optimize optimized enhance",
    "product": "product products service services offering platform",
    "adapt": "adapt adapted adjust adjusted pivot pivoted change changed",
    "unexpect": "unexpected sudden surprise surprised suddenly",
    "problem": "problem problems issue issues challenge challenges",
    "priorit": "prioritize prioritized priorities juggle balance",
    "process": "process processes workflow workflows procedure",
    "communic": "communicate communicated present presented explain explained convey",
    "stakeholder": "stakeholders stakeholder leadership executives management",
    "collaborat": "collaborate collaborated collaboration cross-functional partner partnered",
    "tool": "tool tools software crm salesforce gainsight hubspot",
    "automat": "automate automated automation",
    "example": "example instance situation story",
    "perform": "perform performed performance did",
    "question": "questions question ask",
    "result": "result results outcome outcomes impact achieve achieved grew increased reduced cut lifted raised "
              "dropped saved doubled tripled",
}
_CONCEPT_OF = {stem(w): c for c, ws in _CONCEPTS.items() for w in ws.split()}


_PHRASE_LIST = [(p, r) for p, r in (
    (r"\beducation(al)?[ -]technology\b|\bed[ -]tech\b", "edtech"),
    (r"\b(keep|keeping) up\b|\bstay(ing)? (current|informed|up[ -]to[ -]date)\b|\bup[ -]to[ -]date\b", "keepup"),
    (r"\bday[ -]to[ -]day\b", "responsibilities"),
    (r"\baccount management\b|\baccount manager\b", "accountmanagement"),
    (r"\bcustomer success\b|\bcs\b", "customersuccess"),
    (r"\bfloor'?s yours\b|\bfloor is yours\b|\b(want|like|love) to know\b|\bwant to ask\b", "questions"),
    (r"\bstay(ing)? on top of\b", "keepup"),
    (r"\bhigh[ -]volume\b", "volume"),
    (r"\b(tell|walk) (me|us) (about|through)\b|\bgive me an example\b|\bdescribe\b", "tellme"),
)]
# all phrases in one pass (one regex, one alternative per phrase)
_PHRASES = re.compile("|".join(f"(?P<p{i}>{re.sub(r'[(](?![?])', '(?:', p)})" for i, (p, _) in enumerate(_PHRASE_LIST)),
                      re.I)
_PHRASE_FOR = {f"p{i}": r for i, (_, r) in enumerate(_PHRASE_LIST)}


def concept_words(text: str) -> list[str]:
    """Content words with paraphrase groups folded to one concept token."""
    return list(_concept_words(text))


@lru_cache(maxsize=200_000)
def _concept_words(text: str) -> tuple[str, ...]:
    text = _PHRASES.sub(lambda m: _PHRASE_FOR[m.lastgroup], text)
    return tuple(_CONCEPT_OF.get(w, w) for w in content_words(text))



class Vocab:
    """Inverse document frequency over the stage's texts, so distinctive words weigh more."""

    def __init__(self, docs: list[list[str]]):
        n = max(len(docs), 1)
        df: dict[str, int] = {}
        for d in docs:
            for w in set(d):
                df[w] = df.get(w, 0) + 1
        self.idf = {w: math.log(1 + n / c) for w, c in df.items()}
        self.default = math.log(1 + n)

    def weight(self, w: str) -> float:
        return self.idf.get(w, self.default)


@lru_cache(maxsize=65536)
def _fuzzy_eq(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) < 5 or len(b) < 5 or a[0] != b[0]:
        return False
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.normalized_similarity(a, b) >= 0.8


def weighted_coverage(target: list[str], have: set[str], vocab: Vocab) -> float:
    """Weighted share of target words present in `have` (exactly or fuzzily, for ASR errors)."""
    if not target:
        return 0.0
    total = got = 0.0
    by_first: dict[str, list[str]] | None = None
    for w in dict.fromkeys(target):
        wt = vocab.weight(w)
        total += wt
        if w in have:
            got += wt
        elif len(w) >= 5:
            if by_first is None:
                by_first = {}
                for h in have:
                    if len(h) >= 5:
                        by_first.setdefault(h[0], []).append(h)
            if any(abs(len(h) - len(w)) <= 2 and _fuzzy_eq(w, h) for h in by_first.get(w[0], ())):
                got += wt
    return got / total if total else 0.0


class _Lexical:
    """`weighted_coverage` for one transcript: each guide word's fuzzy variants among the
    transcript's words are found once, so scoring thousands of sentences stays cheap."""

    def __init__(self, vocab: Vocab, transcript_words: set[str]):
        self.vocab = vocab
        self._by_first: dict[str, list[str]] = {}
        for h in transcript_words:
            if len(h) >= 5:
                self._by_first.setdefault(h[0], []).append(h)
        self._variants: dict[str, frozenset[str]] = {}
        self._targets: dict[tuple[str, ...], tuple[list[tuple[float, frozenset[str]]], float, frozenset[str]]] = {}

    def variants(self, w: str) -> frozenset[str]:
        v = self._variants.get(w)
        if v is None:
            v = frozenset([w] + ([h for h in self._by_first.get(w[0], ()) if abs(len(h) - len(w)) <= 2
                                  and _fuzzy_eq(w, h)] if len(w) >= 5 else []))
            self._variants[w] = v
        return v

    def _prepared(self, target: Sequence[str]) -> tuple[list[tuple[float, frozenset[str]]], float, frozenset[str]]:
        key = tuple(target)
        got = self._targets.get(key)
        if got is None:
            items = [(self.vocab.weight(w), self.variants(w)) for w in dict.fromkeys(key)]
            got = (items, sum(wt for wt, _ in items), frozenset().union(*(v for _, v in items)))
            self._targets[key] = got
        return got

    def coverage(self, target: Sequence[str], have: frozenset[str] | set[str]) -> float:
        if not target:
            return 0.0
        items, total, every = self._prepared(target)
        if not total or every.isdisjoint(have):
            return 0.0
        return sum(wt for wt, v in items if not v.isdisjoint(have)) / total


# ---------------------------------------------------------------- the aligner


def directions_sentences(transcript: Transcript, stage: Stage) -> dict[str, list[str]]:
    """Interviewer sentences that give the stage's 'directions to share with the candidate', by
    segment id (a segment can hold directions and a real question).

    A sentence is a direction when most of its words are the directions' and fewer are any guide
    question's: "Please tell me about yourself" stays a question even when the directions mention it.
    """
    dw = concept_words(stage.directions_candidate)
    if len(dw) < 4:
        return {}
    vocab = Vocab([dw])
    dset = set(dw)
    qsets = [set(concept_words(q.text)) for q in stage.questions]
    out: dict[str, list[str]] = {}
    for seg in transcript.segments:
        if seg.role != Role.interviewer:
            continue
        found = []
        for sent in sentences(seg.text):
            sw = concept_words(sent)
            if len(sw) < 3:
                continue
            in_directions = sum(1 for w in sw if w in dset) / len(sw)
            in_question = max((sum(1 for w in sw if w in qs) / len(sw) for qs in qsets), default=0.0)
            if in_directions >= 0.5 and in_directions > in_question:
                found.append(sent)
        if found and weighted_coverage(dw, set(concept_words(" ".join(found))), vocab) >= 0.12:
            out[seg.id] = found
    return out


@dataclass
class _Window:
    """A few consecutive interviewer sentences (of one turn, or of two turns around a short reply)."""

    turns: tuple[int, ...]
    sents: list[Sentence]
    words: frozenset[str]
    text: str
    first_turn_words: frozenset[str]  # the part in the first turn: a pair must start the question there


@dataclass
class _Found:
    score: float
    window: _Window


@dataclass
class _Context:
    """Everything computed once per (transcript, stage): turns, windows, weights, embeddings."""

    turns: list[Turn]
    lex: _Lexical
    windows: list[_Window]
    semantic: bool
    vectors: dict[str, object] = field(default_factory=dict)  # text -> unit vector

    def vec(self, texts: Sequence[str]):
        return _vectors(self, texts)


def _vectors(ctx: _Context, texts: Sequence[str]):
    import numpy as np

    from evaluator import semantic

    todo = [t for t in dict.fromkeys(texts) if t not in ctx.vectors]
    if todo:
        for t, v in zip(todo, semantic.embed(todo)):
            ctx.vectors[t] = v
    return np.stack([ctx.vectors[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


def _window_vectors(wins: list[_Window]):
    """A window's vector from its sentences' word-piece sums: no text is tokenised twice."""
    import numpy as np

    from evaluator import semantic

    sents = list(dict.fromkeys(s.text for w in wins for s in w.sents))
    sums = dict(zip(sents, semantic.embed(sents, unit=False)))
    return semantic.unit_rows(np.stack([sum(sums[s.text] for s in w.sents) for w in wins]))


def _prepare(transcript: Transcript, stage: Stage, skip: dict[str, list[str]], semantic: bool) -> _Context:
    if not transcript.segments:
        raise AlignmentError(f"{transcript.meta.source or 'transcript'}: the transcript is empty",
                             hint="give a transcript with at least one speaker turn")
    turns = build_turns(transcript)
    for t in turns:
        if t.role != Role.interviewer:
            continue
        # directions and "we'll skip the question about X" are not asking anything
        kept = [s for s in t.sentences if s.text not in skip.get(s.segment.id, ()) and not _SKIP.search(s.text)]
        if len(kept) != len(t.sentences):
            t._set_sentences(kept)
    for k, t in enumerate(turns[:-1]):
        if t.role == Role.interviewer and turns[k + 1].role == Role.candidate \
                and len(turns[k + 1].text.split()) >= PROMPT_ANSWER_WORDS:
            for sent in t.sentences[-2:]:
                sent.prompts = len(sent.text.split()) <= PROMPT_MAX_WORDS
    docs = [concept_words(q.text) for q in stage.questions]
    docs += [concept_words(f) for q in stage.questions for f in q.follow_ups]
    docs += [concept_words(a) for q in stage.questions for a in q.areas_to_cover]
    all_words = {w for t in turns for s in t.sentences for w in s.words}
    windows: list[_Window] = []
    for k, t in enumerate(turns):
        if t.role != Role.interviewer or not t.sentences:
            continue
        windows += _windows_of((k,), t.sentences, len(t.sentences))
        if k + 2 < len(turns) and turns[k + 2].role == Role.interviewer and turns[k + 2].sentences \
                and len(turns[k + 1].text.split()) <= 12:
            # a question split around a short reply ("Sure." / "Mm-hm."): the tail of one turn and the head of the next
            a, b = t.sentences[-WINDOW_SENTENCES:], turns[k + 2].sentences[:WINDOW_SENTENCES]
            windows += [w for w in _windows_of((k, k + 2), a + b, len(a)) if len(w.turns) == 2]
    return _Context(turns=turns, lex=_Lexical(Vocab(docs), all_words), windows=windows, semantic=semantic)


def _windows_of(turns: tuple[int, ...], sents: list[Sentence], n_first: int) -> list[_Window]:
    out = []
    for i in range(len(sents)):
        for j in range(i + 1, min(i + WINDOW_SENTENCES, len(sents)) + 1):
            part = sents[i:j]
            if not any(s.asks or s.prompts for s in part):
                continue
            in_first = i < n_first
            both = in_first and j > n_first
            wt = turns if both else (turns[:1] if in_first else turns[1:])
            words = frozenset().union(*(s.words for s in part))
            first = frozenset().union(*(s.words for s in part[:max(0, n_first - i)])) if both else words
            out.append(_Window(turns=wt, sents=part, words=words, text=" ".join(s.text for s in part),
                               first_turn_words=first))
    return out


def _question_score(q: Question, words: frozenset[str] | set[str], lex: _Lexical) -> float:
    qw, extra = _question_words(q.text, tuple(q.areas_to_cover + q.follow_ups))
    s = lex.coverage(qw, words)
    # the guide's own follow-ups and areas name the topic too (paraphrases often use their words)
    if extra:
        s = max(s, 0.75 * s + 0.25 * lex.coverage(extra, words))
    return s


@lru_cache(maxsize=4096)
def _question_words(text: str, extras: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(concept_words(text)), tuple(w for a in extras for w in concept_words(a))


def _is_short(q: Question) -> bool:
    return len(set(concept_words(q.text))) < SHORT_QUESTION_WORDS


@lru_cache(maxsize=4096)
def _wording(question: str) -> str:
    return normalize(re.sub(r"\[[^\]]*\]", " ", question))


def _same_wording(q: Question, text: str) -> bool:
    from rapidfuzz import fuzz

    return fuzz.partial_ratio(_wording(q.text), normalize(text)) >= SHORT_QUESTION_WORDING


def _lexical_scores(q: Question, ctx: _Context, exclude: set[int] | frozenset[int] = frozenset()) -> list[_Found]:
    out = []
    short = _is_short(q)
    for w in ctx.windows:
        if w.turns[0] in exclude:
            continue
        if short and not _same_wording(q, w.text):
            continue
        s = _question_score(q, w.words, ctx.lex)
        if len(w.turns) > 1:
            s -= 0.03  # prefer one turn when it explains the match as well
            if _question_score(q, w.first_turn_words, ctx.lex) < 0.25:  # the first turn must carry part of it
                continue
        out.append(_Found(s, w))
    return out


def _lexical_locate(q: Question, stage: Stage, ctx: _Context,
                    exclude: set[int] | frozenset[int] = frozenset()) -> _Found | None:
    """Where the words of `q` are asked: the first window scoring near the best, or None."""
    cands = _lexical_scores(q, ctx, exclude)
    if not cands:
        return None
    best = max(cands, key=lambda c: c.score)
    if best.score >= ASKED_THRESHOLD:
        # a question asked twice (or repeated as a recap) is located where it was first asked
        return min((c for c in cands if c.score >= max(ASKED_THRESHOLD, 0.6 * best.score)),
                   key=lambda c: (c.window.turns[0], -c.score))
    if best.score >= RELATIVE_THRESHOLD:
        # a short paraphrase shares few words, but this question is clearly what the window asks about
        others = [_question_score(o, best.window.words, ctx.lex) for o in stage.questions if o is not q]
        if best.score - max(others, default=0.0) >= RELATIVE_MARGIN:
            return best
    return None


def _semantic_locate(stage: Stage, ctx: _Context, exclude: dict[str, set[int]]) -> dict[str, _Found]:
    """Where each question's meaning is asked: a window of one or two interviewer sentences, one of
    which asks, closer to this question than to any other of the stage by a margin."""
    import numpy as np

    wins = [w for w in ctx.windows if len(w.sents) <= 2]
    if not wins or not stage.questions:
        return {}
    sims = ctx.vec([q.text for q in stage.questions]) @ _window_vectors(wins).T
    if len(stage.questions) > 1:
        top2 = np.sort(sims, axis=0)[-2:]
        margin = np.where(sims >= top2[1], sims - top2[0], sims - top2[1])
    else:
        margin = np.full_like(sims, 1.0)
    out: dict[str, _Found] = {}
    for qi, q in enumerate(stage.questions):
        ok = np.nonzero(((sims[qi] >= SEMANTIC_ASKED) & (margin[qi] >= SEMANTIC_MARGIN))
                        | ((sims[qi] >= SEMANTIC_ASKED_DISTINCT) & (margin[qi] >= SEMANTIC_DISTINCT_MARGIN)))[0]
        if exclude.get(q.id):
            ok = [i for i in ok if wins[i].turns[0] not in exclude[q.id]]
        if not len(ok):
            continue
        best = float(sims[qi, ok].max())
        first = min((i for i in ok if sims[qi, i] >= best - 0.05), key=lambda i: (wins[i].turns[0], -sims[qi, i]))
        out[q.id] = _Found(float(sims[qi, first]), wins[first])
    return out


def _locate_questions(stage: Stage, ctx: _Context, use_lex: bool,
                      use_sem: bool) -> dict[str, tuple[_Found | None, _Found | None]]:
    """The lexical and semantic location of every question. One interviewer turn is the location
    of several questions only when it really asks each: a sentence of the turn that asks carries
    that question's own words or meaning (a stacked question). Otherwise the turn keeps the question
    it matches best and the others look elsewhere."""
    exclude: dict[str, set[int]] = {q.id: set() for q in stage.questions}
    while True:
        sem_found = _semantic_locate(stage, ctx, exclude) if use_sem else {}
        where = {q.id: (_lexical_locate(q, stage, ctx, exclude[q.id]) if use_lex else None, sem_found.get(q.id))
                 for q in stage.questions}
        by_turn: dict[int, list[Question]] = {}
        for q in stage.questions:
            lex, sem = where[q.id]
            if lex or sem:
                by_turn.setdefault((lex or sem).window.turns[0], []).append(q)
        changed = False
        for k, qs in by_turn.items():
            if len(qs) < 2:
                continue
            own = [q for q in qs if _asks_itself(q, ctx.turns[k], ctx, use_lex, use_sem)]
            keep = own or [max(qs, key=lambda q: _found_confidence(*where[q.id]))]
            for q in qs:
                if q not in keep:
                    exclude[q.id].add(k)
                    changed = True
        if not changed:
            return where


def _found_confidence(lex: _Found | None, sem: _Found | None) -> float:
    return max(_confidence(lex.score, True) if lex else 0.0, _semantic_confidence(sem.score) if sem else 0.0)


def _asks_itself(q: Question, turn: Turn, ctx: _Context, use_lex: bool, use_sem: bool) -> bool:
    """Some sentence of `turn` that asks carries `q`'s own words (or, semantically, its meaning)."""
    asking = [s for s in turn.sentences if s.asks]
    if use_lex and any(_question_score(q, s.words, ctx.lex) >= ASKED_THRESHOLD
                       and (not _is_short(q) or _same_wording(q, s.text)) for s in asking):
        return True
    if use_sem and asking:
        return float((ctx.vec([q.text]) @ ctx.vec([s.text for s in asking]).T).max()) >= SEMANTIC_ASKED
    return False


def align_offline(transcript: Transcript, stage: Stage, *, guide: Guide | None = None, areas: bool = True,
                  signals: Sequence[str] = SIGNALS) -> Alignment:
    """The offline alignment with the chosen signals ("lexical", "semantic" or both, the default);
    `areas=False` leaves out the areas to cover (stage detection needs only which questions were asked)."""
    bad = [s for s in signals if s not in SIGNALS]
    if bad or not signals:
        from evaluator.errors import UsageError

        raise UsageError(f"unknown alignment signal(s) {bad or list(signals)}", hint="use lexical, semantic or both")
    use_lex, use_sem = "lexical" in signals, "semantic" in signals
    result = Alignment(guide_id=guide.id if guide else "", stage_id=stage.id, stage_name=stage.name,
                       signals=[s for s in SIGNALS if s in signals])
    directions = directions_sentences(transcript, stage) if transcript.segments else {}
    result.directions_segment_ids = list(directions)
    ctx = _prepare(transcript, stage, directions, use_sem)
    if use_sem:
        from evaluator import semantic

        result.semantic_model = semantic.model_version()
    turns = ctx.turns
    iv_turns = [t for t in turns if t.role == Role.interviewer]
    cand_turns = [t for t in turns if t.role == Role.candidate]
    if not iv_turns:
        result.warnings.append("no interviewer turns: cannot tell which questions were asked "
                               "(set roles with --interviewer NAME / --candidate NAME)")
    if not cand_turns:
        result.warnings.append("no candidate turns: nothing was answered "
                               "(set roles with --interviewer NAME / --candidate NAME)")
    if not stage.questions:
        result.warnings.append(f"stage {stage.id!r} has no scripted questions: coverage falls back to its "
                               "scorecard and directions")
        return result
    texts = [normalize(q.text) for q in stage.questions]
    dupes = {t for t in texts if texts.count(t) > 1}
    if dupes:
        result.warnings.append(f"the stage has {len(dupes)} duplicate question text(s); each copy is matched "
                               "to the same place")

    where = _locate_questions(stage, ctx, use_lex, use_sem)
    matches: list[QuestionMatch] = []
    located: dict[str, tuple[int, ...]] = {}
    for q in stage.questions:
        lex, sem = where[q.id]
        found = lex or sem
        if found is None:
            best_lex = max((c.score for c in _lexical_scores(q, ctx)), default=0.0) if use_lex else 0.0
            best_lex = min(best_lex, ASKED_THRESHOLD)  # a match given up for another question is still a miss
            matches.append(QuestionMatch(question_id=q.id, text=q.text, asked=False,
                                         confidence=round(_confidence(best_lex, False), 3)))
            continue
        method: Method = "both" if lex and sem else "lexical" if lex else "semantic"
        conf = _confidence(lex.score, True) if lex else _semantic_confidence(sem.score)
        if lex and sem:
            conf = max(conf, _semantic_confidence(sem.score))
        win = found.window
        m = QuestionMatch(question_id=q.id, text=q.text, asked=True, confidence=round(conf, 3), method=method)
        m.segment_ids = list(dict.fromkeys(s.segment.id for s in win.sents))
        m.start_s = win.sents[0].segment.start_s
        m.asked_text = " ".join(turns[k].text for k in win.turns)
        located[q.id] = win.turns
        matches.append(m)

    # order of asking
    order = sorted((located[m.question_id][0], m.question_id) for m in matches if m.asked)
    starts = {qid: k for k, qid in order}
    for pos, (_, qid) in enumerate(order, 1):
        next(m for m in matches if m.question_id == qid).order = pos
    question_turns = {k for idx in located.values() for k in idx}

    # follow-ups and answer spans
    used_turns = set(question_turns)
    boundaries = sorted(starts.values())
    for q, m in zip(stage.questions, matches):
        if not m.asked:
            continue
        first = located[q.id][0]
        end = next((b for b in boundaries if b > first and b not in located[q.id]), len(turns))
        window = range(first + 1, end)
        asking = [s for k in window if turns[k].role == Role.interviewer for s in turns[k].sentences if s.asks]
        fsims = (ctx.vec(q.follow_ups) @ ctx.vec([s.text for s in asking]).T) if use_sem and asking and q.follow_ups \
            else None
        for fi, f in enumerate(q.follow_ups):
            fm = FollowUpMatch(text=f, asked=False)
            lex_k, lex_s = None, 0.0
            if use_lex:
                fw = concept_words(f)
                for k in window:
                    t = turns[k]
                    if t.role != Role.interviewer or not any(s.asks for s in t.sentences):
                        continue
                    s = ctx.lex.coverage(fw, set(t.words))
                    if s > lex_s:
                        lex_k, lex_s = k, s
                if lex_s < FOLLOW_UP_THRESHOLD:
                    lex_k = None
            sem_sent, sem_s = None, 0.0
            if fsims is not None:
                j = int(fsims[fi].argmax())
                sibling = max((float(fsims[o, j]) for o in range(len(q.follow_ups)) if o != fi), default=0.0)
                if fsims[fi, j] >= SEMANTIC_FOLLOW_UP and fsims[fi, j] - sibling >= SEMANTIC_FOLLOW_UP_MARGIN:
                    sem_sent, sem_s = asking[j], float(fsims[fi, j])
            if lex_k is not None or sem_sent is not None:
                k = lex_k if lex_k is not None else sem_sent.turn
                seg = turns[k].segments[0] if lex_k is not None else sem_sent.segment
                fm.asked, fm.confidence = True, round(max(lex_s, sem_s), 3)
                fm.method = "both" if lex_k is not None and sem_sent is not None else \
                    "lexical" if lex_k is not None else "semantic"
                fm.segment_id, fm.start_s = seg.id, seg.start_s
                used_turns.add(k)
            m.follow_ups.append(fm)
        # the answer runs until the next guide question or an off-topic interviewer question
        topic = concept_words(q.text) + [w for a in q.areas_to_cover for w in concept_words(a)]
        topic_texts = [q.text, *q.follow_ups, *q.areas_to_cover]
        ans: list[Segment] = []
        for k in window:
            t = turns[k]
            if t.role == Role.interviewer and k not in used_turns and ans and any(s.asks for s in t.sentences) \
                    and len(t.text.split()) > 6:
                on_topic = use_lex and ctx.lex.coverage(topic, set(t.words)) >= 0.2
                if not on_topic and use_sem:
                    asked_here = [s.text for s in t.sentences if s.asks]
                    on_topic = float((ctx.vec(topic_texts) @ ctx.vec(asked_here).T).max()) >= SEMANTIC_ON_TOPIC
                if not on_topic:
                    break
            if t.role == Role.candidate:
                ans.extend(t.segments)
        m.answer_segment_ids = [s.id for s in ans]
        m.answered = sum(len(s.text.split()) for s in ans) >= 8
        if ans:
            m.answer_start_s = ans[0].start_s
            m.answer_end_s = ans[-1].end_s if ans[-1].end_s is not None else ans[-1].start_s

    if areas:
        _areas_to_cover(stage, matches, cand_turns, ctx, use_lex, use_sem)

    # interviewer questions that are not the guide's
    for k, t in enumerate(turns):
        if t.role != Role.interviewer or k in used_turns:
            continue
        for s in t.sentences:
            if s.text.rstrip().endswith("?") and len(s.text.split()) >= 3:
                result.extra_questions.append(ExtraQuestion(segment_id=s.segment.id, start_s=s.segment.start_s,
                                                            text=s.text))
    result.questions = matches
    return result


_align_offline = align_offline


def _confidence(score: float, asked: bool) -> float:
    """Distance from the decision threshold, mapped to 0.5-1."""
    if asked:
        return min(1.0, 0.5 + (score - ASKED_THRESHOLD) / (2 * (1 - ASKED_THRESHOLD)))
    return min(1.0, 0.5 + (ASKED_THRESHOLD - score) / (2 * ASKED_THRESHOLD))


def _semantic_confidence(sim: float) -> float:
    return min(1.0, 0.5 + (sim - SEMANTIC_ASKED) / (2 * (1 - SEMANTIC_ASKED)))


def _areas_to_cover(stage: Stage, matches: list[QuestionMatch], cand_turns: list[Turn], ctx: _Context,
                    use_lex: bool, use_sem: bool) -> None:
    """Areas to cover: in the answer; else anywhere the candidate spoke (flagged as outside the answer)."""
    import numpy as np

    cand_sents = [s for t in cand_turns for s in t.sentences]
    area_texts = list(dict.fromkeys(a for q in stage.questions for a in q.areas_to_cover))
    vocab = Vocab([concept_words(a) for a in area_texts] + [list(s.words) for s in cand_sents[:4000]])
    lex = _Lexical(vocab, set().union(*(s.words for s in cand_sents)) if cand_sents else set())
    sims = None
    if use_sem and cand_sents and area_texts:
        sims = ctx.vec(area_texts) @ ctx.vec([s.text for s in cand_sents]).T
    row = {a: i for i, a in enumerate(area_texts)}
    every = list(range(len(cand_sents)))
    for q, m in zip(stage.questions, matches):
        answer_ids = set(m.answer_segment_ids)
        in_answer = [i for i, s in enumerate(cand_sents) if s.segment.id in answer_ids]
        for area in q.areas_to_cover:
            relative = None
            if sims is not None:
                # how much closer each sentence is to this area than to the question's other areas
                others = [sims[row[o]] for o in q.areas_to_cover if o != area]
                relative = sims[row[area]] - (np.max(others, axis=0) if others else 0.0)
            cov = _area_coverage(area, cand_sents, lex, sims[row[area]] if sims is not None else None, relative,
                                 use_lex, in_answer)
            if cov.status == "not":
                # outside the answer only the words count: among hundreds of sentences one is always
                # somewhat close in meaning
                elsewhere = _area_coverage(area, cand_sents, lex, None, None, use_lex, every)
                if elsewhere.status == "covered":
                    elsewhere.outside_answer = True
                    cov = elsewhere
            m.areas.append(cov)


def _area_coverage(area: str, sents: list[Sentence], lex: _Lexical, sims, relative, use_lex: bool,
                   idx: list[int]) -> AreaCoverage:
    """The best evidence for one area among sentences `idx`: its words (lexical), or (semantic, when
    `sims` is given) a sentence close to it and closer to it than to the question's other areas."""
    aw = concept_words(area)
    if _QUANT_AREA.search(area):
        aw = aw + ["#number"]
    best_lex = (0.0, -1)
    if use_lex and idx:
        expanded = set().union(*(lex.variants(w) for w in aw))
        by_seg: dict[str, list[int]] = {}
        for i in idx:
            by_seg.setdefault(sents[i].segment.id, []).append(i)
        for seg_idx in by_seg.values():
            for i in seg_idx:
                s = sents[i]
                if s.words.isdisjoint(expanded) and not s.has_number:
                    continue
                v = lex.coverage(aw, s.words | {"#number"} if s.has_number else s.words)
                if v > best_lex[0]:
                    best_lex = (v, i)
            if len(seg_idx) > 1:
                # the area may be spread over the sentences of one segment
                words = frozenset().union(*(sents[i].words for i in seg_idx))
                if any(sents[i].has_number for i in seg_idx):
                    words = words | {"#number"}
                v = 0.9 * lex.coverage(aw, words)
                if v > best_lex[0]:
                    best_lex = (v, best_lex[1] if best_lex[1] in seg_idx else seg_idx[0])
    lex_status = _status(best_lex[0], AREA_COVERED, AREA_PARTLY)
    sem_status, best_sem = "not", (0.0, -1)
    if sims is not None and idx:
        ok = [i for i in idx if relative[i] >= SEMANTIC_AREA_MARGIN]
        if ok:
            j = max(ok, key=lambda i: sims[i])
            best_sem = (float(sims[j]), j)
            sem_status = _status(best_sem[0], SEMANTIC_AREA_COVERED, SEMANTIC_AREA_PARTLY)
    rank = {"not": 0, "partly": 1, "covered": 2}
    status = max(lex_status, sem_status, key=rank.get)
    if status == "not":
        return AreaCoverage(area=area, status="not", score=round(best_lex[0], 3))
    by_lex = rank[lex_status] >= rank[sem_status]
    method: Method = "both" if lex_status == sem_status else "lexical" if by_lex else "semantic"
    score, i = (best_lex if by_lex else best_sem)
    s = sents[i]
    return AreaCoverage(area=area, status=status, score=round(score, 3), segment_ids=[s.segment.id], quote=s.text,
                        method=method)


def _status(score: float, covered: float, partly: float) -> CoverageStatus:
    return "covered" if score >= covered else "partly" if score >= partly else "not"


def align(transcript: Transcript, stage: Stage, *, guide: Guide | None = None, method: str = "offline") -> Alignment:
    """Align a transcript (roles set) to one stage: offline and deterministic (lexical and semantic signals); it
    never calls an LLM (`evaluator.areas_llm.refine_areas_with_llm` refines the areas to cover with one)."""
    if method != "offline":
        from evaluator.errors import UsageError

        raise UsageError(f"unknown alignment method {method!r}", hint="alignment is offline; for LLM-judged areas "
                         "to cover use `coverage --areas llm`")
    return _align_offline(transcript, stage, guide=guide)


# ---------------------------------------------------------------- stage detection

# Stage detection is trusted at or above this score of the best stage (the share of its questions
# asked, weighted by match confidence), when it also beats the next stage by a tenth of itself.
# It scores with the lexical signal alone: with both, other talk scored as high as real interviews
# (on samples/labels and tests/data/not_interviews the lowest right answer was 0.435 and a real
# screening against the wrong guide 0.429; a podcast 0.353). Lexically the lowest right answer is
# 0.256 (cam-screening-paraphrased) and the highest other talk 0.219 (the podcast; a screening
# against the wrong guide 0.16): the floor sits between. Below it, commands ask for --stage,
# listing `candidates`.
STAGE_CONFIDENT = 0.24
STAGE_SIGNALS: tuple[str, ...] = ("lexical",)


class StageCandidate(BaseModel):
    """One stage and how well the transcript matches it."""

    stage_id: str
    stage_name: str
    score: float


class StageGuess(BaseModel):
    """How well a transcript matches each stage, best first; `confident` says whether to trust it."""

    stage_id: str
    stage_name: str
    confidence: float
    confident: bool = Field(description=f"The best stage scores at least {STAGE_CONFIDENT} and clearly beats the "
                                        "next: safe to use without --stage.")
    scores: dict[str, float]
    candidates: list[StageCandidate] = Field(default_factory=list, description="Every stage scored, best first.")
    reason: str


_ROLE_PLAY_LABELS = {"customer", "agent", "account manager", "customer account manager", "csm",
                     "customer success manager"}
_ROLE_PLAY_SETUP = re.compile(r"\b(role[- ]?play|pretend|(start|begin) the (exercise|call|scenario)|"
                              r"i'?ll (be|play) (the )?(customer|client|director|owner|buyer)|"
                              r"you'?re (the|my) (account manager|agent|csm|rep))\b", re.I)


_last_guesses: dict[tuple, StageGuess] = {}


def detect_stage(transcript: Transcript, guide: Guide, *, signals: Sequence[str] = STAGE_SIGNALS,
                 stage_ids: Sequence[str] | None = None) -> StageGuess:
    """Name the stage a transcript best matches, with a confidence; says so when none fits.

    `confident` is calibrated for the default signals (lexical); other signals give scores for
    other uses (inputs.check_interview). `stage_ids` scores only those stages (a stage the person named)."""
    # checking that a file is an interview and picking its stage ask the same question of the same
    # transcript: answer it once (keyed on everything the answer depends on, so an edit is a new question)
    key = (guide.model_dump_json(), tuple(signals), tuple(stage_ids or ()),
           tuple((s.id, s.speaker, s.role, s.text) for s in transcript.segments), tuple(transcript.speakers))
    if key not in _last_guesses:
        if len(_last_guesses) >= 8:
            _last_guesses.clear()
        _last_guesses[key] = _detect_stage(transcript, guide, signals, stage_ids)
    return _last_guesses[key].model_copy(deep=True)


def _detect_stage(transcript: Transcript, guide: Guide, signals: Sequence[str],
                  stage_ids: Sequence[str] | None = None) -> StageGuess:
    turns = build_turns(transcript)
    iv_text = " ".join(t.text for t in turns if t.role == Role.interviewer) or " ".join(t.text for t in turns)
    all_words = set(concept_words(" ".join(t.text for t in turns)))
    labels = {normalize(s) for s in transcript.speakers}
    scores: dict[str, float] = {}
    for st in guide.stages:
        if (st.id not in stage_ids) if stage_ids else st.kind.value in ("debrief",):
            continue
        if st.questions:
            try:
                al = align_offline(transcript, st, guide=guide, areas=False, signals=signals)
                asked = [q for q in al.questions if q.asked]
                scores[st.id] = len(asked) / len(al.questions) * (
                    sum(q.confidence for q in asked) / len(asked) if asked else 0)
            except AlignmentError:
                scores[st.id] = 0.0
        else:
            # no scripted questions (a role-play work sample): role-play speaker labels or the set-up of an
            # exercise, then the vocabulary of its directions and scorecard. Vocabulary alone is weak
            # evidence: any long conversation about the job shares it.
            vocab_words = concept_words(st.directions_interviewer + " " + st.directions_candidate + " " +
                                        " ".join(c.name for c in st.scorecard) + " " + " ".join(st.materials))
            cov = weighted_coverage(vocab_words, all_words, Vocab([vocab_words]))
            evidence = 0.0
            if labels & _ROLE_PLAY_LABELS:
                evidence += 0.5
            if _ROLE_PLAY_SETUP.search(iv_text):
                evidence += 0.3
            s = evidence + (0.4 if evidence else 0.15) * cov
            scores[st.id] = min(s, 1.0)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        raise AlignmentError(f"guide {guide.id!r} has no stage to detect", hint="add a stage to the guide")
    best_id, best = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    conf = round(max(0.0, min(1.0, best * (0.5 + (best - second)))), 3) if best > 0 else 0.0
    st = guide.stage(best_id)
    confident = best >= STAGE_CONFIDENT and best - second >= 0.1 * best
    if not confident:
        listed = ", ".join(f"{guide.stage(k).name} {v:.2f}" for k, v in ranked)
        # the fix (name the stage) is the caller's to word: a CLI option, or a field on a page
        reason = (f"no stage matches well (best: {st.name} at {best:.2f}; {listed})" if best < STAGE_CONFIDENT else
                  f"two stages match about equally ({listed})")
    else:
        reason = f"{st.name}: score {best:.2f}, next best {second:.2f}"
    return StageGuess(stage_id=best_id, stage_name=st.name, confidence=conf, confident=confident,
                      scores={k: round(v, 3) for k, v in ranked},
                      candidates=[StageCandidate(stage_id=k, stage_name=guide.stage(k).name, score=round(v, 3))
                                  for k, v in ranked],
                      reason=reason)
