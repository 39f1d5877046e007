"""Align a transcript to one stage of a guide: which questions were asked, where, which follow-ups,
the span of each answer, and which areas to cover the answer touched.

`align(transcript, stage)` is a pure function. The offline method is lexical: content words
(normalised, stemmed, fillers dropped) weighted by how distinctive they are within the stage,
with a fuzzy match per word for ASR errors. Questions split across turns, merged with small
talk, or asked out of order are handled by scoring interviewer *turns* (consecutive interviewer
segments) and pairs of turns separated by a short candidate reply.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field

from evaluator.errors import AlignmentError
from evaluator.guide import Guide, Question, Stage
from evaluator.text import content_words, normalize, sentences, stem
from evaluator.transcript import Role, Segment, Transcript

ASKED_THRESHOLD = 0.5
RELATIVE_THRESHOLD = 0.3
RELATIVE_MARGIN = 0.12
FOLLOW_UP_THRESHOLD = 0.55
AREA_COVERED = 0.5
AREA_PARTLY = 0.25
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


class FollowUpMatch(BaseModel):
    """One of the guide's follow-up questions and whether it was asked."""

    text: str
    asked: bool
    confidence: float = 0.0
    segment_id: str | None = None
    start_s: float | None = None


class QuestionMatch(BaseModel):
    """One guide question: asked or not, where, the answer span and the areas it covered."""

    question_id: str
    text: str
    asked: bool
    confidence: float = Field(description="0-1: how sure the match (or the absence) is.")
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
    method: str = "offline"
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
class Turn:
    """Consecutive segments of one role."""

    role: Role
    segments: list[Segment]
    index: int
    text: str = ""
    words: list[str] = field(default_factory=list)

    @property
    def start_s(self) -> float | None:
        return self.segments[0].start_s

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.segments]


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
        t.text = " ".join(s.text for s in t.segments)
        t.words = concept_words(t.text)
    return turns


_QUESTION_START = re.compile(
    r"\b(tell me|tell us|walk me through|walk us through|describe|give me|share|talk (me )?(about|through)|"
    r"explain|can you|could you|would you|how (do|did|would|have|comfortable)|what (was|were|is|are|do|did|would|questions)|"
    r"why|when|where|which|are you|do you|did you|have you|were you|is there)\b",
    re.I,
)
_SKIP = re.compile(r"\b(skip|skipping|not going to ask|won't ask|no need to ask|we can pass on|let's pass on|"
                   r"come back to that|leave (that|it) (out|aside))\b", re.I)


_REQUEST = re.compile(r"\b(tell me|tell us|walk me through|walk us through|describe|give me an example|"
                      r"talk (me )?(about|through)|I wanted to ask|I'd like to (ask|hear)|I want to (ask|hear))\b", re.I)
_LEAD = re.compile(r"^(?:(?:so|and|okay|ok|alright|all right|now|next|great|um|uh|well|then|also|right|"
                   r"cool|perfect|let's see)[,.]?\s+)*", re.I)


def _is_question_like(text: str) -> bool:
    """A sentence ends in '?' or starts like a question or a request ('tell me about...')."""
    for sent in sentences(text):
        if sent.endswith("?"):
            return True
        if _QUESTION_START.match(_LEAD.sub("", sent)) or _REQUEST.search(sent):
            return True
    return False


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


