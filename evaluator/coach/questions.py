"""Judging the interviewer's questions: questions that must not be asked, and question form (hypothetical,
leading, closed, stacked). Also the gate every non-rule (LLM) flag goes through."""

from __future__ import annotations

import re
from typing import Any, Callable

from evaluator.coach.report import CoachReport, Flag
from evaluator.coach.rules import MustNotAskRule, MustNotAskRules, QualityRule, QualityRules, first_match, match_text
from evaluator.text import content_words, fmt_time, normalize, sentences, words
from evaluator.transcript import Role, Segment, Transcript


def _word_similarity(a: str, b: str) -> tuple[float, int]:
    """Share of `a`'s content words that have a near match in `b` (handles 'upsell'/'upsold'), and how many."""
    from rapidfuzz import fuzz

    wa = list(dict.fromkeys(content_words(a)))
    wb = set(content_words(b))
    if not wa or not wb:
        return 0.0, 0
    hits = sum(1 for w in wa if w in wb or any(fuzz.ratio(w, x) >= 80 for x in wb if abs(len(w) - len(x)) <= 3))
    return hits / len(wa), hits


# ---------------------------------------------------------------- must not ask


def _bundled_must_not_ask() -> MustNotAskRules:
    from evaluator.resources import load_must_not_ask_rules

    return load_must_not_ask_rules()


def _quality_rules() -> QualityRules:
    from evaluator.resources import load_quality_rules

    return load_quality_rules()



def find_must_not_ask(t: Transcript, rules: MustNotAskRules | None = None) -> list[Flag]:
    """Interviewer sentences that touch a protected characteristic. One flag per segment and category.

    Only interviewer turns are judged: a candidate volunteering personal information is never flagged.
    """
    rules = rules or _bundled_must_not_ask()
    flags: list[Flag] = []
    for seg in t.by_role(Role.interviewer):
        hits: dict[str, tuple[MustNotAskRule, list[str]]] = {}
        for sent in sentences(seg.text):
            text = match_text(sent)
            for rule in rules.rules:
                if first_match(rule.patterns, text) and not first_match(rule.exceptions, text):
                    entry = hits.setdefault(rule.category, (rule, []))
                    if sent not in entry[1]:
                        entry[1].append(sent)
        for category, (rule, sents) in hits.items():
            flags.append(Flag(kind="must_not_ask", rule_id=rule.id, category=category, segment_id=seg.id,
                              start_s=seg.start_s, time=fmt_time(seg.start_s), line=seg.text, quote=" ".join(sents),
                              explanation=" ".join(rule.explanation.split()),
                              lawful_alternative=" ".join(rule.lawful_alternative.split()) or None))
    return flags


# ---------------------------------------------------------------- question quality

_PAST_BEHAVIOUR = re.compile(
    r"^\s*(tell me about (a|an|the) (time|situation|occasion|example)|describe (a|an) (time|situation|occasion)|"
    r"give me (an|a) (example|instance)|can you give me an example|walk me through (a|an) (time|situation|example)|"
    r"tell me about your most)|\b(did you|have you|you've|you have had|was it|were you)\b",
    re.IGNORECASE)
_AVOID_HYPOTHETICAL = re.compile(r"avoid hypothetical|past (experiences?|behaviou?r)|specific experiences from your "
                                 r"past", re.IGNORECASE)
# "..., and what ..." joins two questions; "..., or did you ..." is usually one either/or question.
_CLAUSE_SPLIT = re.compile(r",\s*and\s+(?=(?:what|how|why|who|when|where|which|did|do|does|were|was|are|is|"
                           r"have|had|could|would|can)\b)", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|yeah|yep|yup|no|nope|nah|partly|sure|correct|once|sometimes|not really|a little|"
                     r"definitely|absolutely|of course|i did|i have|i was)\b", re.IGNORECASE)


def _stage_questions(stage) -> list[tuple[str, str]]:
    """(id, text) of the stage's questions and their follow-ups (follow-ups keep the question's id)."""
    out: list[tuple[str, str]] = []
    for q in (stage.questions if stage is not None else []):
        out.append((q.id, q.text))
        out += [(q.id, f) for f in q.follow_ups]
    return out


