"""Structure: how the interview followed the guide stage (questions asked and skipped, order, time per
question, follow-ups), whether the directions were given, and the time left for the candidate's questions."""

from __future__ import annotations

import re

from evaluator.coach.report import DirectionsCheck, LineRef, Structure, line_ref
from evaluator.coverage import question_coverage
from evaluator.coach.rules import match_text
from evaluator.coach.talk import transcript_end
from evaluator.text import content_words, fmt_time, normalize
from evaluator.transcript import Role, Transcript
_INVITE_QUESTIONS = re.compile(
    r"\b(what|any|other) questions (do you have|have you got|for me|for us|about the (role|company|team))|"
    r"\b(do|did) you have any (other |more |final )?questions\b(?! before)|"
    r"\banything (you'?d|you would) like to ask\b|\bquestions for me\b|\bwhat would you like to know\b",
    re.IGNORECASE)


def check_directions(t: Transcript, stage) -> DirectionsCheck:
    """Were the stage's 'Directions to Share with Candidate' given? Fuzzy-match the interviewer's early turns."""
    from rapidfuzz import fuzz

    expected = stage.directions_candidate.strip().strip('"\u201c\u201d').strip()
    if not expected:
        return DirectionsCheck(applicable=False)
    early = t.by_role(Role.interviewer)[:6]
    if t.has_times and t.segments:
        end = transcript_end(t) or 0
        limit = max(180.0, 0.3 * end)
        early = [s for s in early if s.start_s is not None and s.start_s <= limit] or early[:2]
    exp_words = set(content_words(expected))
    best = DirectionsCheck(applicable=True, expected=expected)
    for i in range(len(early)):
        for j in range(i, min(i + 3, len(early))):
            window = early[i:j + 1]
            text = " ".join(s.text for s in window)
            got = set(content_words(text))
            coverage = len(exp_words & got) / (len(exp_words) or 1)
            ratio = fuzz.partial_ratio(normalize(expected), normalize(text)) / 100 if len(text) > 40 else 0
            score = round(max(coverage, ratio), 2)
            if score > best.score:
                best = DirectionsCheck(applicable=True, given=score >= 0.55, score=score,
                                       segment_ids=[s.id for s in window], start_s=window[0].start_s,
                                       time=fmt_time(window[0].start_s), excerpt=text[:200], expected=expected)
    if not best.given:
        best.segment_ids, best.excerpt = ([], "") if best.score < 0.3 else (best.segment_ids, best.excerpt)
    return best


def check_structure(t: Transcript, stage, alignment=None) -> Structure:
    """Guide questions asked and skipped, order, time per question, follow-ups, directions given, and the time
    left for the candidate's own questions. Needs the stage; the alignment comes from `evaluator.align`."""
    if stage is None:
        return Structure(available=False, note="No guide stage given: structure cannot be checked "
                                               "(pass --guide and --stage).",
                         candidate_questions=None)
    st = Structure(available=True, directions=check_directions(t, stage))
    _candidate_question_time(t, st)
    questions = stage.questions
    if not questions:
        st.note = "This stage has no scripted questions (e.g. a role-play): only the directions are checked."
        return st
    if alignment is None:
        from evaluator.align import align

        alignment = align(t, stage)
    st.warnings = list(alignment.warnings)
    end = transcript_end(t)
    matches = list(alignment.questions)
    asked = sorted([m for m in matches if m.asked],
                   key=lambda m: (m.start_s if m.start_s is not None else float("inf")))
    starts = [m.start_s for m in asked]
    guide_index = {q.id: i for i, q in enumerate(questions)}
    max_idx = -1
    for pos, m in enumerate(asked):
        idx = guide_index.get(m.question_id, -1)
        if idx < max_idx:
            st.out_of_order.append(m.question_id)
        max_idx = max(max_idx, idx)
    for m in matches:
        spent = None
        if m.asked and m.start_s is not None:
            later = [s for s in starts if s is not None and s > m.start_s]
            stop = min(later) if later else (m.answer_end_s or end)
            spent = round(stop - m.start_s, 1) if stop is not None else None
        st.questions.append(question_coverage(m).model_copy(update={"time_spent_s": spent}))
    st.asked = sum(1 for q in st.questions if q.asked)
    st.total = len(st.questions)
    st.skipped = [q.question_id for q in st.questions if not q.asked]
    st.order_followed = not st.out_of_order
    st.follow_ups_used = sum(len(q.follow_ups_used) for q in st.questions)
    for ex in alignment.extra_questions:
        try:
            seg = t.segment(ex.segment_id)
            st.extra_questions.append(line_ref(seg))
        except KeyError:
            st.extra_questions.append(LineRef(segment_id=ex.segment_id, start_s=ex.start_s,
                                              time=fmt_time(ex.start_s), text=ex.text))
    return st


def _candidate_question_time(t: Transcript, st: Structure) -> None:
    segs = t.by_role(Role.interviewer)
    n = len(t.segments)
    invites = [s for s in segs if _INVITE_QUESTIONS.search(match_text(s.text))
               and t.segments.index(s) >= n * 0.5]
    if not invites:
        return
    seg = invites[-1]
    st.candidate_questions = line_ref(seg)
    end = transcript_end(t)
    if end is not None and seg.start_s is not None:
        st.candidate_questions_time_s = round(end - seg.start_s, 1)
