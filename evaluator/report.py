"""Rendering: Markdown for the terminal and files, self-contained HTML, CSV. A registry of writers
keyed by output format; JSON is always the pydantic model itself."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Callable

from evaluator.errors import UsageError
from evaluator.text import fmt_time

# ---------------------------------------------------------------- Markdown helpers


def md_escape(text: str) -> str:
    """Escape a cell for a Markdown table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #ddd;padding-bottom:.3rem}h2{font-size:1.25rem;margin-top:2rem}
h3{font-size:1.05rem}table{border-collapse:collapse;width:100%;margin:.8rem 0;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f5}
code{background:#f3f3f5;padding:0 .2rem;border-radius:3px}blockquote{border-left:4px solid #8aa;margin:.5rem 0;
padding:.2rem .8rem;color:#333;background:#f7fafa}.warn{color:#8a5300}
@media print{body{max-width:none;margin:0}h2{page-break-after:avoid}table,blockquote{page-break-inside:avoid}}
"""


def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"(?<![\w*])_([^_]+)_(?![\w*])", r"<em>\1</em>", t)
    return t


def markdown_to_html(md: str, *, title: str) -> str:
    """A small, dependency-free Markdown subset (headings, tables, lists, quotes, emphasis) as one
    self-contained, printable HTML page with inline CSS and no external assets."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    list_depth = 0

    def close_lists(depth: int = 0):
        nonlocal list_depth
        while list_depth > depth:
            out.append("</ul>")
            list_depth -= 1

    while i < len(lines):
        line = lines[i]
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|(\s*:?-+:?\s*\|)+$", lines[i + 1]):
            close_lists()
            head = [c.strip() for c in line.strip("|").split("|")]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in head) + "</tr></thead><tbody>")
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", lines[i].strip()[1:-1])]
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
                i += 1
            out.append("</tbody></table>")
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            close_lists()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif re.match(r"^\s*[-*]\s+", line):
            depth = (len(line) - len(line.lstrip())) // 2 + 1
            while list_depth < depth:
                out.append("<ul>")
                list_depth += 1
            close_lists(depth)
            item = re.sub(r"^\s*[-*]\s+", "", line)
            out.append(f"<li>{_inline(item)}</li>")
        elif line.startswith(">"):
            close_lists()
            out.append(f"<blockquote>{_inline(line.lstrip('> '))}</blockquote>")
        elif line.strip():
            close_lists()
            out.append(f"<p>{_inline(line)}</p>")
        else:
            close_lists()
        i += 1
    close_lists()
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(out) + "\n</body></html>\n")


# ---------------------------------------------------------------- coverage


def render_coverage_markdown(cov) -> str:
    """One interview's coverage audit."""
    out = [f"# Coverage audit: {cov.stage_name}", ""]
    out.append(f"- Interview: `{cov.source}`")
    out.append(f"- Interviewer: {', '.join(cov.interviewers) or 'unknown'}; candidate: "
               f"{', '.join(cov.candidates) or 'unknown'}")
    out.append(f"- Guide: `{cov.guide_id}` version {cov.guide_version}, stage `{cov.stage_id}`")
    if cov.stage_detection:
        out.append(f"- Stage detected: {cov.stage_detection.reason} (confidence {cov.stage_detection.confidence:.2f})")
    out.append(f"- **Required questions asked: {cov.asked}/{cov.total} ({cov.asked_pct:.0f}%)**"
               + ("; asked out of guide order" if cov.out_of_order else ""))
    out.append(f"- Directions shared with the candidate: {'yes' if cov.directions_given else 'not found'}")
    out.append("")
    if cov.total:
        rows = []
        for q in cov.questions:
            rows.append([
                f"`{q.question_id}`", q.text[:90] + ("…" if len(q.text) > 90 else ""),
                f"yes @ {fmt_time(q.start_s)}" if q.asked else "**no**",
                f"{q.confidence:.2f}",
                f"{q.follow_ups_asked}/{q.follow_ups_total}",
                f"{q.areas_covered} + {q.areas_partly} partly / {q.areas_total}",
            ])
        out += [md_table(["id", "question", "asked", "conf.", "follow-ups", "areas covered"], rows), ""]
        never = [(q.question_id, a) for q in cov.questions for a in q.areas_not_probed]
        if never:
            out += ["## Areas never probed", ""]
            out += [f"- `{qid}`: {a}" for qid, a in never]
            out.append("")
        out += ["## Where each question was asked", ""]
        for q in cov.questions:
            if q.asked:
                out.append(f"- `{q.question_id}` at {fmt_time(q.start_s)} ({', '.join(q.segment_ids)}): "
                           f"\u201c{q.asked_text[-160:].strip()}\u201d")
        out.append("")
    if cov.extra_questions:
        out += ["## Questions not in the guide", ""]
        out += [f"- {fmt_time(e.start_s)} ({e.segment_id}): {e.text}" for e in cov.extra_questions]
        out.append("")
    if cov.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in cov.warnings] + [""]
    return "\n".join(out).rstrip() + "\n"


