"""Interviewer coaching: flags measured against hand-labelled transcripts, talk time, structure, bad input.

The labelled set lives in tests/data/coach/: `NN_name.txt` (`[mm:ss] Name: text`) with `NN_name.yaml` listing
every expected flag (kind, category for must-not-ask, a snippet of the interviewer's line). Run with `-s` to see
precision and recall per flag family.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from evaluator.coach import (
    CoachReport,
    Flag,
    MustNotAskRules,
    coach,
    find_must_not_ask,
    find_question_quality,
    load_must_not_ask_rules,
    measure_talk_time,
    summarize,
    verify_flags,
)
from evaluator.errors import InputFileError, TranscriptError, UsageError
from evaluator.render import render, render_coach_markdown, render_summary_markdown
from evaluator.text import normalize, sentences
from evaluator.transcript import Role, Segment, Transcript, segment_id

DATA = Path(__file__).parent / "data" / "coach"
LABEL_FILES = sorted(DATA.glob("*.yaml"))
FAMILIES = ("must_not_ask", "hypothetical", "leading", "closed", "stacked")


# ---------------------------------------------------------------- helpers

_LINE = re.compile(r"^\[(\d+):(\d\d)\]\s+([^:]+):\s*(.*)$")


def parse_simple(text: str, source: str = "<test>") -> Transcript:
    """A minimal `[mm:ss] Name: text` reader, so these tests do not depend on evaluator.formats."""
    segs = []
    for line in text.strip().splitlines():
        m = _LINE.match(line.strip())
        if m:
            start, speaker, body = int(m[1]) * 60 + int(m[2]), m[3].strip(), m[4].strip()
        else:
            start, (speaker, body) = None, [p.strip() for p in line.split(":", 1)]
        segs.append(Segment(id=segment_id(len(segs)), start_s=start, speaker=speaker, text=body))
    t = Transcript(segments=segs)
    t.meta.source = source
    return t


def load_transcript(path: Path) -> Transcript:
    """The project's reader when present, else the minimal one above."""
    try:
        from evaluator.formats import read_transcript
    except ImportError:
        return parse_simple(path.read_text(encoding="utf-8"), str(path))
    return read_transcript(path)


def load_stage(guide_name: str, stage_id: str):
    """(guide, stage) from the bundled guides, or (None, None) while evaluator.guide is missing."""
    try:
        from evaluator.guide import load_guide
    except ImportError:
        return None, None
    g = load_guide(guide_name)
    return g, g.stage(stage_id)


def make(lines: list[tuple[str, str]], *, times: bool = True, roles: bool = True) -> Transcript:
    """A transcript from (speaker, text) pairs; 'I' is the interviewer, 'C' the candidate, 10 s per turn."""
    segs = []
    for i, (sp, text) in enumerate(lines):
        role = {"I": Role.interviewer, "C": Role.candidate}.get(sp, Role.other) if roles else Role.unknown
        segs.append(Segment(id=segment_id(i), start_s=10.0 * i if times else None,
                            end_s=10.0 * i + 9 if times else None,
                            speaker={"I": "Ivy", "C": "Cal"}.get(sp, sp), role=role, text=text))
    return Transcript(segments=segs)


_RESULTS: dict = {}


def evaluate_set() -> dict:
    """Coach every labelled transcript once; match flags to labels; return per-family and per-category counts,
    misses, and must-not-ask flags on lines labelled lawful."""
    if _RESULTS:
        return _RESULTS
    counts = {f: {"tp": 0, "fp": 0, "fn": 0} for f in FAMILIES}
    categories: dict = {}
    misses: list[str] = []
    lawful_hits: list[str] = []
    reports = {}
    for lf in LABEL_FILES:
        lab = yaml.safe_load(lf.read_text(encoding="utf-8"))
        t = load_transcript(DATA / lab["transcript"])
        g, stage = load_stage(lab["guide"], lab["stage"])
        report = coach(t, stage, guide=g, interviewer=lab["interviewer"], candidate=lab["candidate"])
        reports[lf.stem] = report
        match_flags(report, lab.get("flags") or [], counts, misses, lf.stem, categories=categories)
        lawful_hits += lawful_flagged(report, [x["line"] for x in lab.get("lawful") or []], lf.stem)
    _RESULTS.update(counts=counts, categories=categories, misses=misses, lawful_hits=lawful_hits, reports=reports)
    return _RESULTS


