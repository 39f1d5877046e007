"""The three things to do differently next time, ranked, each tied to the lines behind it."""

from __future__ import annotations

from evaluator.coach.report import CoachReport, LineRef, Recommendation, line_ref
from evaluator.coach.rules import category_name
from evaluator.coach.talk import TALK_SHARE_LIMIT
from evaluator.transcript import Transcript
def _refs_for(t: Transcript, ids: list[str]) -> list[LineRef]:
    out = []
    for i in dict.fromkeys(ids):
        try:
            out.append(line_ref(t.segment(i)))
        except KeyError:
            continue
    return out


def recommend(t: Transcript, report: CoachReport, limit: int = 3) -> list[Recommendation]:
    """The most useful things to do differently, each tied to lines. Ranked: must-not-ask, skipped questions,
    hypothetical/leading, talk-time imbalance, directions, closed, stacked, no time for the candidate's questions."""
    recs: list[tuple[str, str, str, list[str]]] = []
    mna = report.must_not_ask
    if mna:
        cats = list(dict.fromkeys(f.category or "" for f in mna))
        alts = list(dict.fromkeys(f.lawful_alternative for f in mna if f.lawful_alternative))
        names = [category_name(c) for c in cats]
        title = ", ".join(names[:3]) + (f" and {len(names) - 3} more topics" if len(names) > 3 else "")
        recs.append(("must_not_ask", "Stop asking about " + title,
                     f"{len(mna)} question(s) touched protected characteristics: "
                     + "; ".join(f'{f.time} "{f.quote}"' for f in mna[:4])
                     + (" ..." if len(mna) > 4 else "")
                     + (". Ask instead: " + " / ".join(alts[:2]) if alts else "."),
                     [f.segment_id for f in mna]))
    st = report.structure
    if st.available and st.skipped:
        texts = [q for q in st.questions if not q.asked]
        recs.append(("skipped", f"Ask every guide question ({len(texts)} of {st.total} skipped)",
                     "Skipped: " + "; ".join(f"{q.question_id} \"{q.text}\"" for q in texts[:3])
                     + (" ..." if len(texts) > 3 else "") + ". Every candidate should get the same questions.",
                     []))
    hl = [f for f in report.question_quality if f.kind in ("hypothetical", "leading")]
    if hl:
        kinds = sorted({f.kind for f in hl})
        ex = hl[0]
        better = (f' e.g. "{ex.guide_question_text}"' if ex.guide_question_text else
                  ' e.g. "Tell me about a time when you..."')
        recs.append(("hypothetical_leading", "Ask about real past behaviour, neutrally" if len(kinds) > 1 else (
            "Ask for real examples, not hypotheticals" if kinds == ["hypothetical"] else
            "Ask neutral questions, not leading ones"),
                     "; ".join(f'{f.time} ({f.kind}) "{f.quote}"' for f in hl[:3])
                     + (" ..." if len(hl) > 3 else "") + f". Ask open, neutral questions about what they did,{better}.",
                     [f.segment_id for f in hl]))
    tt = report.talk_time
    if tt.interviewer_share is not None and tt.interviewer_share > TALK_SHARE_LIMIT:
        mono = tt.longest_monologue
        where = ""
        if mono:
            where = (f" The longest stretch was {mono.duration_s:.0f} s from {mono.time}" if mono.duration_s
                     is not None else f" The longest stretch was {mono.words} words") + f" ({mono.segment_ids[0]})."
        recs.append(("talk_time", "Talk less, listen more",
                     f"The interviewer had {tt.interviewer_share:.0%} of the "
                     f"{'speaking time' if tt.basis == 'time' else 'words'} (aim for under {TALK_SHARE_LIMIT:.0%})."
                     + where, mono.segment_ids if mono else []))
    if st.directions is not None and st.directions.applicable and not st.directions.given:
        recs.append(("directions", "Open with the directions for the candidate",
                     f'The guide\'s opening was not given (best match {st.directions.score:.0%}). Say: '
                     f'"{st.directions.expected[:160]}{"..." if len(st.directions.expected) > 160 else ""}"',
                     st.directions.segment_ids))
    for kind, title, advice in (
            ("closed", "Ask open questions, not yes/no ones",
             'Turn them into "Tell me about...", "How did you...", "What happened when...".'),
            ("stacked", "Ask one question at a time", "Ask one, wait for the full answer, then follow up.")):
        fl = [f for f in report.question_quality if f.kind == kind]
        if fl:
            recs.append((kind, title, "; ".join(f'{f.time} "{f.quote}"' for f in fl[:3])
                         + (" ..." if len(fl) > 3 else "") + ". " + advice, [f.segment_id for f in fl]))
    if st.available and st.candidate_questions is None and report.stage_kind not in ("work-sample",):
        recs.append(("candidate_questions", "Leave time for the candidate's questions",
                     "The candidate was never invited to ask their own questions; keep the last 5 minutes for them.",
                     []))
    elif (st.candidate_questions_time_s is not None and st.candidate_questions_time_s < 120
          and report.stage_kind not in ("work-sample",)):
        recs.append(("candidate_questions", "Leave more time for the candidate's questions",
                     f"The candidate was invited to ask at {st.candidate_questions.time}, leaving "
                     f"{st.candidate_questions_time_s:.0f} s.", [st.candidate_questions.segment_id]))
    return [Recommendation(rank=i + 1, kind=k, title=title, detail=detail, lines=_refs_for(t, ids))
            for i, (k, title, detail, ids) in enumerate(recs[:limit])]
