"""The debrief packet (`DebriefPacket`) as Markdown, and as an HTML page made from that Markdown."""

from __future__ import annotations

from pathlib import Path

from evaluator.debrief import DebriefPacket, DebriefScore
from evaluator.render.markdown import md_bullets, md_table
from evaluator.render.registry import markdown_page, writer
from evaluator.text import fmt_time


def _score_text(s: DebriefScore) -> str:
    if s.score is None:
        return "—"
    return f"{s.score} ({s.label})" if s.label else str(s.score)


@writer(DebriefPacket, "md")
def render_debrief_markdown(packet: DebriefPacket) -> str:
    """The packet as Markdown."""
    out = [f"# Debrief packet: {packet.candidate}", "",
           f"- Role: {packet.role} (guide `{packet.guide_id}`)", ""]
    rows = [[r.stage_name, ", ".join(r.interviewers) or "—",
             f"final r{r.revision}, reviewed by {r.reviewer}" if r.kind == "final" else "**draft (not reviewed)**",
             Path(r.file).name] for r in packet.scorecards]
    out += ["## Scorecards", "", md_table(["stage", "interviewer(s)", "status", "file"], rows), ""]
    out += ["## Overall recommendations", ""]
    if packet.overall:
        out += [md_table(["stage", "given by", "recommendation", "reason for change"],
                         [[s.stage_name, s.given_by, _score_text(s), s.reason or ""] for s in packet.overall]), ""]
    else:
        out += ["_No overall recommendation in these scorecards._", ""]
    out += md_bullets("Disagreements to discuss (spread of 2 or more)", packet.disagreements)
    out += md_bullets("Coverage gaps across the loop", packet.gaps)
    out += ["## Competencies", ""]
    summary = []
    for c in packet.competencies:
        scores = "; ".join(f"{s.stage_id}: {'—' if s.score is None else s.score}" for s in c.scores) or "not assessed"
        flag = "**disagree**" if c.disagreement else ("no evidence" if not c.evidence_gathered else "")
        summary.append([c.name + (" (essential)" if c.essential else ""), scores, flag])
    out += [md_table(["competency", "scores by stage", "note"], summary), ""]
    for c in packet.competencies:
        if not c.scores:
            continue
        out += [f"### {c.name}" + (" (essential competency)" if c.essential else ""), ""]
        for s in c.scores:
            by = s.given_by + (f" (interviewer: {', '.join(s.interviewers)})" if s.interviewers else "")
            out.append(f"- **{_score_text(s)}** — {s.stage_name}, `{s.criterion_id}`, {by}"
                       + (f"; override reason: {s.reason}" if s.reason else ""))
            for q in s.quotes[:3]:
                out.append(f"  - \u201c{' '.join(q.quote.split())}\u201d ({fmt_time(q.start_s)}, {q.segment_id})")
            if len(s.quotes) > 3:
                out.append(f"  - … {len(s.quotes) - 3} more quotes in the scorecard")
        out.append("")
    out += ["## Goals: likelihood of achieving them", ""]
    for g in packet.goals:
        out.append(f"- **{g.goal}**")
        if not g.ratings:
            out.append("  - not rated in any stage")
        for s in g.ratings:
            out.append(f"  - {_score_text(s)} — {s.stage_name}, {s.given_by}"
                       + (f" (interviewer: {', '.join(s.interviewers)})" if s.interviewers else ""))
    out.append("")
    if packet.agenda:
        out += ["## Agenda: Debrief Meeting questions", ""]
        for i, a in enumerate(packet.agenda, 1):
            out.append(f"- **{i}. {a.text}**" + (f" — _{' '.join(a.guidance.split())}_" if a.guidance else ""))
        out.append("")
    out += md_bullets("Warnings", packet.warnings)
    return "\n".join(out).rstrip() + "\n"


markdown_page(DebriefPacket, lambda packet: f"Debrief: {packet.candidate}")
