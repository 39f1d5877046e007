"""The coaching report (`CoachReport`) and the batch summary (`CoachSummary`), as Markdown and as an HTML
page made from that Markdown: every figure with the lines and times behind it."""

from __future__ import annotations

from evaluator.coach.report import QUALITY_KINDS, CoachReport, CoachSummary
from evaluator.render.markdown import md_escape, must_not_ask_lines
from evaluator.render.registry import markdown_page, writer
from evaluator.text import fmt_time


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


@writer(CoachReport, "md")
def render_coach_markdown(report: CoachReport) -> str:
    """The coaching report as Markdown: every figure with the lines and times behind it."""
    r = report
    L: list[str] = []
    title = "Interviewer coaching report"
    L.append(f"# {title}")
    L.append("")
    meta = [f"**Source:** `{r.source or '-'}`"]
    if r.guide_id:
        meta.append(f"**Guide:** {r.guide_id} v{r.guide_version or '?'}")
    if r.stage_name:
        meta.append(f"**Stage:** {r.stage_name} (`{r.stage_id}`)")
    meta.append(f"**Interviewer:** {r.interviewer or '?'}  **Candidate:** {r.candidate or '?'}")
    L += [" · ".join(meta), "", f"_{r.roles_note}_", ""]
    L.append("This report judges how the interview was conducted, not the candidate. "
             "Offline rules" + (" plus a verified LLM pass" if r.llm_used else "") + f" (rules v{r.rules_version}).")
    L.append("")
    for w in r.warnings:
        L.append(f"> ⚠ {w}")
    if r.warnings:
        L.append("")

    L += ["## Three things to do differently next time", ""]
    if not r.recommendations:
        L.append("Nothing stood out: the interview followed the guide and no flags were raised.")
    for rec in r.recommendations:
        L.append(f"{rec.rank}. **{rec.title}.** {rec.detail}")
        if rec.lines:
            L.append("   Lines: " + ", ".join(f"`{x.segment_id}` {x.time}" for x in rec.lines[:8])
                     + (" ..." if len(rec.lines) > 8 else ""))
    L.append("")

    tt = r.talk_time
    L += ["## Talk time", "", f"_{tt.note}_", "",
          "| speaker | role | turns | words | " + ("seconds | " if tt.basis == "time" else "") + "share |",
          "|---|---|---:|---:|" + ("---:|" if tt.basis == "time" else "") + "---:|"]
    for s in tt.speakers:
        L.append(f"| {md_escape(s.speaker)} | {s.role.value} | {s.turns} | {s.words} | "
                 + (f"{s.seconds:.0f} | " if tt.basis == "time" else "") + f"{_pct(s.share)} |")
    L.append("")
    L.append(f"Interviewer {_pct(tt.interviewer_share)}, candidate {_pct(tt.candidate_share)} of the "
             f"{'speaking time' if tt.basis == 'time' else 'words'}.")
    if tt.longest_monologue:
        m = tt.longest_monologue
        size = f"{m.duration_s:.0f} s, {m.words} words" if m.duration_s is not None else f"{m.words} words"
        L.append(f"Longest interviewer monologue: {size}, from {m.time} "
                 f"({', '.join(f'`{i}`' for i in m.segment_ids)}): \"{md_escape(m.excerpt)}\"")
    if tt.interruptions:
        L.append("")
        L.append("Interruptions:")
        for it in tt.interruptions:
            how = f"overlapping by {it.overlap_s:.1f} s" if it.evidence == "overlap" else "cutting the turn off"
            L.append(f"- {it.time} `{it.segment_id}`: the {it.by_role.value} came in on `{it.interrupted_segment_id}` "
                     f"({how})")
    elif tt.overlaps_measurable:
        L.append("No interruptions or overlaps found.")
    else:
        L.append("Overlaps cannot be measured without end times; no cut-off turns were found.")
    L.append("")

    st = r.structure
    L += ["## Structure", ""]
    if st.note:
        L += [f"_{st.note}_", ""]
    if st.directions is not None and st.directions.applicable:
        d = st.directions
        if d.given:
            L.append(f"Directions to the candidate: **given** at {d.time} ({', '.join(f'`{i}`' for i in d.segment_ids)}, "
                     f"match {d.score:.0%}).")
        else:
            L.append(f"Directions to the candidate: **not given** (best match {d.score:.0%}). Expected: "
                     f"\"{md_escape(d.expected)}\"")
        L.append("")
    if st.questions:
        L += [f"Guide questions asked: **{st.asked} of {st.total}**"
              + ("" if st.order_followed in (None, True) else
                 f"; asked out of guide order: {', '.join(st.out_of_order)}")
              + f"; guide follow-ups used: {st.follow_ups_used}.", "",
              "| # | question | asked | at | time spent | follow-ups used |", "|---|---|---|---|---:|---|"]
        for q in st.questions:
            spent = f"{q.time_spent_s:.0f} s" if q.time_spent_s is not None else "-"
            fu = "; ".join(q.follow_ups_used) or "-"
            when = fmt_time(q.start_s)
            where = f"{when} `{q.segment_ids[0]}`" if q.asked and q.segment_ids else ("-" if not q.asked else when)
            L.append(f"| {q.question_id} | {md_escape(q.text[:90])} | {'yes' if q.asked else '**no**'} | {where} | "
                     f"{spent} | {md_escape(fu)} |")
        L.append("")
    if st.extra_questions:
        L.append(f"Questions not in the guide: {len(st.extra_questions)} ("
                 + ", ".join(f"{x.time} `{x.segment_id}`" for x in st.extra_questions[:10]) + ").")
        L.append("")
    if st.available or st.directions is not None:
        if st.candidate_questions is not None:
            left = (f", leaving {st.candidate_questions_time_s:.0f} s" if st.candidate_questions_time_s is not None
                    else "")
            L.append(f"Candidate's own questions: invited at {st.candidate_questions.time} "
                     f"(`{st.candidate_questions.segment_id}`){left}.")
        else:
            L.append("Candidate's own questions: never invited.")
        L.append("")
    for w in st.warnings:
        L.append(f"> {w}")

    L += ["## Questions an interviewer must not ask", ""]
    if not r.must_not_ask:
        L += ["None found.", ""]
    L += must_not_ask_lines(r.must_not_ask)
    L.append("")

    L += ["## Question quality", ""]
    if not r.question_quality:
        L += ["No hypothetical, leading, closed or stacked questions found.", ""]
    for kind in QUALITY_KINDS:
        fl = [f for f in r.question_quality if f.kind == kind]
        if not fl:
            continue
        L.append(f"### {kind.capitalize()} ({len(fl)})")
        L.append("")
        for f in fl:
            L.append(f"- {f.time} `{f.segment_id}`: \"{md_escape(f.quote)}\"")
            L.append(f"  {f.explanation}")
        L.append("")
    return "\n".join(L).rstrip() + "\n"


