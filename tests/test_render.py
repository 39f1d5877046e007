"""The writers registry (evaluator.render): every report type in every format it supports, clear errors for the
others, HTML that shows transcript text as text, CSV safe for spreadsheets, and one scorecard view behind
Markdown, HTML and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator import review as rv
from evaluator.calibrate import CalibrationReport, calibrate_ai_vs_human
from evaluator.coach import CoachReport, CoachSummary, coach, summarize
from evaluator.coverage import BatchCoverage, InterviewCoverage, batch_coverage, interview_coverage
from evaluator.debrief import DebriefPacket, build_debrief
from evaluator.errors import UsageError
from evaluator.formats import read_transcript
from evaluator.guide import Guide, load_guide
from evaluator.render import (
    SCORECARD_CSV_COLUMNS,
    criterion_markdown,
    criterion_view,
    formats_for,
    render,
    render_guide_markdown,
    resolve_format,
    scorecard_view,
    write,
)
from evaluator.roles import assign_roles
from evaluator.scorecard import Draft, EvidenceQuote, FinalScorecard
from scorecard_fixtures import REPO, make_draft

GUIDE = load_guide("customer-account-manager")
SCREENING = REPO / "tests/data/coach/01_cam_screening.txt"
ROLES = {"interviewer": "Dana Whitfield", "candidate": "Sam Ortiz"}
EVIL = "<script>alert(1)</script> {{ 7*7 }} {% if true %}yes{% endif %} ![p](https://t.example/p.png)"


def _final(draft: Draft, reviewer: str = "Karen Liu", reason: str = "retention just under target") -> FinalScorecard:
    st = rv.ReviewState(draft_sha256="d" * 64)
    for p in draft.scores:
        if p.score is None or p.criterion_id == "performance-history":
            st = rv.override(st, p, 2, reason, reviewer)
        else:
            st = rv.confirm(st, p, reviewer)
    if any(p.criterion_id == "performance-history" for p in draft.scores):
        st = rv.add_quote(st, draft.score_for("performance-history"),
                          "I did forty-one thousand against the sixty, so about sixty-eight percent",
                          draft.transcript, reviewer)
    return rv.finalize(draft, "d" * 64, st, reviewer)


@pytest.fixture(scope="module")
def draft() -> Draft:
    return make_draft("samples/cam-hiring-manager.txt", stage="hiring-manager", candidate="Devon Price",
                      status={"overall-recommendation": "needs_reviewer", "learning-and-adaptability": "no_evidence"})


@pytest.fixture(scope="module")
def final(draft) -> FinalScorecard:
    return _final(draft)


@pytest.fixture(scope="module")
def reports(draft, final) -> dict[type, object]:
    """One report of every type the registry knows."""
    t = assign_roles(read_transcript(SCREENING), **ROLES)
    stage = GUIDE.stage("screening")
    cov = interview_coverage(t, GUIDE, stage)
    report = coach(t, stage, guide=GUIDE)
    return {
        Draft: draft, FinalScorecard: final, InterviewCoverage: cov, BatchCoverage: batch_coverage(GUIDE, [cov], []),
        CoachReport: report, CoachSummary: summarize([report]),
        DebriefPacket: build_debrief([(Path("hm.final.json"), final)]),
        CalibrationReport: calibrate_ai_vs_human([(Path("hm.final.json"), final)]), Guide: GUIDE,
    }


EXPECTED_FORMATS = {
    Draft: ("md", "html", "csv", "json"), FinalScorecard: ("md", "html", "csv", "json"),
    InterviewCoverage: ("md", "html", "json"), BatchCoverage: ("md", "html", "json"),
    CoachReport: ("md", "html", "json"), CoachSummary: ("md", "html", "json"),
    DebriefPacket: ("md", "html", "json"), CalibrationReport: ("md", "html", "json"), Guide: ("md", "html", "json"),
}


# ---------------------------------------------------------------- the registry


def test_every_report_type_renders_in_every_format_it_supports(reports):
    assert set(reports) == set(EXPECTED_FORMATS)
    for kind, obj in reports.items():
        assert formats_for(kind) == formats_for(obj) == EXPECTED_FORMATS[kind], kind
        for fmt in formats_for(obj):
            text = render(obj, fmt)
            assert text.endswith("\n") and len(text) > 200, (kind, fmt)
            if fmt == "md":
                assert text.startswith("# "), kind
            elif fmt == "html":
                assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), kind
                assert "<style>" in text and "@media print" in text and "<script" not in text, kind
                assert not re.search(r"""(src|href)=["']?(https?:|//)""", text) and "<link" not in text, kind
            elif fmt == "json":
                assert type(obj).model_validate_json(text) == obj, kind
            elif fmt == "csv":
                assert next(csv.reader(io.StringIO(text))) == SCORECARD_CSV_COLUMNS


