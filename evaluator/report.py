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
    """A small, dependency-free Markdown subset (headings, tables, bulleted, nested and numbered lists with
    continuation lines, quotes, emphasis) as one self-contained, printable HTML page: inline CSS, no
    scripts, no external assets."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    stack: list[str] = []  # open list tags, innermost last

    def close_lists(depth: int = 0):
        while len(stack) > depth:
            out.append(f"</{stack.pop()}>")

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
        item = re.match(r"^(\s*)([-*]|\d+\.)\s+(.*)$", line)
        if m:
            close_lists()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif item:
            depth = len(item.group(1)) // 2 + 1
            tag = "ol" if item.group(2)[0].isdigit() else "ul"
            close_lists(depth)
            if len(stack) == depth and stack[-1] != tag:
                close_lists(depth - 1)
            while len(stack) < depth:
                out.append(f"<{tag}>")
                stack.append(tag)
            parts = [item.group(3)]
            # indented lines that are not list items continue this item
            while (i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip()
                   and not re.match(r"^\s*([-*]|\d+\.)\s+", lines[i + 1])):
                i += 1
                parts.append(lines[i].strip())
            out.append("<li>" + "<br>".join(_inline(p) for p in parts) + "</li>")
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
    n = len(cov.prohibited_questions)
    out.append(f"- **Questions that must not be asked: {n}**" + (" — see below" if n else ""))
    out.append("")
    out += _prohibited_section(cov.prohibited_questions)
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
            how = ("judged by the LLM, each claim checked against the transcript"
                   if cov.alignment.method == "llm" else
                   "offline word matching: abstract areas may have been covered in other words; "
                   "`--areas llm` judges them with a model")
            out += ["## Areas not found in the answers", "", f"_({how})_", ""]
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
             ", ".join(q.question_id for q in i.questions if not q.asked) or "—",
             f"**{len(i.prohibited_questions)}**" if i.prohibited_questions else "0"] for i in b.interviews]
    out += [md_table(["interview", "interviewer", "stage", "asked", "%", "areas not probed", "skipped",
                      "must not ask"], rows), ""]
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


# ---------------------------------------------------------------- questions that must not be asked


def _prohibited_section(flags: list, *, note: str = "") -> list[str]:
    """A Markdown section listing the questions that must not be asked (nothing when there are none)."""
    if not flags:
        return []
    from evaluator.coach.report import must_not_ask_lines

    out = ["## Questions that must not be asked", "",
           f"**Questions that must not be asked: {len(flags)}** — each below with its time and segment." + note, ""]
    return out + must_not_ask_lines(flags) + [""]


def _prohibited_html(flags: list) -> list[str]:
    """The HTML section listing the questions that must not be asked (nothing when there are none)."""
    if not flags:
        return []
    from evaluator.coach.rules import category_name

    e = html.escape
    o = ['<h2 id="must-not-ask">Questions that must not be asked</h2>',
         f'<div class="banner"><b>Questions that must not be asked: {len(flags)}</b>. {e(_PROHIBITED_NOTE)}</div><ul>']
    for f in flags:
        alt = (f'<br><span class="sub">Lawful alternative: {e(f.lawful_alternative)}</span>'
               if f.lawful_alternative else "")
        o.append(f'<li class="warn"><b>{e(category_name(f.category))}</b> — {e(f.time)} ({e(f.segment_id)}): '
                 f"\u201c{e(' '.join(f.quote.split()))}\u201d"
                 f'<br><span class="sub">{e(f.explanation)}</span>{alt}</li>')
    return o + ["</ul>"]


_PROHIBITED_NOTE = ("The interviewer asked about protected characteristics: the answers must play no part in the "
                    "decision. The coaching report (interview-eval coach) has more.")


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


# ---------------------------------------------------------------- scorecards (drafts and finals)


def decision_verb(proposal, decision) -> str:
    """'confirmed', 'overridden', or 'scored' (a person scored what the AI left unscored)."""
    if decision.action == "confirm":
        return "confirmed"
    return "scored" if proposal.score is None else "overridden"


def _anchor(p, score) -> str:
    """'3 (Good)' / '—' for a score on a proposal's scale."""
    if score is None:
        return "—"
    label = p.anchors.get(score) if hasattr(p, "anchors") else None
    return f"{score} ({label})" if label else str(score)