def render_batch_markdown(b) -> str:
    """The batch coverage audit: per interview, per interviewer, most skipped questions."""
    out = [f"# Coverage audit: {len(b.interviews)} interviews (guide `{b.guide_id}`)", ""]
    out += ["## Per interview", ""]
    rows = [[Path(i.source).name, ", ".join(i.interviewers) or "?", i.stage_id, f"{i.asked}/{i.total}",
             f"{i.asked_pct:.0f}%", sum(len(q.areas_not_probed) for q in i.questions),
             ", ".join(q.question_id for q in i.questions if not q.asked) or "—"] for i in b.interviews]
    out += [md_table(["interview", "interviewer", "stage", "asked", "%", "areas not probed", "skipped"], rows), ""]
    out += ["## Per interviewer", ""]
    rows = [[s.interviewer, s.interviews, f"{s.asked_pct:.0f}%", s.areas_not_probed, ", ".join(s.often_skipped) or "—"]
            for s in sorted(b.per_interviewer, key=lambda s: s.asked_pct)]
    out += [md_table(["interviewer", "interviews", "mean asked", "areas not probed", "usually skips"], rows), ""]
    if b.per_stage:
        out += ["## Per stage", ""]
        out += [md_table(["stage", "mean asked"], [[k, f"{v:.0f}%"] for k, v in sorted(b.per_stage.items())]), ""]
    if b.most_skipped:
        out += ["## Most often skipped questions", ""]
        out += [md_table(["question", "text", "skipped"],
                         [[f"`{s.question_id}`", s.text[:90], f"{s.skipped}/{s.of}"] for s in b.most_skipped[:10]]), ""]
    if b.failures:
        out += ["## Could not be audited", ""] + [f"- `{f.source}`: {f.error}" for f in b.failures] + [""]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- writers registry


def output_format(path: str | Path, allowed: tuple[str, ...]) -> str:
    """The output format a path's extension names, or a UsageError listing the allowed ones."""
    ext = Path(path).suffix.lower().lstrip(".")
    ext = {"htm": "html", "markdown": "md"}.get(ext, ext)
    if ext not in allowed:
        raise UsageError(f"{path}: cannot write .{ext or '(no extension)'} here",
                         hint="use one of: " + ", ".join("." + a for a in allowed))
    return ext


def render(obj, fmt: str, *, markdown: Callable[[object], str], title: str,
           csv: Callable[[object], str] | None = None) -> str:
    """Render a report model in one format (json, md, html, csv)."""
    if fmt == "json":
        return obj.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return markdown(obj)
    if fmt == "html":
        return markdown_to_html(markdown(obj), title=title)
    if fmt == "csv" and csv is not None:
        return csv(obj)
    raise UsageError(f"format {fmt!r} is not available for this report")