def _is_closed_text(text: str) -> bool:
    rules = [r for r in _quality_rules().rules if r.kind == "closed"]
    return any(first_match(r.patterns, match_text(s)) and not first_match(r.exceptions, match_text(s))
               for r in rules for s in sentences(text))


def _best_guide_match(sentence: str, stage, *, only_past: bool = False) -> tuple[Any, float, int]:
    best = (None, 0.0, 0)
    for q in (stage.questions if stage is not None else []):
        if only_past and not _PAST_BEHAVIOUR.search(q.text):
            continue
        for text in [q.text, *q.follow_ups]:
            score, hits = _word_similarity(sentence, text)
            if (score, hits) > (best[1], best[2]):
                best = (q, score, hits)
    return best


def _is_guide_text(sentence: str, stage) -> bool:
    """True when the sentence is (nearly) the guide's own wording of a question or follow-up."""
    from rapidfuzz import fuzz

    s = normalize(sentence)
    if len(s.split()) < 3:
        return False
    for _, text in _stage_questions(stage):
        if fuzz.partial_ratio(s, normalize(text)) >= 88 and len(s) <= len(normalize(text)) + 10:
            return True
    return False


def _hypothetical_applies(stage) -> bool:
    if stage is None:
        return True
    if stage.kind.value in ("work-sample", "reference-check", "debrief"):
        return False
    if _AVOID_HYPOTHETICAL.search(stage.directions_interviewer):
        return True
    return any(_PAST_BEHAVIOUR.search(q.text) for q in stage.questions)


def _is_role_play(stage) -> bool:
    return stage is not None and stage.kind.value == "work-sample"


def _next_reply(t: Transcript, seg: Segment) -> Segment | None:
    idx = t.segments.index(seg)
    for nxt in t.segments[idx + 1:]:
        if nxt.role == Role.candidate:
            return nxt
        if nxt.role == Role.interviewer:
            return None
    return None


def _short_yes_no(reply: Segment | None) -> bool:
    if reply is None:
        return False
    w = words(reply.text)
    return 0 < len(w) <= 6 and bool(_YES_NO.search(reply.text))


def find_question_quality(t: Transcript, stage=None, *, skip_segments: set[str] | None = None) -> list[Flag]:
    """Hypothetical, leading, closed and stacked questions in the interviewer's turns.

    - hypothetical: only where the stage asks for past behaviour (not in role-plays, debriefs, reference checks);
    - closed: a yes/no question that stands in for an open guide question, probes experience with "ever",
      or got a bare yes/no reply (logistics such as work authorisation or schedule are fine);
    - stacked: two or more real questions in one turn, not counting the guide's own wording;
    - at most one of hypothetical/leading/closed per turn (the first that applies in that order), plus stacked.
    Segments in `skip_segments` (e.g. already flagged must-not-ask) are not judged for form.
    """
    qrules = _quality_rules()
    skip = skip_segments or set()
    if _is_role_play(stage):
        return []
    hyp_ok = _hypothetical_applies(stage)
    by_kind = {k: [r for r in qrules.rules if r.kind == k] for k in ("hypothetical", "leading", "closed")}
    flags: list[Flag] = []
    for seg in t.by_role(Role.interviewer):
        if seg.id in skip:
            continue
        sents = sentences(seg.text)
        found: dict[str, tuple[QualityRule, list[str]]] = {}
        for sent in sents:
            text = match_text(sent)
            if stage is not None and _is_guide_text(sent, stage):
                continue
            for kind in ("leading", "hypothetical", "closed"):
                if kind == "hypothetical" and not hyp_ok:
                    continue
                for rule in by_kind[kind]:
                    if first_match(rule.patterns, text) and not first_match(rule.exceptions, text):
                        found.setdefault(kind, (rule, []))[1].append(sent)
                        break
        chosen = None
        for kind in ("leading", "hypothetical", "closed"):
            if kind in found:
                if kind == "closed":
                    res = _closed_flag(t, seg, found[kind], stage)
                    if res:
                        chosen = res
                else:
                    rule, ss = found[kind]
                    gq = _best_guide_match(" ".join(ss), stage, only_past=True) if (
                        stage is not None and kind == "hypothetical") else (None, 0, 0)
                    q = gq[0] if gq[2] >= 2 or gq[1] >= 0.4 else None
                    chosen = _mk_flag(kind, rule.id, seg, ss, " ".join(rule.explanation.split()), q)
                if chosen:
                    break
        if chosen:
            flags.append(chosen)
        stacked = _stacked_flag(seg, sents, stage, qrules)
        if stacked:
            flags.append(stacked)
    return flags