def match_flags(report, expected: list[dict], counts: dict, misses: list[str], name: str, *,
                text_key: str = "line", category=lambda c: c, categories: dict | None = None) -> None:
    """Match a report's flags to labelled ones (same kind, same category for must-not-ask, the labelled text
    inside the flagged line), adding true/false positives and misses to `counts` and `misses`, and, per
    must-not-ask category, to `categories` when given."""

    def tally(kind: str, cat, outcome: str) -> None:
        counts[kind][outcome] += 1
        if categories is not None and kind == "must_not_ask":
            categories.setdefault(cat or "?", {"tp": 0, "fp": 0, "fn": 0})[outcome] += 1

    used = [False] * len(expected)
    for f in report.must_not_ask + report.question_quality:
        hit = None
        for i, e in enumerate(expected):
            if used[i] or e["kind"] != f.kind:
                continue
            if f.kind == "must_not_ask" and category(e.get("category")) != f.category:
                continue
            if normalize(e[text_key]) in normalize(f.line):
                hit = i
                break
        if hit is None:
            tally(f.kind, f.category, "fp")
            misses.append(f"FP {name} {f.kind}/{f.category or ''} {f.segment_id}: {f.quote!r}")
        else:
            used[hit] = True
            tally(f.kind, f.category, "tp")
    for e, u in zip(expected, used):
        if not u:
            tally(e["kind"], category(e.get("category")), "fn")
            misses.append(f"FN {name} {e['kind']}/{e.get('category', '')}: {e[text_key]!r}")


def lawful_flagged(report, snippets: list[str], name: str) -> list[str]:
    """Must-not-ask flags on lines that contain a snippet labelled lawful, one line each."""
    return [f"{name} {f.segment_id} flagged {f.category}: {law!r}"
            for law in snippets for f in report.must_not_ask if normalize(law) in normalize(f.line)]


def print_pr(counts: dict, categories: dict | None = None) -> None:
    """Print precision and recall per flag family and, when given, per must-not-ask category."""
    for fam, c in counts.items():
        p, r = pr(c)
        print(f"  {fam:<14} tp={c['tp']:>3} fp={c['fp']:>3} fn={c['fn']:>3}  precision={p:.2f} recall={r:.2f}")
    for cat, c in sorted((categories or {}).items()):
        p, r = pr(c)
        print(f"    must_not_ask/{cat:<36} tp={c['tp']:>3} fp={c['fp']:>3} fn={c['fn']:>3}  "
              f"precision={p:.2f} recall={r:.2f}")


