"""The coverage audit: one interview (`InterviewCoverage`) or a batch (`BatchCoverage`), as Markdown and as
an HTML page made from that Markdown."""

from __future__ import annotations

from pathlib import Path

from evaluator.coverage import BatchCoverage, InterviewCoverage
from evaluator.render.markdown import md_bullets, md_table, prohibited_section
from evaluator.render.registry import markdown_page, writer
from evaluator.text import fmt_time


@writer(InterviewCoverage, "md")
def render_coverage_markdown(cov: InterviewCoverage) -> str:
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
    out += prohibited_section(cov.prohibited_questions)
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
    out += md_bullets("Questions not in the guide",
                      [f"{fmt_time(e.start_s)} ({e.segment_id}): {e.text}" for e in cov.extra_questions])
    out += md_bullets("Warnings", cov.warnings)
    return "\n".join(out).rstrip() + "\n"


@writer(BatchCoverage, "md")
def render_batch_markdown(b: BatchCoverage) -> str:
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
    out += md_bullets("Could not be audited", [f"`{f.source}`: {f.error}" for f in b.failures])
    return "\n".join(out).rstrip() + "\n"


markdown_page(InterviewCoverage, lambda cov: f"Coverage: {cov.source}")
markdown_page(BatchCoverage, lambda b: "Coverage audit")