def _mk_flag(kind: str, rule_id: str, seg: Segment, sents: list[str], explanation: str, q=None) -> Flag:
    if q is not None:
        explanation += f' The guide asks: "{q.text}"'
    return Flag(kind=kind, rule_id=rule_id, segment_id=seg.id, start_s=seg.start_s, time=fmt_time(seg.start_s),
                line=seg.text, quote=" ".join(sents), explanation=explanation,
                guide_question_id=q.id if q is not None else None,
                guide_question_text=q.text if q is not None else None)


def _closed_flag(t: Transcript, seg: Segment, found: tuple[QualityRule, list[str]], stage) -> Flag | None:
    rule, sents = found
    # A turn that also asks something open is not a closed question.
    others = [s for s in sentences(seg.text) if s not in sents and s.rstrip().endswith("?")]
    if others:
        return None
    quote = " ".join(sents)
    q = None
    if stage is not None:
        cand, score, hits = _best_guide_match(quote, stage)
        if cand is not None and hits >= 2 and score >= 0.4 and not _is_closed_text(cand.text):
            q = cand
    ever = re.search(r"\bever\b", quote, re.IGNORECASE) is not None
    if not (q or ever or _short_yes_no(_next_reply(t, seg))):
        return None
    return _mk_flag("closed", rule.id, seg, sents, " ".join(rule.explanation.split()), q)


def _question_units(sent: str) -> list[str]:
    return [p for p in _CLAUSE_SPLIT.split(sent) if p and not re.fullmatch(
        r"(what|how|why|who|when|where|which|did|do|does|were|was|are|is|have|had|could|would|can)", p, re.I)]


def _stacked_flag(seg: Segment, sents: list[str], stage, qrules: QualityRules) -> Flag | None:
    units: list[str] = []
    for sent in sents:
        if not sent.rstrip().endswith("?"):
            continue
        text = match_text(sent)
        if first_match(qrules.trivial_questions, text) or len(words(sent)) < 3:
            continue
        if stage is not None and _is_guide_text(sent, stage):
            continue
        parts = _question_units(sent)
        units += parts if len(parts) > 1 else [sent]
    if len(units) < 2:
        return None
    qs = [s for s in sents if s.rstrip().endswith("?")]
    return Flag(kind="stacked", rule_id="stacked-questions", segment_id=seg.id, start_s=seg.start_s,
                time=fmt_time(seg.start_s), line=seg.text, quote=" ".join(qs),
                explanation=(f"{len(units)} questions in one turn: the candidate will answer one (usually the "
                             "last or the easiest) and the others go unanswered. Ask one question, wait for the "
                             "answer, then follow up."))


# ---------------------------------------------------------------- verification of extra (LLM) flags

# An extra pass (e.g. an LLM) proposing flags for a coached interview; each is checked by `verify_flags`.
Reviewer = Callable[[Transcript, CoachReport], list[Flag]]


def verify_flags(t: Transcript, flags: list[Flag]) -> tuple[list[Flag], list[str]]:
    """Keep only flags whose quote is found (normalised, small fuzzy tolerance) in the interviewer turn they cite.

    Returns (kept, warnings). This is the gate every non-rule flag (e.g. from an LLM pass) goes through.
    """
    from rapidfuzz import fuzz

    kept, dropped = [], []
    for f in flags:
        try:
            seg = t.segment(f.segment_id)
        except KeyError:
            dropped.append(f"dropped a {f.kind} flag: segment {f.segment_id} does not exist")
            continue
        if seg.role != Role.interviewer:
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: not an interviewer turn")
            continue
        q, s = normalize(f.quote), normalize(seg.text)
        if not q or (q not in s and fuzz.partial_ratio(q, s) < 90):
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: quote not found in the line")
            continue
        kept.append(f.model_copy(update={"line": seg.text, "start_s": seg.start_s, "time": fmt_time(seg.start_s)}))
    return kept, dropped