def test_unsupported_formats_are_refused_with_the_allowed_ones(reports):
    with pytest.raises(UsageError, match="pdf") as e:
        render(reports[CoachReport], "pdf")
    assert e.value.hint == "use one of: md, html, json"
    with pytest.raises(UsageError) as e:
        render(reports[DebriefPacket], "csv")
    assert e.value.hint == "use one of: md, html, json"
    with pytest.raises(UsageError, match=r"out\.csv: cannot write \.csv here") as e:
        resolve_format(InterviewCoverage, path="out.csv")
    assert e.value.hint == "use one of: .md, .html, .json"
    with pytest.raises(UsageError, match=r"\(no extension\)"):
        resolve_format(Draft, path="report")
    with pytest.raises(TypeError):
        formats_for(str)


def test_formats_come_from_the_option_or_the_extension_with_aliases():
    assert resolve_format(Draft) == "md"
    assert resolve_format(Draft, fmt="Markdown") == "md" and resolve_format(Draft, fmt="HTM") == "html"
    assert resolve_format(Draft, path="card.CSV") == "csv" and resolve_format(Draft, path="x/card.htm") == "html"
    assert resolve_format(FinalScorecard, fmt="json", path="card.html") == "json"  # the option wins


def test_write_is_atomic_and_follows_the_extension(tmp_path, reports):
    cov = reports[InterviewCoverage]
    assert write(cov, tmp_path / "cov.htm") == "html"
    assert (tmp_path / "cov.htm").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert write(cov, tmp_path / "cov.markdown") == "md"
    assert (tmp_path / "cov.markdown").read_text(encoding="utf-8") == render(cov, "md")
    target = tmp_path / "cov.json"
    target.write_text("the previous report")
    with pytest.raises(UsageError):
        write(cov, tmp_path / "cov.csv")
    assert not (tmp_path / "cov.csv").exists()
    assert write(cov, target) == "json" and json.loads(target.read_text())["source"] == cov.source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cov.htm", "cov.json", "cov.markdown"]  # no temp files


def test_html_titles_default_to_the_reports_own_and_can_be_named(reports):
    assert "<title>Coverage: " in render(reports[InterviewCoverage], "html")
    assert "<title>Debrief: Devon Price</title>" in render(reports[DebriefPacket], "html")
    assert "<title>Draft scorecard: Devon Price — Hiring Manager Interview</title>" in render(reports[Draft], "html")
    assert "<title>Mine &amp; yours</title>" in render(reports[CoachReport], "html", title="Mine & yours")


def test_guide_markdown_through_the_registry_is_the_full_summary():
    assert render(GUIDE, "md") == render_guide_markdown(GUIDE)
    one = render_guide_markdown(GUIDE, [GUIDE.stage("screening")])
    assert "## Screening Interview" in one and "## Hiring Manager Interview" not in one


def _printed_by_fresh_python(code: str) -> list[str]:
    """The lines `code` prints in a new interpreter (what it imports is its own, not this test run's)."""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_markdown_output_loads_neither_jinja2_nor_markdown_it():
    code = ("import sys; sys.path.insert(0, 'tests')\n"
            "from scorecard_fixtures import make_draft\n"
            "from evaluator.render import render\n"
            "d = make_draft()\n"
            "assert render(d, 'md') and render(d, 'csv') and render(d, 'json')\n"
            "print(sorted(m for m in ('jinja2', 'markdown_it') if m in sys.modules))\n"
            "render(d, 'html')\n"
            "print(sorted(m for m in ('jinja2', 'markdown_it') if m in sys.modules))\n")
    assert _printed_by_fresh_python(code) == ["[]", "['jinja2']"]


def test_writing_a_scorecard_loads_only_the_scorecard_family_and_every_family_still_writes():
    code = ("import sys; sys.path.insert(0, 'tests')\n"
            "from scorecard_fixtures import make_draft\n"
            "from evaluator.render import render, formats_for\n"
            "assert render(make_draft(), 'md')\n"
            "print(sorted(m for m in ('evaluator.render.coach', 'evaluator.render.debrief', 'evaluator.coach.report',\n"
            "                         'evaluator.debrief', 'evaluator.calibrate') if m in sys.modules))\n"
            "from evaluator.coach.report import CoachSummary\n"
            "from evaluator.calibrate import CalibrationReport\n"
            "print(formats_for(CoachSummary), formats_for(CalibrationReport))\n")
    assert _printed_by_fresh_python(code) == ["[]", "('md', 'html', 'json') ('md', 'html', 'json')"]


