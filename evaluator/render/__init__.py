"""Every report, in every format, from one place: a registry of writers per (report type, format), as in
whisperX's writers per output format.

    render(obj, fmt, *, title=None) -> str      # fmt: md, html, csv, json
    write(obj, path, fmt=None)                  # atomic; the format from the extension unless named
    formats_for(obj or type)                    # which formats a report type supports
    resolve_format(obj or type, fmt=, path=)    # --format / -o extension -> format, or a UsageError

Report types: `Draft` and `FinalScorecard` (md, html, csv), `InterviewCoverage`, `BatchCoverage`,
`CoachReport`, `CoachSummary`, `DebriefPacket`, `CalibrationReport` and `Guide` (md, html); JSON is always
the pydantic model itself. One module per family (`scorecard`, `coverage`, `coach`, `debrief`, `calibrate`,
`guide`) registers its writers with `@writer(Type, "md")`; it is imported when a report of its type is first
written. Markdown is what the terminal shows. HTML pages
are Jinja2 templates (`templates/`, autoescaped, self-contained, printable): the scorecard is a real template
over `ScorecardView` (see `evaluator.render.scorecard`, which the web app can use too); the other reports are
their Markdown converted by markdown-it-py (CommonMark plus tables, raw HTML and links off). Jinja2 and
markdown-it are imported only when HTML is written.
"""

from __future__ import annotations

from evaluator import lazy_attributes
from evaluator.render.registry import FORMATS, formats_for, markdown_page, render, resolve_format, write, writer

# Everything else is imported on first use (PEP 562), so that writing a scorecard does not import the coaching,
# debrief and calibration models: the name -> the module that defines it.
_LAZY = {
    "render_coach_markdown": ".coach", "render_summary_markdown": ".coach",
    "render_batch_markdown": ".coverage", "render_coverage_markdown": ".coverage",
    "render_debrief_markdown": ".debrief", "render_calibration_markdown": ".calibrate",
    "render_guide_markdown": ".guide",
    "markdown_to_html": ".markdown", "md_escape": ".markdown", "md_table": ".markdown",
    **dict.fromkeys(["SCORECARD_CSV_COLUMNS", "CriterionView", "ScorecardView", "criterion_markdown",
                     "criterion_view", "render_scorecard_csv", "render_scorecard_html",
                     "render_scorecard_markdown", "scorecard_view"], ".scorecard"),
}
__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "FORMATS", "SCORECARD_CSV_COLUMNS", "CriterionView", "ScorecardView", "criterion_markdown", "criterion_view",
    "formats_for", "markdown_page", "markdown_to_html", "md_escape", "md_table", "render", "render_batch_markdown",
    "render_calibration_markdown", "render_coach_markdown", "render_coverage_markdown", "render_debrief_markdown",
    "render_guide_markdown", "render_scorecard_csv", "render_scorecard_html", "render_scorecard_markdown",
    "render_summary_markdown", "resolve_format", "scorecard_view", "write", "writer",
]