@writer(CoachSummary, "md")
def render_summary_markdown(summary: CoachSummary) -> str:
    """A per-interviewer table over a batch of interviews."""
    L = ["# Interviewer coaching summary", "",
         "| interviewer | interviews | talk share | guide questions asked | directions given | must-not-ask | "
         "hypothetical | leading | closed | stacked |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in summary.rows:
        asked = f"{row.questions_asked}/{row.questions_total}" if row.questions_total else "-"
        L.append(f"| {md_escape(row.interviewer)} | {row.interviews} | {_pct(row.mean_interviewer_share)} | {asked} | "
                 f"{row.directions_given}/{row.interviews} | {row.must_not_ask} | {row.hypothetical} | {row.leading} | "
                 f"{row.closed} | {row.stacked} |")
    L.append("")
    L += ["| interview | interviewer | top recommendation |", "|---|---|---|"]
    for r in summary.reports:
        top = r.recommendations[0].title if r.recommendations else "-"
        L.append(f"| `{r.source}` | {md_escape(r.interviewer or '?')} | {md_escape(top)} |")
    if summary.errors:
        L += ["", "Could not coach:"] + [f"- {e}" for e in summary.errors]
    return "\n".join(L) + "\n"


markdown_page(CoachReport, lambda r: f"Coaching report: {r.source or ''}")
markdown_page(CoachSummary, lambda s: "Coaching summary")
