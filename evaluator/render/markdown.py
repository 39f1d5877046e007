"""Markdown pieces every report shares (table cells, tables, the questions that must not be asked) and
Markdown as a self-contained HTML page (markdown-it-py, CommonMark plus tables)."""

from __future__ import annotations

import functools

PROHIBITED_NOTE = ("The interviewer asked about protected characteristics: the answers must play no part in the "
                   "decision. The coaching report (interview-eval coach) has more.")


def md_escape(text) -> str:
    """A cell for a Markdown table: one line, `|` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def md_bullets(heading: str, items: list) -> list[str]:
    """A `## heading` section listing `items` as bullets (nothing when there are none)."""
    return ["## " + heading, ""] + [f"- {i}" for i in items] + [""] if items else []


def must_not_ask_lines(flags: list) -> list[str]:
    """Markdown list items for must-not-ask flags: category, time, segment, the words, why, what to ask instead.
    Shared by the coaching report, the coverage audit and the scorecards."""
    from evaluator.coach.rules import category_name

    out: list[str] = []
    for f in flags:
        out.append(f"- **{category_name(f.category)}** — {f.time} `{f.segment_id}`: \"{md_escape(f.quote)}\"")
        out.append(f"  {f.explanation}")
        if f.lawful_alternative:
            out.append(f"  Lawful alternative: {f.lawful_alternative}")
    return out


def prohibited_section(flags: list, *, note: str = "") -> list[str]:
    """The Markdown section listing the questions that must not be asked (nothing when there are none)."""
    if not flags:
        return []
    out = ["## Questions that must not be asked", "",
           f"**Questions that must not be asked: {len(flags)}** — each below with its time and segment." + note, ""]
    return out + must_not_ask_lines(flags) + [""]


@functools.lru_cache(maxsize=1)
def _markdown_it():
    from markdown_it import MarkdownIt

    # Report text quotes the transcript, and transcript text is data: no raw HTML, and nothing that could
    # fetch or link anything from outside (images, links, autolinks); reference definitions and entities
    # are off too, so a line that happens to look like one is shown as spoken, not swallowed or decoded.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    return md.enable("table").disable(["image", "link", "autolink", "reference", "entity", "html_inline",
                                       "html_block"])


def markdown_body(md: str) -> str:
    """Markdown as HTML (the inside of a page), every value escaped."""
    return _markdown_it().render(md)


def markdown_to_html(md: str, *, title: str) -> str:
    """Markdown as one self-contained, printable HTML page: inline CSS, no scripts, no external assets."""
    from evaluator.render.pages import page

    return page("report.html.j2", title=title, body=markdown_body(md))