_STATUS_TEXT = {
    "proposed": "proposed by the AI",
    "no_evidence": "no verified candidate evidence: 0 (Not Enough Information Gathered to Evaluate)",
    "needs_reviewer": "not scored by the AI: a reviewer must score it",
    "failed": "the AI call failed: a reviewer must score it (or re-run evaluate)",
}


def _quote_where(q) -> str:
    segs = q.segment_ids or [q.segment_id]
    where = segs[0] if len(segs) == 1 else f"{segs[0]}–{segs[-1]}"
    return f"{fmt_time(q.start_s)}, {where}"


def _quote_line(q) -> str:
    by = "" if q.added_by == "ai" else f" — added by {q.added_by}"
    fuzzy = "" if q.match_score >= 0.999 else f" (match {q.match_score:.2f})"
    return f"> \u201c{' '.join(q.quote.split())}\u201d — {q.speaker or 'candidate'}, {_quote_where(q)}{fuzzy}{by}"


def scorecard_rows(card) -> list[tuple]:
    """(proposal, decision or None, final score or None) per criterion of a draft or final scorecard."""
    if getattr(card, "kind", "") == "final":
        return [(c.proposal, c.decision, c.final_score) for c in card.criteria]
    return [(p, None, None) for p in card.scores]


def criterion_markdown(p, decision=None, final_score=None, *, heading: str = "###") -> str:
    """One criterion: scale, AI proposal, decision, rationale, evidence with times, dropped quotes, notes."""
    lo, hi = p.scale
    out = [f"{heading} {p.criterion_name} (`{p.criterion_id}`, {p.kind}, {lo}-{hi})", ""]
    out.append("- Anchors: " + "; ".join(f"{k} = {v}" for k, v in sorted(p.anchors.items())))
    out.append(f"- **AI proposal: {_anchor(p, p.score)}** — {_STATUS_TEXT.get(p.status, p.status)}")
    if p.model_score is not None and p.model_score != p.score:
        out.append(f"- The model said {p.model_score}; the evidence rules changed it to {_anchor(p, p.score)}")
    if p.error:
        out.append(f"- Error: {p.error}")
    if decision is not None:
        if decision.action == "confirm":
            out.append(f"- **Final: {_anchor(p, final_score)}** — confirmed by {decision.reviewer} "
                       f"({decision.decided_at})")
        else:
            out.append(f"- **Final: {_anchor(p, final_score)}** — {decision_verb(p, decision)} by {decision.reviewer} "
                       f"({decision.decided_at}): {decision.reason}")
    if p.based_on:
        out.append("- Based on: " + ", ".join(f"`{b}`" for b in p.based_on))
    out.append("")
    if p.rationale:
        out += [f"_Rationale:_ {' '.join(p.rationale.split())}", ""]
    quotes = list(p.quotes) + (list(decision.added_quotes) if decision is not None else [])
    if quotes:
        out += ["**Evidence:**", ""] + [line for q in quotes for line in (_quote_line(q), "")]
    elif p.status != "needs_reviewer":
        out += ["_No verified candidate evidence._", ""]
    if p.passages and not p.quotes:
        out += ["**Relevant passages (for the reviewer):**", ""]
        for ps in p.passages[:4]:
            text = " ".join(ps.text.split())
            out.append(f"- {fmt_time(ps.start_s)} ({', '.join(ps.segment_ids[:3])}"
                       f"{'…' if len(ps.segment_ids) > 3 else ''}): {text[:300]}{'…' if len(text) > 300 else ''}")
        out.append("")
    if p.dropped:
        out += ["**Dropped quotes (not evidence):**", ""]
        out += [f"- \u201c{' '.join(d.quote.split())[:160]}\u201d — {d.reason}" for d in p.dropped]
        out.append("")
    if decision is not None and decision.notes:
        out += ["**Reviewer notes:** " + " ".join(decision.notes.split()), ""]
    return "\n".join(out).rstrip() + "\n"


def _card_title(card) -> str:
    who = card.candidate or "candidate"
    if getattr(card, "kind", "") == "final":
        rev = f", revision {card.revision}" if card.revision > 1 else ""
        return f"Final scorecard{rev}: {who} — {card.source.stage_name}"
    return f"Draft scorecard: {who} — {card.source.stage_name}"