def pr(c: dict) -> tuple[float, float]:
    """(precision, recall); 1.0 when there is nothing to find or nothing was flagged."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return p, r


def _sum(counts: dict, fams) -> dict:
    return {k: sum(counts[f][k] for f in fams) for k in ("tp", "fp", "fn")}


# ---------------------------------------------------------------- the labelled set


def test_labelled_set_has_every_flag_kind_several_times():
    kinds: dict[str, int] = {}
    cats: dict[str, int] = {}
    for lf in LABEL_FILES:
        for e in yaml.safe_load(lf.read_text(encoding="utf-8")).get("flags") or []:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
            if e["kind"] == "must_not_ask":
                cats[e["category"]] = cats.get(e["category"], 0) + 1
    assert len(LABEL_FILES) >= 8
    assert all(kinds.get(k, 0) >= 5 for k in FAMILIES), kinds
    assert len(cats) >= 11 and all(n >= 3 for n in cats.values()), cats


def test_precision_and_recall_per_flag_family_meet_targets():
    res = evaluate_set()
    counts = res["counts"]
    print()
    for line in res["misses"]:
        print("  " + line)
    print_pr(counts, res["categories"])
    q = _sum(counts, FAMILIES[1:])
    qp, qr = pr(q)
    mp, mr = pr(counts["must_not_ask"])
    print(f"COACH SUMMARY: must_not_ask precision={mp:.2f} recall={mr:.2f}; "
          f"question_quality precision={qp:.2f} recall={qr:.2f} over {len(LABEL_FILES)} transcripts")
    assert mp >= 0.9 and mr >= 0.9
    for fam in FAMILIES[1:]:
        p, r = pr(counts[fam])
        assert p >= 0.8 and r >= 0.8, (fam, p, r)


def test_labelled_lawful_lines_are_not_flagged_must_not_ask():
    assert evaluate_set()["lawful_hits"] == []


def test_clean_interview_and_role_play_raise_no_flags():
    reports = evaluate_set()["reports"]
    for name in ("09_cam_behavioral_clean", "10_cam_work_sample"):
        r = reports[name]
        assert r.must_not_ask == [] and r.question_quality == [], (name, r.flags())


# ---------------------------------------------------------------- must not ask: look-alikes and scope

LAWFUL = [
    "Are you legally authorized to work in the United States without sponsorship?",
    "Will you now or in the future require sponsorship for employment visa status?",
    "Because of state licensing I have to ask: are you over 18?",
    "Can you work the required schedule, which starts at 7:30 three days a week?",
    "Which languages do you speak? The role covers a lot of Spanish-speaking districts.",
    "How was your weekend? Do anything fun?",
    "Tell me about your family of products at your last company.",
    "Are you able to perform the essential functions of this job, with or without reasonable accommodation?",
    "What skills from your military service carry over to account management?",
    "What are your salary expectations for this role?",
    "How did the customer health score change after the rollout?",
    "How do you communicate with families at your schools when a feature changes?",
    "What results were you expecting from that campaign?",
    "How many years of account management experience do you have?",
    "What were your key performance metrics and how did you perform against them?",
    "Have you sold to religious schools or parochial networks before?",
    "How did you retire the legacy reporting product without losing customers?",
    "Where are you located? The role needs Pacific hours.",
]


@pytest.mark.parametrize("line", LAWFUL)
def test_lawful_look_alike_is_not_flagged_must_not_ask(line):
    t = make([("I", line), ("C", "Sure.")])
    assert find_must_not_ask(t) == []


def test_candidate_volunteering_personal_information_is_not_flagged():
    t = make([("I", "How has your week been?"),
              ("C", "Good! I'm pregnant with our second, and we just got back from church."),
              ("I", "Congratulations. Let's start with your most recent role.")])
    assert find_must_not_ask(t) == []


def test_interviewer_following_up_on_volunteered_information_is_flagged():
    t = make([("C", "My kids had a tournament this weekend."), ("I", "How many kids do you have?")])
    flags = find_must_not_ask(t)
    assert [(f.category, f.segment_id) for f in flags] == [("family_status", "s0001")]
    assert flags[0].lawful_alternative and flags[0].explanation


def test_each_flag_points_at_segment_time_and_verbatim_line():
    t = make([("I", "Thanks for coming. And how old are you, if you don't mind me asking?"), ("C", "34.")])
    (f,) = find_must_not_ask(t)
    assert (f.segment_id, f.start_s, f.time, f.category) == ("s0000", 0.0, "0:00", "age")
    assert f.line == t.segments[0].text
    assert f.quote == "And how old are you, if you don't mind me asking?"


def test_extra_rules_file_adds_and_disables_rules(tmp_path):
    extra = tmp_path / "company.yaml"
    extra.write_text(yaml.safe_dump({
        "version": "acme-2", "disable": ["salary-history"],
        "rules": [{"id": "union", "category": "union_membership", "patterns": [r"\bunion (member|membership)"],
                   "explanation": "Union membership is protected.", "lawful_alternative": ""}]}))
    rules = load_must_not_ask_rules([extra])
    assert "acme-2" in rules.version
    t = make([("I", "Are you a union member?"), ("C", "No."), ("I", "What's your current salary?"), ("C", "No.")])
    cats = [f.category for f in find_must_not_ask(t, rules)]
    assert cats == ["union_membership"]


def test_rules_file_with_unknown_key_or_bad_regex_is_refused_with_rule_id(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"rules": [{"id": "x1", "category": "c", "patterns": ["a"], "explanation": "e",
                                              "severity": "high"}]}))
    with pytest.raises(InputFileError, match=r"bad.yaml.*'x1'"):
        load_must_not_ask_rules([bad])
    bad.write_text(yaml.safe_dump({"rules": [{"id": "x2", "category": "c", "patterns": ["(unclosed"],
                                              "explanation": "e"}]}))
    with pytest.raises(InputFileError, match="x2.*regular expression"):
        load_must_not_ask_rules([bad])


def test_bundled_rules_validate_and_cover_every_category():
    rules = load_must_not_ask_rules()
    assert isinstance(rules, MustNotAskRules)
    cats = {r.category for r in rules.rules}
    assert {"age", "family_status", "pregnancy", "religion", "national_origin", "race_ethnicity",
            "disability_health", "sexual_orientation_gender_identity", "arrest_record", "military_discharge",
            "salary_history"} <= cats
    assert all(r.explanation and r.patterns for r in rules.rules)


def test_rules_are_parsed_from_text_and_merged_without_reading_files():
    from evaluator.coach import merge_rules, parse_rules

    text = yaml.safe_dump({"version": "acme-3", "disable": ["arrest-record"],
                           "rules": [{"id": "union", "category": "union_membership",
                                      "patterns": [r"\\bunion member"], "explanation": "Protected."}]})
    extra = parse_rules(text, "acme.yaml", MustNotAskRules)
    rules = merge_rules(load_must_not_ask_rules(), [(extra, "acme.yaml")])
    assert rules.version.endswith("+acme.yaml:acme-3")
    ids = {r.id for r in rules.rules}
    assert "union" in ids and "arrest-record" not in ids
    with pytest.raises(InputFileError, match=r"acme.yaml: disable: no rule with id 'nope'"):
        merge_rules(rules, [(MustNotAskRules(disable=["nope"]), "acme.yaml")])


def test_coach_is_a_package_that_reads_no_files_and_has_one_role_inference():
    import importlib

    import evaluator.coach as pkg

    for name in ("rules", "talk", "questions", "structure", "recommend", "report", "run"):
        importlib.import_module(f"evaluator.coach.{name}")
    sources = {p.name: p.read_text(encoding="utf-8") for p in Path(pkg.__file__).parent.glob("*.py")}
    assert len(sources) >= 8
    for name, src in sources.items():
        for banned in ("read_text(", "open(", "except ImportError", "_fallback_roles", "_infer_roles_by_questions"):
            assert banned not in src, (name, banned)
    for gone in ("coach_file", "resolve_stage", "prepare_transcript"):
        assert not hasattr(pkg, gone), gone


# ---------------------------------------------------------------- question quality without a guide


def test_question_forms_are_flagged_on_a_plain_transcript():
    t = make([("I", "How would you handle an angry principal?"), ("C", "I'd listen first."),
              ("I", "Don't you think listening is the whole job?"), ("C", "Mostly."),
              ("I", "Have you ever run a QBR?"), ("C", "Yes."),
              ("I", "Who was there? What did you present?"), ("C", "The VP; a usage review."),
              ("I", "Tell me about a time you turned around an unhappy customer."), ("C", "Sure, last year...")])
    kinds = [(f.kind, f.segment_id) for f in find_question_quality(t)]
    assert kinds == [("hypothetical", "s0000"), ("leading", "s0002"), ("closed", "s0004"), ("stacked", "s0006")]


def test_reflective_would_question_is_not_hypothetical():
    t = make([("I", "Looking back, what would you do differently next time?"), ("C", "Start earlier.")])
    assert find_question_quality(t) == []


def test_sentence_split_keeps_abbreviations():
    assert sentences("Are you a U.S. citizen? I ask Mrs. Lee's question. Fine.") == [
        "Are you a U.S. citizen?", "I ask Mrs. Lee's question.", "Fine."]


# ---------------------------------------------------------------- talk time and bad input


def test_talk_time_shares_monologue_and_overlap_interruption():
    t = make([("I", "Intro " * 50), ("C", "Answer " * 10), ("I", "Next question?"), ("C", "Long answer " * 30)])
    # turns: I 0-9 s, C 10-19 s, I 18-25 s (cuts in 1 s before the candidate finished), C 28-39 s
    t.segments[2].start_s, t.segments[2].end_s = 18.0, 25.0
    t.segments[3].start_s = 28.0
    tt = measure_talk_time(t)
    assert tt.basis == "time" and tt.overlaps_measurable
    assert tt.interviewer_share == pytest.approx((9 + 7) / (9 + 9 + 7 + 11), abs=0.005)
    assert tt.longest_monologue.segment_ids == ["s0000"]
    assert [(i.segment_id, i.by_role) for i in tt.interruptions] == [("s0002", Role.interviewer)]


def test_no_timestamps_falls_back_to_words_and_says_so():
    t = make([("I", "one two three four five six"), ("C", "one two")], times=False)
    r = coach(t)
    assert r.talk_time.basis == "words"
    assert "words" in r.talk_time.note and "No timestamps" in r.talk_time.note
    assert r.talk_time.interviewer_share == pytest.approx(0.75)
    assert any("No timestamps" in w for w in r.warnings)
    assert "words" in render_coach_markdown(r)


def test_transcript_without_roles_says_how_roles_were_inferred():
    t = make([("I", "Tell me about your last role?"), ("C", "I ran renewals for 80 accounts."),
              ("I", "How did you prioritise them?"), ("C", "By revenue at risk.")], roles=False)
    r = coach(t)
    assert r.interviewer == "Ivy" and r.candidate == "Cal"
    assert "inferred" in r.roles_note.lower() and "--interviewer" in r.roles_note


def test_interviewer_named_on_command_line_wins():
    t = make([("I", "Tell me about your last role?"), ("C", "Sure?")], roles=False)
    r = coach(t, interviewer="cal")
    assert r.interviewer == "Cal" and r.candidate == "Ivy"


def test_unknown_speaker_name_is_a_usage_error_listing_speakers():
    t = make([("I", "Hi?"), ("C", "Hi.")], roles=False)
    with pytest.raises(UsageError, match="Ivy"):
        coach(t, interviewer="Bob")


def test_one_speaker_transcript_is_refused_with_a_clear_message():
    t = make([("I", "Tell me about yourself."), ("I", "And your last role?")])
    with pytest.raises(TranscriptError, match="only one speaker") as exc:
        coach(t)
    assert "both" in exc.value.one_line()


def test_transcript_without_speaker_labels_guesses_roles_and_says_so():
    t = Transcript(segments=[Segment(id=segment_id(i), text=x) for i, x in enumerate(
        ["Tell me about your most recent role?", "I managed sixty district accounts and owned their renewals.",
         "How did you prioritise the renewals?", "By revenue at risk, then by usage trends over the quarter."])])
    r = coach(t)
    assert "guessed" in r.roles_note and r.talk_time.basis == "words"


# ---------------------------------------------------------------- structure (needs guide + align)


def test_structure_reports_skipped_questions_directions_and_candidate_time():
    reports = evaluate_set()["reports"]
    r = reports["01_cam_screening"]
    if not r.structure.available:
        pytest.skip("evaluator.align / evaluator.guide not available yet")
    st = r.structure
    assert st.directions.given and st.directions.segment_ids
    assert st.total == 7 and st.asked + len(st.skipped) == 7
    assert st.candidate_questions is not None and st.candidate_questions_time_s == pytest.approx(38 + 2, abs=5)
    assert reports["02_cam_screening"].structure.directions.given is False
    clean = reports["09_cam_behavioral_clean"].structure
    assert clean.asked == clean.total == 3 and clean.follow_ups_used >= 3 and clean.order_followed


def test_recommendations_rank_must_not_ask_first_and_cite_lines():
    r = evaluate_set()["reports"]["03_cam_hiring_manager"]
    assert len(r.recommendations) == 3
    first = r.recommendations[0]
    assert first.kind == "must_not_ask" and first.lines
    assert {x.segment_id for x in first.lines} == {f.segment_id for f in r.must_not_ask}


def test_talk_time_imbalance_is_recommended_when_interviewer_dominates():
    t = make([("I", "Let me tell you about us. " * 40), ("C", "Okay."), ("I", "Tell me about your last role."),
              ("C", "I ran renewals.")])
    for i, s in enumerate(t.segments):
        s.start_s, s.end_s = [(0, 120), (120, 122), (122, 125), (125, 130)][i]
    r = coach(t)
    assert r.recommendations[0].kind == "talk_time"
    assert r.recommendations[0].lines[0].segment_id == "s0000"


# ---------------------------------------------------------------- outputs and the LLM hook


def test_report_round_trips_as_one_json_document():
    r = evaluate_set()["reports"]["01_cam_screening"]
    again = CoachReport.model_validate_json(r.model_dump_json())
    assert again == r
    assert json.loads(r.model_dump_json())["must_not_ask"][0]["segment_id"]


def test_html_report_is_self_contained():
    r = evaluate_set()["reports"]["01_cam_screening"]
    page = render(r, "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "where were you born originally?" in page and "<table>" in page


def test_batch_summary_has_one_row_per_interviewer():
    reports = list(evaluate_set()["reports"].values())
    s = summarize(reports)
    names = [row.interviewer for row in s.rows]
    assert names.count("Lena Brooks") == 1 and names.count("Dana Whitfield") == 1
    lena = next(row for row in s.rows if row.interviewer == "Lena Brooks")
    assert lena.interviews == 2 and lena.must_not_ask >= 5
    assert "Lena Brooks" in render_summary_markdown(s)


def test_reviewer_flags_are_kept_only_when_their_quote_is_in_an_interviewer_line():
    t = make([("I", "So tell me, are your parents still alive?"), ("C", "Yes, thanks.")])

    def reviewer(tr, report):
        return [
            Flag(kind="must_not_ask", rule_id="llm", category="family_status", segment_id="s0000", line="",
                 quote="are your parents still alive?", explanation="Family questions are off limits."),
            Flag(kind="leading", rule_id="llm", segment_id="s0000", line="", quote="isn't that right?",
                 explanation="invented"),
            Flag(kind="closed", rule_id="llm", segment_id="s0001", line="", quote="Yes, thanks.",
                 explanation="candidate line"),
        ]

    r = coach(t, reviewer=reviewer)
    assert r.llm_used
    assert [(f.kind, f.source) for f in r.must_not_ask] == [("must_not_ask", "llm")]
    assert r.question_quality == []
    assert sum("dropped" in w for w in r.warnings) == 2
    kept, dropped = verify_flags(t, [])
    assert kept == [] and dropped == []


# ---------------------------------------------------------------- the `coach` command


def _run(*args):
    from typer.testing import CliRunner

    from evaluator.cli import app

    return CliRunner().invoke(app, ["coach", *map(str, args)])


def test_cli_coach_prints_markdown_and_one_json_document():
    src = DATA / "01_cam_screening.txt"
    res = _run(src, "--guide", "customer-account-manager", "--stage", "screening")
    assert res.exit_code == 0, res.output
    assert "Questions an interviewer must not ask" in res.stdout and "where were you born originally" in res.stdout
    res = _run(src, "--guide", "customer-account-manager", "--stage", "screening", "--json",
               "--interviewer", "Dana Whitfield", "--candidate", "Sam Ortiz")
    doc = json.loads(res.stdout)
    assert doc["interviewer"] == "Dana Whitfield" and len(doc["must_not_ask"]) == 5


def test_cli_coach_writes_html_and_batch_summary(tmp_path):
    out = tmp_path / "r.html"
    res = _run(DATA / "04_cam_behavioral.txt", "--guide", "customer-account-manager", "-o", out)
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    res = _run(f"{DATA}/0[1-4]*.txt", "--guide", "customer-account-manager", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert sorted(r["interviewer"] for r in doc["rows"]) == ["Dana Whitfield", "Lena Brooks", "Mark Evans",
                                                             "Priya Nair"]


def test_cli_coach_refuses_one_speaker_transcript_with_one_line(tmp_path):
    f = tmp_path / "mono.txt"
    f.write_text("[00:00] Dana: Tell me about yourself.\n[00:10] Dana: And your last role?\n")
    res = _run(f, "--guide", "customer-account-manager", "--stage", "screening")
    assert res.exit_code == 1
    assert "only one person speaks" in res.output and "Traceback" not in res.output


def test_cli_coach_rejects_bad_rules_file_and_output_extension(tmp_path):
    bad = tmp_path / "extra.yaml"
    bad.write_text("rules:\n  - id: x\n    category: c\n    pattern: [a]\n    explanation: e\n")
    res = _run(DATA / "01_cam_screening.txt", "--guide", "customer-account-manager", "--rules", bad)
    assert res.exit_code == 1 and "extra.yaml" in res.output
    res = _run(DATA / "01_cam_screening.txt", "--guide", "customer-account-manager", "-o", tmp_path / "r.pdf")
    assert res.exit_code == 2 and not (tmp_path / "r.pdf").exists()


def test_greetings_and_logistics_before_the_first_guide_question_are_not_coached_for_form():
    g, st = load_stage("customer-account-manager", "screening")
    t = parse_simple("""
