"""The calibration report (`CalibrationReport`) as Markdown tables, and as an HTML page made from them."""

from __future__ import annotations

from evaluator.calibrate import CalibrationReport
from evaluator.render.markdown import md_bullets, md_table
from evaluator.render.registry import markdown_page, writer


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


@writer(CalibrationReport, "md")
def render_calibration_markdown(r: CalibrationReport) -> str:
    """The calibration report as Markdown tables."""
    ai = r.mode == "ai-vs-human"
    title = "AI proposals vs human final scores" if ai else "Calibration: trainee vs reference"
    out = [f"# {title}", "",
           f"- {r.interviews} interviews, {r.pairs} paired scores; mean difference = {r.other_label} − "
           f"{r.reference_label} (positive: {r.other_label} scores higher)", ""]
    head = ["criterion", "n", "exact", "within 1", "kappa (quadratic)", "mean diff", "most divergent"]
    rows = []
    for c in r.criteria + [r.overall]:
        worst = "; ".join(f"{p.interview} ({p.reference}→{p.other})" for p in c.most_divergent[:2]) or "—"
        name = f"**{c.criterion_name}**" if c is r.overall else c.criterion_name
        rows.append([name, c.n, _pct(c.exact), _pct(c.within_one), _num(c.kappa), _num(c.mean_diff, True), worst])
    out += [md_table(head, rows), ""]
    if r.divergent_interviews:
        out += ["## Interviews where the scores diverge most", ""]
        out += [md_table(["interview", "stage", "criteria", "mean |diff|", "mean diff"],
                         [[d.interview, d.stage_id, d.n, f"{d.mean_abs_diff:.2f}", f"{d.mean_diff:+.2f}"]
                          for d in r.divergent_interviews]), ""]
    if r.overrides:
        out += ["## How often reviewers override the AI", ""]
        out += [md_table(["criterion", "decisions", "AI scored", "overridden", "rate", "mean change",
                          "scored by a person", "reasons (first)"],
                         [[o.criterion_name, o.decisions, o.ai_scored, o.overrides, _pct(o.override_rate),
                           _num(o.mean_change, True), o.scored_by_person, " / ".join(o.reasons[:2]) or "—"]
                          for o in r.overrides]), ""]
    if r.reviewers:
        out += [md_table(["reviewer", "decisions", "overrides", "rate"],
                         [[v.reviewer, v.decisions, v.overrides, _pct(v.override_rate)] for v in r.reviewers]), ""]
    out += md_bullets("Not paired", r.unpaired) + md_bullets("Warnings", r.warnings)
    return "\n".join(out).rstrip() + "\n"


markdown_page(CalibrationReport, lambda r: "Calibration")