def _coverage_lines(cov) -> list[str]:
    if not cov.total:
        return []
    out = ["## Question coverage", "",
           f"- Required questions asked: **{cov.asked}/{cov.total}** ({cov.asked_pct:.0f}%)",
           f"- Directions shared with the candidate: {'yes' if cov.directions_given else 'not found'}"]
    if cov.extra_questions:
        out.append(f"- Questions not in the guide: {cov.extra_questions}")
    out.append("")
    if cov.questions:
        rows = [[f"`{q.question_id}`", f"yes @ {fmt_time(q.start_s)}" if q.asked else "**no**",
                 f"{q.areas_covered}/{q.areas_total}"] for q in cov.questions]
        out += [md_table(["question", "asked", "areas covered"], rows), ""]
    return out


def render_scorecard_markdown(card) -> str:
    """A draft or final scorecard as Markdown: header, summary table, coverage, every criterion with evidence."""
    final = getattr(card, "kind", "") == "final"
    src = card.source
    out = [f"# {_card_title(card)}", ""]
    if not final:
        out += ["> **Draft:** AI proposals for a person to confirm or override "
                "(`interview-eval review`). Not a hiring decision.", ""]
    out.append(f"- Candidate: {card.candidate or 'not recorded'}; interviewer(s): "
               f"{', '.join(card.interviewers) or 'not recorded'}")
    out.append(f"- Role: {src.guide_role} (guide `{src.guide_id}` version {src.guide_version}); "
               f"stage: {src.stage_name} (`{src.stage_id}`)")
    if src.transcript_source:
        out.append(f"- Interview: `{src.transcript_source}`")
    if src.llm_model:
        models = [f"LLM {src.llm_model} at {src.llm_endpoint_host}"]
    else:
        models = ["no LLM (scores by a person)" if final else "**no LLM configured: scores need a reviewer**"]
    if src.transcription_model:
        models.append(f"transcription {src.transcription_model}")
    if src.prompt_versions:
        models.append("prompts " + ", ".join(f"{k} {v}" for k, v in sorted(src.prompt_versions.items())))
    out.append("- " + "; ".join(models))
    if final:
        out.append(f"- Reviewed by **{card.reviewer}**, finalised {card.finalized_at}; revision {card.revision}")
        out.append(f"- From draft sha256 `{card.draft_sha256[:16]}…`"
                   + (f"; replaces sha256 `{card.previous_sha256[:16]}…`" if card.previous_sha256 else ""))
    else:
        ev = card.evidence
        out.append(f"- Created {card.created_at} in {card.elapsed_s:.1f} s; {card.usage.total_tokens} tokens; quotes: "
                   f"{ev.proposed} proposed, {ev.verified} verified, {ev.dropped} dropped")
    out.append("")
    out += _prohibited_section(card.prohibited_questions, note=" " + _PROHIBITED_NOTE)
    rows = []
    for p, d, fs in scorecard_rows(card):
        n = len(p.quotes) + (len(d.added_quotes) if d else 0)
        row = [p.criterion_name, p.kind, _anchor(p, p.score)]
        if final:
            row += [_anchor(p, fs), f"{decision_verb(p, d)} by {d.reviewer}"
                    if d else "—"]
        row.append(n)
        rows.append(row)
    head = ["criterion", "kind", "AI proposal"] + (["final", "decision"] if final else []) + ["quotes"]
    out += ["## Summary", "", md_table(head, rows), ""]
    out += _coverage_lines(card.coverage)
    out += ["## Criteria", ""]
    for p, d, fs in scorecard_rows(card):
        out.append(criterion_markdown(p, d, fs))
    if card.injection_flags:
        out += ["## Text addressed to the AI (flagged, no effect on scores)", ""]
        out += [f"- {fmt_time(f.start_s)} ({f.segment_id}) {f.speaker}: \u201c{' '.join(f.text.split())[:200]}\u201d "
                f"— {f.pattern}" for f in card.injection_flags]
        out.append("")
    if card.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in card.warnings] + [""]
    if final and card.notes:
        out += ["## Notes", "", card.notes, ""]
    return "\n".join(out).rstrip() + "\n"