# ---------------------------------------------------------------- HTML shows data as data


def _evil_draft(draft: Draft) -> Draft:
    """The draft with transcript text, names and a rationale that look like HTML and template syntax."""
    d = draft.model_copy(deep=True)
    p = d.scores[0]
    q = p.quotes[0]
    seg = next(s for s in d.transcript.segments if s.id == q.segment_id)
    seg.text = f"{seg.text} {EVIL}"
    p.quotes[0] = EvidenceQuote(**{**q.model_dump(), "quote": EVIL})
    p.rationale = f"</section>{EVIL}"
    d.candidate = "<b>Devon</b> {{ candidate }}"
    d.warnings = [EVIL]
    return d


def _assert_shown_as_text(page: str) -> None:
    assert "<script>" not in page and "<b>Devon</b>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page  # not evaluated (it would be 49)
    assert "{% if true %}yes{% endif %}" in page


def test_scorecard_html_shows_markup_and_template_syntax_in_transcript_text_as_text(draft):
    evil = _evil_draft(draft)
    final = _final(evil, reviewer="{{ reviewer }} <i>R</i>", reason=EVIL)
    for card in (evil, final):
        page = render(card, "html")
        _assert_shown_as_text(page)
        assert page.count("<section") == page.count("</section>") == len(draft.scores)
        assert "&lt;b&gt;Devon&lt;/b&gt; {{ candidate }}" in page
    page = render(final, "html")
    assert "{{ reviewer }} &lt;i&gt;R&lt;/i&gt;" in page and "<i>R</i>" not in page


def test_markdown_pages_show_markup_links_and_images_in_transcript_text_as_text(draft):
    evil = _evil_draft(draft)
    final = _final(evil, reason=f"{EVIL} [click](javascript:alert(1)) <https://t.example/x>")
    page = render(build_debrief([(Path("hm.final.json"), final)]), "html")
    _assert_shown_as_text(page)
    assert "<a " not in page and "href" not in page
    assert "[click](javascript:alert(1))" in page


def test_coverage_page_shows_a_question_with_markup_as_text(tmp_path):
    src = tmp_path / "iv.txt"
    src.write_text(SCREENING.read_text(encoding="utf-8")
                   + f"[09:00] Dana Whitfield: Do you like {EVIL}?\n[09:10] Sam Ortiz: Sure, I do.\n", encoding="utf-8")
    t = assign_roles(read_transcript(src), **ROLES)
    cov = interview_coverage(t, GUIDE, GUIDE.stage("screening"))
    assert any("<script>" in e.text for e in cov.extra_questions)
    _assert_shown_as_text(render(cov, "html"))


# ---------------------------------------------------------------- CSV


def test_csv_cells_that_start_a_formula_are_neutralised(draft):
    d = draft.model_copy(deep=True)
    d.candidate = "=HYPERLINK(\"http://x\")"
    p = d.scores[0]
    p.quotes[0] = EvidenceQuote(**{**p.quotes[0].model_dump(), "quote": "+1 555 0100 is my number"})
    final = _final(d, reviewer="@admin", reason="-2 points for the pause")
    rows = list(csv.DictReader(io.StringIO(render(final, "csv"))))
    assert {r["candidate"] for r in rows} == {"'=HYPERLINK(\"http://x\")"}
    assert rows[0]["first_quote"] == "'+1 555 0100 is my number"
    assert {r["decided_by"] for r in rows} == {"'@admin"} and rows[0]["reviewer"] == "'@admin"
    assert {r["override_reason"] for r in rows if r["decision"] == "override"} == {"'-2 points for the pause"}
    assert rows[0]["first_quote_time"] == "0:08"  # a time is not text from the interview: left alone


# ---------------------------------------------------------------- the scorecard drawn once


def _md_criterion(md: str, cid: str) -> str:
    return md.split(f"(`{cid}`, ")[1].split("\n### ")[0]


def _html_criterion(page: str, cid: str) -> str:
    return page.split(f'<section class="crit" id="{cid}">')[1].split("</section>")[0]


