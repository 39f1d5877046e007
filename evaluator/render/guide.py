"""An interview guide (`Guide`) as a readable summary: Markdown, or an HTML page made from it."""

from __future__ import annotations

from evaluator.guide import Guide, Stage
from evaluator.render.registry import markdown_page, writer


def render_guide_markdown(guide: Guide, stages: list[Stage] | None = None) -> str:
    """A readable Markdown summary: stages, questions with areas and follow-ups, criteria with anchors."""
    stages = stages if stages is not None else guide.stages
    out = [f"# {guide.role}", f"guide `{guide.id}` version {guide.version}", ""]
    if len(stages) == len(guide.stages) and guide.essential_competencies:
        out.append("**Essential competencies:** " + "; ".join(c.name for c in guide.essential_competencies))
        out.append("")
    for st in stages:
        out += [f"## {st.name} (`{st.id}`, {st.kind.value})", ""]
        if st.directions_interviewer:
            out += ["**Directions for the interviewer:** " + st.directions_interviewer.replace("\n", " "), ""]
        if st.directions_candidate:
            out += ["**Directions to share with the candidate:** " + st.directions_candidate.replace("\n", " "), ""]
        if not st.questions:
            out += ["_No scripted questions: scored from the conversation against the scorecard and directions._", ""]
        for q in st.questions:
            tags = f" _({', '.join(q.competencies)})_" if q.competencies else ""
            out.append(f"### `{q.id}` {q.text}{tags}")
            if q.areas_to_cover:
                out.append("- Areas to cover: " + "; ".join(q.areas_to_cover))
            if q.follow_ups:
                out.append("- Follow-ups: " + " / ".join(q.follow_ups))
            if q.guidance:
                out.append("- Guidance: " + q.guidance.replace("\n", " "))
            out.append("")
        if st.scorecard:
            out += ["### Scorecard", ""]
            for c in st.scorecard:
                lo, hi = c.scale
                out.append(f"- **{c.name}** (`{c.id}`, {c.kind.value}, {lo}-{hi})")
                for k, text in c.anchors.items():
                    out.append(f"  - {k}: {text}")
            out.append("")
        for tag in st.unmatched_tags():
            out.append(f"> question `{tag[0]}` names **{tag[1]}**, which matches no criterion of this scorecard")
        if st.notes:
            out += ["**Unplaced text from the source:**"] + [f"- {n}" for n in st.notes] + [""]
    return "\n".join(out).rstrip() + "\n"


@writer(Guide, "md")
def _guide_markdown(guide: Guide) -> str:
    return render_guide_markdown(guide)


markdown_page(Guide, lambda g: g.role)