_CARD_CSS = """
*{box-sizing:border-box}body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:62rem;
margin:1.5rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.45;font-size:15px}
h1{font-size:1.55rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;margin:1.8rem 0 .6rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem}h3{font-size:1.05rem;margin:0}
.banner{background:#fff6e0;border:1px solid #f0c36d;padding:.5rem .8rem;border-radius:6px;margin:.6rem 0}
.banner.final{background:#eaf6ec;border-color:#8cc79a}
.meta{color:#444;font-size:.9rem;margin:.2rem 0}.meta b{color:#1d1d1f}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #d4d4d8;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f5}
.crit{border:1px solid #d4d4d8;border-radius:8px;padding:.8rem 1rem;margin:.9rem 0;page-break-inside:avoid}
.crit header{display:flex;justify-content:space-between;gap:1rem;align-items:flex-start}
.sub{color:#666;font-size:.85rem}.scores{white-space:nowrap;text-align:right}
.badge{display:inline-block;min-width:1.9rem;text-align:center;border-radius:5px;padding:.05rem .45rem;
font-weight:600;border:1px solid #bbb;background:#f3f3f5}
.s0{background:#eee;color:#555}.s1{background:#fde2e1;border-color:#e39a96}.s2{background:#fdf0d9;border-color:#e7bf75}
.s3{background:#e3f1e5;border-color:#92c59c}.s4{background:#d4ecf7;border-color:#80b9d6}.none{background:#fff;color:#999}
.anchors{font-size:.83rem;color:#555;margin:.4rem 0}.anchors span{margin-right:.8rem}
.decision{margin:.4rem 0;padding:.3rem .6rem;border-left:4px solid #8cc79a;background:#f5fbf6}
.decision.override{border-color:#e7a33e;background:#fffaf0}
blockquote{margin:.35rem 0;padding:.25rem .7rem;border-left:4px solid #8aa9b8;background:#f6f9fb}
blockquote .where{display:block;color:#555;font-size:.82rem}
.dropped{color:#8a5300;font-size:.88rem}.warn{color:#8a5300}.passage{font-size:.88rem;color:#333}
code{background:#f3f3f5;padding:0 .2rem;border-radius:3px;font-size:.85em}
@media print{body{max-width:none;margin:0;font-size:12px}.crit{break-inside:avoid}h2{break-after:avoid}}
"""


def _badge(score) -> str:
    if score is None:
        return '<span class="badge none">—</span>'
    return f'<span class="badge s{int(score)}">{int(score)}</span>'