[00:00] Dana: Hi Sam, can you hear me all right? You're in Austin, right?
[00:05] Sam: Yes, all good.
[00:08] Dana: Tell me about your most recent role in customer success. What were your key responsibilities and performance metrics?
[00:20] Sam: I ran a book of ninety accounts at Rosterly and owned renewals, with a net retention target of 105 percent.
[01:30] Dana: You're in Austin, right? And you hit your number every quarter, right?
[01:35] Sam: Yes, both.
[01:40] Dana: Are you authorized to work in the US without sponsorship?
[01:44] Sam: I am.
""")
    report = coach(t, st, guide=g, interviewer="Dana", candidate="Sam")
    flagged = {f.segment_id for f in report.question_quality}
    assert "s0000" not in flagged  # the same forms in the greeting are small talk
    assert "s0004" in flagged and any(f.kind == "leading" for f in report.question_quality)


@pytest.mark.parametrize("say, stacked", [
    ("Okay, and what does that involve week to week?", False),  # a lead-in, one question
    ("What languages do you speak, and how would you rate yourself in each?", False),  # about what the first asked
    ("What did you do in the Reserve, and did any of it carry over?", False),
    ("What tool did you build it in, who did you share it with, and did the team start using it?", True),  # a list
    ("What did you change first, and how did the district react?", True),  # two questions
    ("Why did you leave? And what would you do differently?", True),  # two sentences
])
def test_stacked_questions_are_several_questions_not_one_with_its_follow_on(say, stacked):
    t = Transcript(segments=[Segment(id=segment_id(0), start_s=0.0, speaker="Ivy", role=Role.interviewer, text=say),
                             Segment(id=segment_id(1), start_s=9.0, speaker="Cal", role=Role.candidate,
                                     text="Well, it depends on the account and the week.")])
    assert any(f.kind == "stacked" for f in find_question_quality(t)) is stacked