_PHRASES = [(re.compile(p, re.I), r) for p, r in (
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


def concept_words(text: str) -> list[str]:
    """Content words with paraphrase groups folded to one concept token."""
    return list(_concept_words(text))


@lru_cache(maxsize=200_000)
def _concept_words(text: str) -> tuple[str, ...]:
    for rx, rep in _PHRASES:
        text = rx.sub(rep, text)
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


# ---------------------------------------------------------------- the aligner


@dataclass
class _Candidate:
    score: float
    turn_indexes: list[int]


def directions_sentences(transcript: Transcript, stage: Stage) -> dict[str, list[str]]:
    """Interviewer sentences that share the stage's 'directions to share with the candidate',
    by segment id (a segment can hold directions and a real question)."""
    dw = concept_words(stage.directions_candidate)
    if len(dw) < 4:
        return {}
    vocab = Vocab([dw])
    dset = set(dw)
    out: dict[str, list[str]] = {}
    for seg in transcript.segments:
        if seg.role != Role.interviewer:
            continue
        found = []
        for sent in sentences(seg.text):
            sw = concept_words(sent)
            if len(sw) >= 3 and sum(1 for w in sw if w in dset) / len(sw) >= 0.5:
                found.append(sent)
        if found and weighted_coverage(dw, set(concept_words(" ".join(found))), vocab) >= 0.12:
            out[seg.id] = found
    return out


def _without(text: str, sentences: list[str]) -> str:
    for sent in sentences:
        text = text.replace(sent, " ")
    return text


def _prepare(transcript: Transcript, stage: Stage, skip: dict[str, list[str]] | None = None) -> tuple[list[Turn], list[Turn], Vocab]:
    if not transcript.segments:
        raise AlignmentError(f"{transcript.meta.source or 'transcript'}: the transcript is empty",
                             hint="give a transcript with at least one speaker turn")
    turns = build_turns(transcript)
    skip = skip or {}
    for t in turns:
        if t.role != Role.interviewer:
            continue
        # directions and "we'll skip the question about X" are not asking anything
        parts = []
        for s in t.segments:
            text = _without(s.text, skip.get(s.id, []))
            parts.append(" ".join(x for x in sentences(text) if not _SKIP.search(x)))
        text = " ".join(p for p in parts if p)
        if text != t.text:
            t.text, t.words = text, concept_words(text)
    iv = [t for t in turns if t.role == Role.interviewer]
    docs = [concept_words(q.text) for q in stage.questions]
    docs += [concept_words(f) for q in stage.questions for f in q.follow_ups]
    docs += [concept_words(a) for q in stage.questions for a in q.areas_to_cover]
    return turns, iv, Vocab(docs)


def _question_score(q: Question, words: set[str], text: str, vocab: Vocab) -> float:
    qw = concept_words(q.text)
    s = weighted_coverage(qw, words, vocab)
    # the guide's own follow-ups and areas name the topic too (paraphrases often use their words)
    extra = [w for a in q.areas_to_cover + q.follow_ups for w in concept_words(a)]
    if extra:
        s = max(s, 0.75 * s + 0.25 * weighted_coverage(extra, words, vocab))
    return s


def align(transcript: Transcript, stage: Stage, *, guide: Guide | None = None, method: str = "offline") -> Alignment:
    """Align a transcript (roles set) to one stage. Offline, lexical and deterministic; it never calls
    an LLM (`evaluator.areas_llm.refine_areas_with_llm` refines the areas to cover with one)."""
    if method != "offline":
        from evaluator.errors import UsageError

        raise UsageError(f"unknown alignment method {method!r}", hint="alignment is offline; for LLM-judged areas "
                         "to cover use `coverage --areas llm`")
    return _align_offline(transcript, stage, guide=guide)


def _align_offline(transcript: Transcript, stage: Stage, *, guide: Guide | None = None,
                   areas: bool = True) -> Alignment:
    """The offline, lexical alignment; `areas=False` leaves out the areas to cover (stage detection
    needs only which questions were asked)."""
    result = Alignment(guide_id=guide.id if guide else "", stage_id=stage.id, stage_name=stage.name)
    directions = directions_sentences(transcript, stage) if transcript.segments else {}
    result.directions_segment_ids = list(directions)
    turns, iv_turns, vocab = _prepare(transcript, stage, directions)
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

    # candidate locations: single turns and pairs of turns around a short candidate reply
    units: list[tuple[list[int], set[str], str]] = []
    for k, t in enumerate(turns):
        if t.role != Role.interviewer:
            continue
        units.append(([k], set(t.words), t.text))
        if k + 2 < len(turns) and turns[k + 2].role == Role.interviewer and len(turns[k + 1].text.split()) <= 12:
            u = turns[k + 2]
            units.append(([k, k + 2], set(t.words) | set(u.words), t.text + " " + u.text))

    matches: list[QuestionMatch] = []
    located: dict[str, list[int]] = {}
    for q in stage.questions:
        best: _Candidate | None = None
        cands: list[_Candidate] = []
        for idx, words, text in units:
            if not _is_question_like(text):
                continue
            s = _question_score(q, words, text, vocab)
            if len(idx) > 1:
                s -= 0.03  # prefer one turn when it explains the match as well
                single = _question_score(q, set(turns[idx[0]].words), turns[idx[0]].text, vocab)
                if single < 0.25:  # the first turn must carry part of the question
                    continue
            cands.append(_Candidate(s, idx))
            if best is None or s > best.score + 1e-9:
                best = _Candidate(s, idx)
        if best is not None and best.score >= ASKED_THRESHOLD:
            # a question asked twice (or repeated as a recap) is located where it was first asked
            best = min((c for c in cands if c.score >= max(ASKED_THRESHOLD, 0.6 * best.score)),
                       key=lambda c: c.turn_indexes[0])
        asked = best is not None and best.score >= ASKED_THRESHOLD
        if best is not None and not asked and best.score >= RELATIVE_THRESHOLD:
            # a short paraphrase shares few words, but this question is clearly what the turn asks about
            idx = best.turn_indexes
            words = set().union(*(turns[k].words for k in idx))
            text = " ".join(turns[k].text for k in idx)
            others = [_question_score(o, words, text, vocab) for o in stage.questions if o is not q]
            if best.score - max(others, default=0.0) >= RELATIVE_MARGIN:
                asked = True
        m = QuestionMatch(question_id=q.id, text=q.text, asked=asked,
                          confidence=round(_confidence(best.score if best else 0.0, asked), 3))
        if asked:
            segs = []
            for k in best.turn_indexes:
                cand = turns[k].segments
                texts = [_without(x.text, directions.get(x.id, [])) for x in cand]
                sc = [_question_score(q, set(concept_words(tx)), tx, vocab) for tx in texts]
                top = max(sc, default=0.0)
                segs += [x for x, v in zip(cand, sc) if v >= 0.6 * top and v > 0] or cand[:1]
            m.segment_ids = [s.id for s in segs]
            m.start_s = segs[0].start_s
            m.asked_text = " ".join(turns[k].text for k in best.turn_indexes)
            located[q.id] = best.turn_indexes
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
        for f in q.follow_ups:
            fw = concept_words(f)
            fm = FollowUpMatch(text=f, asked=False)
            best_k, best_s = None, 0.0
            for k in window:
                t = turns[k]
                if t.role != Role.interviewer or not _is_question_like(t.text):
                    continue
                s = weighted_coverage(fw, set(t.words), vocab)
                if s > best_s:
                    best_k, best_s = k, s
            if best_k is not None and best_s >= FOLLOW_UP_THRESHOLD:
                fm.asked, fm.confidence = True, round(best_s, 3)
                fm.segment_id, fm.start_s = turns[best_k].segments[0].id, turns[best_k].start_s
                used_turns.add(best_k)
            m.follow_ups.append(fm)
        # the answer runs until the next guide question or an off-topic interviewer question
        ans: list[Segment] = []
        for k in window:
            t = turns[k]
            if t.role == Role.interviewer and k not in used_turns and _is_question_like(t.text) and ans:
                if weighted_coverage(concept_words(q.text) + [w for a in q.areas_to_cover for w in concept_words(a)],
                             set(t.words), vocab) < 0.2 and len(t.text.split()) > 6:
                    end = k
                    break
            if t.role == Role.candidate:
                ans.extend(t.segments)
        m.answer_segment_ids = [s.id for s in ans]
        m.answered = sum(len(s.text.split()) for s in ans) >= 8
        if ans:
            m.answer_start_s = ans[0].start_s
            m.answer_end_s = ans[-1].end_s if ans[-1].end_s is not None else ans[-1].start_s

    # areas to cover: in the answer; else anywhere the candidate spoke (flagged as outside the answer)
    cand_segments = [s for t in cand_turns for s in t.segments] if areas else []
    area_vocab = Vocab([concept_words(a) for q in stage.questions for a in q.areas_to_cover]
                        + [concept_words(s.text) for s in cand_segments[:2000]])
    by_id = {s.id: s for s in cand_segments}
    for q, m in zip(stage.questions, matches):
        if not areas:
            break
        answer = [by_id[i] for i in m.answer_segment_ids if i in by_id]
        for area in q.areas_to_cover:
            cov = _area_coverage(area, answer, area_vocab)
            if cov.status == "not":
                elsewhere = _area_coverage(area, cand_segments, area_vocab)
                if elsewhere.status == "covered":
                    elsewhere.outside_answer = True
                    cov = elsewhere
            m.areas.append(cov)

    # interviewer questions that are not the guide's
    for k, t in enumerate(turns):
        if t.role != Role.interviewer or k in used_turns:
            continue
        for seg in t.segments:
            for sent in sentences(seg.text):
                if sent.rstrip().endswith("?") and len(sent.split()) >= 3:
                    result.extra_questions.append(ExtraQuestion(segment_id=seg.id, start_s=seg.start_s, text=sent))
    result.questions = matches
    return result


def _confidence(score: float, asked: bool) -> float:
    """Distance from the decision threshold, mapped to 0.5-1."""
    if asked:
        return min(1.0, 0.5 + (score - ASKED_THRESHOLD) / (2 * (1 - ASKED_THRESHOLD)) + 0.0)
    return min(1.0, 0.5 + (ASKED_THRESHOLD - score) / (2 * ASKED_THRESHOLD))


def _words_with_numbers(text: str) -> set[str]:
    w = set(concept_words(text))
    if _NUMBER.search(text):
        w.add("#number")
    return w


def _area_coverage(area: str, segments: list[Segment], vocab: Vocab) -> AreaCoverage:
    aw = concept_words(area)
    if _QUANT_AREA.search(area):
        aw = aw + ["#number"]
    best = (0.0, None, None)
    for seg in segments:
        sents = sentences(seg.text)
        for sent in sents:
            s = weighted_coverage(aw, _words_with_numbers(sent), vocab)
            if s > best[0]:
                best = (s, seg, sent)
        if len(sents) > 1:
            s = weighted_coverage(aw, _words_with_numbers(seg.text), vocab) * 0.9
            if s > best[0]:
                best = (s, seg, best[2] if best[1] is seg else seg.text)
    score, seg, sent = best
    status: CoverageStatus = "covered" if score >= AREA_COVERED else "partly" if score >= AREA_PARTLY else "not"
    if status == "not":
        return AreaCoverage(area=area, status="not", score=round(score, 3))
    return AreaCoverage(area=area, status=status, score=round(score, 3), segment_ids=[seg.id], quote=sent)


# ---------------------------------------------------------------- stage detection


class StageGuess(BaseModel):
    """How well a transcript matches each stage, best first."""

    stage_id: str
    stage_name: str
    confidence: float
    scores: dict[str, float]
    reason: str


def detect_stage(transcript: Transcript, guide: Guide) -> StageGuess:
    """Name the stage a transcript best matches, with a confidence; says so when none fits."""
    turns = build_turns(transcript)
    iv_text = " ".join(t.text for t in turns if t.role == Role.interviewer) or " ".join(t.text for t in turns)
    all_words = set(concept_words(" ".join(t.text for t in turns)))
    labels = {normalize(s) for s in transcript.speakers}
    scores: dict[str, float] = {}
    for st in guide.stages:
        if st.kind.value in ("debrief",):
            continue
        if st.questions:
            try:
                al = _align_offline(transcript, st, guide=guide, areas=False)
                asked = [q for q in al.questions if q.asked]
                scores[st.id] = len(asked) / len(al.questions) * (
                    sum(q.confidence for q in asked) / len(asked) if asked else 0)
            except AlignmentError:
                scores[st.id] = 0.0
        else:
            # no scripted questions: directions and scorecard vocabulary, plus role-play speaker labels
            vocab_words = concept_words(st.directions_interviewer + " " + st.directions_candidate + " " +
                                        " ".join(c.name for c in st.scorecard) + " " + " ".join(st.materials))
            vocab = Vocab([vocab_words])
            s = 0.6 * weighted_coverage(vocab_words, all_words, vocab)
            if labels & {"customer", "agent", "account manager"}:
                s += 0.4
            if re.search(r"\b(role[- ]?play|mock|exercise|presentation|pretend)\b", iv_text, re.I):
                s += 0.2
            scores[st.id] = min(s, 1.0)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best_id, best = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    conf = round(max(0.0, min(1.0, best * (0.5 + (best - second)))), 3) if best > 0 else 0.0
    st = guide.stage(best_id)
    if best < 0.12:
        reason = (f"no stage matches well (best: {st.name} at {best:.2f}); "
                  "name the stage with --stage")
    else:
        reason = f"{st.name}: score {best:.2f}, next best {second:.2f}"
    return StageGuess(stage_id=best_id, stage_name=st.name, confidence=conf,
                      scores={k: round(v, 3) for k, v in ranked}, reason=reason)