def test_markdown_html_and_csv_show_the_same_scores_and_quotes(final):
    import html as html_lib

    v = scorecard_view(final)
    md, page = render(final, "md"), render(final, "html")
    rows = {r["criterion_id"]: r for r in csv.DictReader(io.StringIO(render(final, "csv")))}
    added = [q for c in v.criteria for q in c.quotes if q.added_by != "ai"]
    assert added and any(c.decision.action == "override" for c in v.criteria)
    for c in v.criteria:
        m, h = _md_criterion(md, c.criterion_id), html_lib.unescape(_html_criterion(page, c.criterion_id))
        assert f"**AI proposal: {c.ai_text}**" in m and f"**Final: {c.final_text}**" in m
        assert re.search(rf'AI</span> <span class="badge (s{c.ai_score}|none)">', h)
        assert re.search(rf'Final</span> <span class="badge s{c.final_score}">{c.final_score}</span>', h)
        for q in c.quotes:
            assert f"\u201c{q.text}\u201d — {q.speaker}, {q.where}" in m
            assert f"\u201c{q.text}\u201d" in h and f"{q.speaker} · {q.where}" in h
        r = rows[c.criterion_id]
        assert (r["ai_score"], r["final_score"], r["quote_count"]) == (
            "" if c.ai_score is None else str(c.ai_score), str(c.final_score), str(len(c.quotes)))
        if c.quotes:
            assert (r["first_quote"], r["first_quote_time"], r["first_quote_segment"]) == (
                c.quotes[0].text, c.quotes[0].time, c.quotes[0].segment_id)


def test_html_has_every_fact_of_the_audit_trail(final):
    import html as html_lib

    page = html_lib.unescape(re.sub(r"<[^>]+>", "", render(final, "html")))
    assert "Reviewed and finalised by Karen Liu" in page and f"(revision {final.revision})" in page
    assert final.draft_sha256[:16] in page
    for c in final.criteria:
        d = c.decision
        assert d.decided_at in page and (d.reason in page if d.reason else True)
    assert "Required questions asked: 4/4 (100%)" in page
    assert "Text addressed to the AI" in page  # the fixture's injection flag
    assert "Based on:" in page and "performance-history" in page


def test_one_criterion_is_rendered_the_same_on_its_own_and_in_the_scorecard(draft, final):
    md = render(draft, "md")
    for p in draft.scores:
        assert criterion_markdown(criterion_view(p)) in md
    md = render(final, "md")
    for c in final.criteria:
        assert criterion_markdown(criterion_view(c.proposal, c.decision, c.final_score)) in md


def test_view_keeps_a_quote_over_several_segments_as_a_range(draft):
    p = draft.scores[0]
    q = p.quotes[0].model_copy(update={"segment_ids": ["s0001", "s0002", "s0003"], "match_score": 0.93})
    c = criterion_view(p.model_copy(update={"quotes": [q]}))
    assert (c.quotes[0].segments, c.quotes[0].exact) == ("s0001–s0003", False)
    assert "0:08, s0001–s0003 (match 0.93)" in criterion_markdown(c)


# ---------------------------------------------------------------- markdown-it pages


def test_coach_and_debrief_pages_have_real_tables_and_nested_lists(reports):
    page = render(reports[CoachReport], "html")
    assert "<table>" in page and "<th>speaker</th>" in page and "<th>follow-ups used</th>" in page
    assert re.search(r"<li><strong>National origin</strong> — 0:37 <code>s0006</code>", page, flags=re.I)
    page = render(reports[DebriefPacket], "html")
    assert "<th>competency</th>" in page and "<th>scores by stage</th>" in page
    assert re.search(r"<li><strong>[^<]+</strong>[^<]*<ul>\s*<li>", page)  # a score with its quotes below it
    page = render(reports[CalibrationReport], "html")
    assert "<th>kappa (quadratic)</th>" in page


def test_cli_refuses_an_output_extension_the_report_has_no_writer_for(run_cli, tmp_path):
    out = tmp_path / "coach.csv"
    r = run_cli(["coach", SCREENING, "--guide", "customer-account-manager", "-o", out])
    assert r.exit_code == 2 and "cannot write .csv here" in r.stderr and ".md, .html, .json" in r.stderr
    assert not out.exists()
    r = run_cli(["coach", SCREENING, "--guide", "customer-account-manager", "-o", tmp_path / "coach.htm"])
    assert r.exit_code == 0 and (tmp_path / "coach.htm").read_text().startswith("<!DOCTYPE html>")