def render_scorecard_html(card) -> str:
    """A draft or final scorecard as one self-contained, printable HTML page (inline CSS, no external assets)."""
    e = html.escape
    final = getattr(card, "kind", "") == "final"
    src = card.source
    title = _card_title(card)
    o = [f"<h1>{e(title)}</h1>"]
    if final:
        o.append(f'<div class="banner final">Reviewed and finalised by <b>{e(card.reviewer)}</b> on '
                 f"{e(card.finalized_at)} (revision {card.revision}). Each criterion keeps the AI proposal next "
                 "to the human decision.</div>")
    else:
        o.append('<div class="banner"><b>Draft</b>: AI proposals for a person to confirm or override with '
                 "<code>interview-eval review</code>. Not a hiring decision.</div>")
    o.append(f'<p class="meta"><b>Candidate:</b> {e(card.candidate or "not recorded")} &nbsp; '
             f'<b>Interviewer(s):</b> {e(", ".join(card.interviewers) or "not recorded")}</p>')
    o.append(f'<p class="meta"><b>Role:</b> {e(src.guide_role)} (guide <code>{e(src.guide_id)}</code> v'
             f'{e(src.guide_version)}) &nbsp; <b>Stage:</b> {e(src.stage_name)}</p>')
    extra = []
    if src.transcript_source:
        extra.append(f"<b>Interview:</b> <code>{e(src.transcript_source)}</code>")
    extra.append(f"<b>LLM:</b> {e(src.llm_model or 'none (scores by a person)')}")
    if src.transcription_model:
        extra.append(f"<b>Transcription:</b> {e(src.transcription_model)}")
    o.append('<p class="meta">' + " &nbsp; ".join(extra) + "</p>")
    if final:
        o.append(f'<p class="meta"><b>Draft sha256:</b> <code>{e(card.draft_sha256[:16])}…</code>'
                 + (f" &nbsp; <b>Replaces:</b> <code>{e(card.previous_sha256[:16])}…</code>"
                    if card.previous_sha256 else "") + "</p>")
    o += _prohibited_html(card.prohibited_questions)
    # summary
    o.append("<h2>Summary</h2><table><thead><tr><th>Criterion</th><th>Kind</th><th>AI proposal</th>"
             + ("<th>Final</th><th>Decision</th>" if final else "") + "<th>Quotes</th></tr></thead><tbody>")
    for p, d, fs in scorecard_rows(card):
        n = len(p.quotes) + (len(d.added_quotes) if d else 0)
        cells = [f'<a href="#{e(p.criterion_id)}">{e(p.criterion_name)}</a>', e(p.kind),
                 f"{_badge(p.score)} {e(p.anchors.get(p.score, '') if p.score is not None else p.status.replace('_', ' '))}"]
        if final:
            cells += [f"{_badge(fs)} {e(p.anchors.get(fs, '') if fs is not None else '')}",
                      e(f"{decision_verb(p, d)} by {d.reviewer}")]
        cells.append(str(n))
        o.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    o.append("</tbody></table>")
    # coverage
    cov = card.coverage
    if cov.total:
        o.append("<h2>Question coverage</h2>")
        o.append(f'<p class="meta"><b>Required questions asked:</b> {cov.asked}/{cov.total} ({cov.asked_pct:.0f}%)'
                 f" &nbsp; <b>Directions shared:</b> {'yes' if cov.directions_given else 'not found'}</p>")
        if cov.questions:
            o.append("<table><thead><tr><th>Question</th><th>Asked</th><th>Areas covered</th></tr></thead><tbody>")
            for q in cov.questions:
                asked = f"yes @ {fmt_time(q.start_s)}" if q.asked else "<b>no</b>"
                o.append(f"<tr><td><code>{e(q.question_id)}</code></td><td>{asked}</td>"
                         f"<td>{q.areas_covered}/{q.areas_total}</td></tr>")
            o.append("</tbody></table>")
    # criteria
    o.append("<h2>Criteria</h2>")
    for p, d, fs in scorecard_rows(card):
        lo, hi = p.scale
        o.append(f'<section class="crit" id="{e(p.criterion_id)}"><header><div><h3>{e(p.criterion_name)}</h3>'
                 f'<div class="sub"><code>{e(p.criterion_id)}</code> · {e(p.kind)} · scale {lo}-{hi}</div></div>'
                 f'<div class="scores"><span class="sub">AI</span> {_badge(p.score)}'
                 + (f' &nbsp;<span class="sub">Final</span> {_badge(fs)}' if final else "") + "</div></header>")
        o.append('<div class="anchors">' + "".join(f"<span><b>{k}</b> {e(v)}</span>"
                                                  for k, v in sorted(p.anchors.items())) + "</div>")
        o.append(f'<div class="sub">{e(_STATUS_TEXT.get(p.status, p.status))}'
                 + (f"; the model said {p.model_score}" if p.model_score is not None and p.model_score != p.score
                    else "") + (f"; error: {e(p.error)}" if p.error else "") + "</div>")
        if d is not None:
            if d.action == "confirm":
                o.append(f'<div class="decision">Confirmed by <b>{e(d.reviewer)}</b> ({e(d.decided_at)}).</div>')
            else:
                o.append(f'<div class="decision override">{"Scored" if p.score is None else "Overridden to"} <b>{e(_anchor(p, fs))}</b> by '
                         f"<b>{e(d.reviewer)}</b> ({e(d.decided_at)}): {e(d.reason)}</div>")
        if p.rationale:
            o.append(f"<p><i>Rationale:</i> {e(' '.join(p.rationale.split()))}</p>")
        quotes = list(p.quotes) + (list(d.added_quotes) if d is not None else [])
        for q in quotes:
            by = "" if q.added_by == "ai" else f" · added by {e(q.added_by)}"
            fuzzy = "" if q.match_score >= 0.999 else f" · match {q.match_score:.2f}"
            o.append(f"<blockquote>\u201c{e(' '.join(q.quote.split()))}\u201d<span class=\"where\">"
                     f"{e(q.speaker or 'candidate')} · {e(_quote_where(q))}{fuzzy}{by}</span></blockquote>")
        if not quotes and p.status != "needs_reviewer":
            o.append('<p class="sub">No verified candidate evidence.</p>')
        if p.passages and not p.quotes:
            o.append('<p class="sub">Relevant passages for the reviewer:</p>')
            for ps in p.passages[:4]:
                text = " ".join(ps.text.split())
                o.append(f'<p class="passage">{fmt_time(ps.start_s)} ({e(", ".join(ps.segment_ids[:3]))}): '
                         f"{e(text[:300])}{'…' if len(text) > 300 else ''}</p>")
        for dq in p.dropped:
            o.append(f'<p class="dropped">Dropped: \u201c{e(" ".join(dq.quote.split())[:160])}\u201d — '
                     f"{e(dq.reason)}</p>")
        if d is not None and d.notes:
            o.append(f"<p><b>Reviewer notes:</b> {e(' '.join(d.notes.split()))}</p>")
        o.append("</section>")
    if card.injection_flags:
        o.append("<h2>Text addressed to the AI</h2><p class=\"sub\">Flagged; it has no effect on scores.</p><ul>")
        o += [f'<li class="warn">{fmt_time(f.start_s)} ({e(f.segment_id)}) {e(f.speaker)}: '
              f"\u201c{e(' '.join(f.text.split())[:200])}\u201d — {e(f.pattern)}</li>" for f in card.injection_flags]
        o.append("</ul>")
    if card.warnings:
        o.append("<h2>Warnings</h2><ul>" + "".join(f'<li class="warn">{e(w)}</li>' for w in card.warnings) + "</ul>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_CARD_CSS}</style></head><body>\n" + "\n".join(o)
            + "\n</body></html>\n")


