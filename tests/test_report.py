"""Scorecard reports: Markdown, self-contained HTML, CSV and JSON, from drafts and final scorecards."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from evaluator import review as rv
from evaluator.render import SCORECARD_CSV_COLUMNS, render_scorecard_csv, render_scorecard_html, render_scorecard_markdown
from evaluator.scorecard import Draft, FinalScorecard
from scorecard_fixtures import make_draft, write_draft


@pytest.fixture(scope="module")
def draft():
    return make_draft("samples/cam-hiring-manager.txt", stage="hiring-manager", candidate="Devon Price",
                      status={"overall-recommendation": "needs_reviewer", "learning-and-adaptability": "no_evidence"})


@pytest.fixture(scope="module")
def final(draft):
    st = rv.ReviewState(draft_sha256="d" * 64)
    for p in draft.scores:
        if p.criterion_id == "overall-recommendation":
            st = rv.override(st, p, 2, "retention just under target", "Karen Liu")
        elif p.criterion_id == "performance-history":
            st = rv.override(st, p, 2, "=HYPERLINK(\"x\") upsell at 68% of quota", "Karen Liu")
        else:
            st = rv.confirm(st, p, "Karen Liu")
    st = rv.add_quote(st, draft.score_for("performance-history"),
                      "I did forty-one thousand against the sixty, so about sixty-eight percent",
                      draft.transcript, "Karen Liu")
    return rv.finalize(draft, "d" * 64, st, "Karen Liu")


def test_markdown_of_a_draft_shows_every_criterion_with_quotes_and_times(draft):
    md = render_scorecard_markdown(draft)
    assert md.startswith("# Draft scorecard: Devon Price — Hiring Manager Interview")
    assert "Not a hiring decision" in md
    for p in draft.scores:
        assert f"`{p.criterion_id}`" in md
    q = draft.scores[0].quotes[0]
    assert f"\u201c{q.quote}\u201d" in md and q.segment_id in md
    assert "not scored by the AI: a reviewer must score it" in md
    assert "Required questions asked: **4/4**" in md
    assert "Text addressed to the AI" in md  # the fixture's injection flag


def test_markdown_of_a_final_keeps_proposal_decision_and_reason(final):
    md = render_scorecard_markdown(final)
    assert md.startswith("# Final scorecard: Devon Price")
    assert "overridden by Karen Liu" in md and "retention just under target" in md
    assert "**AI proposal: —**" in md  # the unscored overall proposal is kept next to the decision
    assert "**Final: 2 (No Hire)**" in md
    assert "sixty-eight percent\u201d — Devon Price" in md and "added by Karen Liu" in md


def test_html_is_self_contained_and_escapes_transcript_text(final, draft):
    evil = draft.model_copy(deep=True)
    evil.warnings = ["<script>alert(1)</script>"]
    page = render_scorecard_html(evil)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    page = render_scorecard_html(final)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert "retention just under target" in page and "Overridden to" in page
    assert "@media print" in page


def test_csv_has_one_row_per_criterion_for_spreadsheets(final):
    text = render_scorecard_csv(final)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == SCORECARD_CSV_COLUMNS
    assert [r["criterion_id"] for r in rows] == [c.criterion_id for c in final.criteria]
    ov = rows[-1]
    assert (ov["ai_score"], ov["final_score"], ov["final_label"], ov["decision"], ov["decided_by"]) == (
        "", "2", "No Hire", "override", "Karen Liu")
    perf = next(r for r in rows if r["criterion_id"] == "performance-history")
    assert perf["override_reason"].startswith("'=HYPERLINK")  # no formula injection into spreadsheets
    first = final.criteria[0].proposal.quotes[0]
    assert rows[0]["first_quote"] == " ".join(first.quote.split()) and rows[0]["first_quote_segment"] == first.segment_id
    assert rows[0]["quote_count"] == "2" and rows[0]["candidate"] == "Devon Price"


def test_report_cli_formats_from_option_or_extension(run_cli, tmp_path, draft):
    d = write_draft(tmp_path / "draft.json", draft)
    r = run_cli(["report", d])
    assert r.exit_code == 0 and r.stdout.startswith("# Draft scorecard")
    r = run_cli(["report", d, "--format", "json"])
    assert Draft.model_validate_json(r.stdout).scores == draft.scores
    r = run_cli(["report", d, "-o", tmp_path / "out.html"])
    assert r.exit_code == 0 and (tmp_path / "out.html").read_text().startswith("<!DOCTYPE html>")
    r = run_cli(["report", d, "--format", "csv", "-o", tmp_path / "out.csv"])
    assert r.exit_code == 0 and len(list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text())))) == 1 + len(
        draft.scores)
    r = run_cli(["report", d, "--format", "pdf"])
    assert r.exit_code == 2 and "md, html, csv, json" in r.stderr
    r = run_cli(["report", d, "-o", tmp_path / "out.docx"])
    assert r.exit_code == 2 and not (tmp_path / "out.docx").exists()


def test_report_cli_renders_final_scorecards(run_cli, tmp_path, final):
    f = tmp_path / "final.json"
    f.write_text(final.model_dump_json())
    r = run_cli(["report", f, "--format", "md"])
    assert r.exit_code == 0 and "Final scorecard" in r.stdout and "Karen Liu" in r.stdout
    r = run_cli(["report", f, "--format", "json"])
    assert FinalScorecard.model_validate_json(r.stdout).criteria == final.criteria


def test_report_cli_refuses_a_file_that_is_not_a_scorecard(run_cli, tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"kind": "review_state"}))
    r = run_cli(["report", p])
    assert r.exit_code == 1 and "not a scorecard" in r.stderr


def test_a_model_without_an_endpoint_host_is_named_without_one(draft):
    assert draft.source.llm_model == "test-model" and draft.source.llm_endpoint_host is None
    md = render_scorecard_markdown(draft)
    assert "- LLM test-model; prompts" in md or "- LLM test-model\n" in md
    for text in (md, render_scorecard_html(draft)):
        assert "at None" not in text