SCORECARD_CSV_COLUMNS = [
    "candidate", "role", "stage_id", "stage", "interviewers", "document", "revision", "reviewer",
    "criterion_id", "criterion_name", "kind", "scale", "ai_status", "ai_score", "ai_label",
    "final_score", "final_label", "decision", "decided_by", "decided_at", "override_reason",
    "quote_count", "first_quote", "first_quote_time", "first_quote_segment", "notes", "interview",
]


def _cell(text) -> str:
    """A text cell safe for spreadsheets: no formula injection from interview text ('=...', '+...')."""
    s = "" if text is None else " ".join(str(text).split())
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def render_scorecard_csv(card) -> str:
    """One row per criterion, for spreadsheets and applicant-tracking systems (RFC 4180, header row)."""
    import csv
    import io

    final = getattr(card, "kind", "") == "final"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(SCORECARD_CSV_COLUMNS)
    for p, d, fs in scorecard_rows(card):
        quotes = list(p.quotes) + (list(d.added_quotes) if d else [])
        q0 = quotes[0] if quotes else None
        w.writerow([
            _cell(card.candidate), _cell(card.source.guide_role), card.source.stage_id, _cell(card.source.stage_name),
            _cell("; ".join(card.interviewers)), "final" if final else "draft",
            card.revision if final else "", _cell(card.reviewer) if final else "",
            p.criterion_id, _cell(p.criterion_name), p.kind, f"{p.scale[0]}-{p.scale[1]}", p.status,
            "" if p.score is None else p.score, _cell(p.anchors.get(p.score, "")) if p.score is not None else "",
            "" if fs is None else fs, _cell(p.anchors.get(fs, "")) if fs is not None else "",
            d.action if d else "", _cell(d.reviewer) if d else "", d.decided_at if d else "",
            _cell(d.reason) if d else "", len(quotes), _cell(q0.quote) if q0 else "",
            fmt_time(q0.start_s) if q0 else "", q0.segment_id if q0 else "",
            _cell(d.notes) if d else "", _cell(card.source.transcript_source or ""),
        ])
    return buf.getvalue()


def render_scorecard(card, fmt: str) -> str:
    """A draft or final scorecard in one format: md, html, csv or json."""
    if fmt == "json":
        return card.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return render_scorecard_markdown(card)
    if fmt == "html":
        return render_scorecard_html(card)
    if fmt == "csv":
        return render_scorecard_csv(card)
    raise UsageError(f"unknown report format {fmt!r}", hint="use md, html, csv or json")
