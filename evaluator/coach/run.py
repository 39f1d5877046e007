"""Entry points: coach one interview (`coach`), and sum a batch of reports up per interviewer (`summarize`)."""

from __future__ import annotations

from evaluator.coach.questions import Reviewer, find_must_not_ask, find_question_quality, verify_flags
from evaluator.coach.recommend import recommend
from evaluator.coach.report import CoachReport, CoachSummary, SummaryRow
from evaluator.coach.rules import MustNotAskRules
from evaluator.coach.structure import check_structure
from evaluator.coach.talk import measure_talk_time
from evaluator.errors import TranscriptError
from evaluator.transcript import Role, Transcript


def coach(t: Transcript, stage=None, *, alignment=None, rules: MustNotAskRules | None = None,
          guide=None, interviewer: str | None = None, candidate: str | None = None,
          reviewer: Reviewer | None = None) -> CoachReport:
    """Coach one interview: talk time, structure, question quality, must-not-ask, and three recommendations.

    Roles are set with `evaluator.roles.assign_roles` (which keeps roles already in `t`; `interviewer` and
    `candidate` name speakers and win), and the report says how. `alignment` is computed with
    `evaluator.align.align` when the stage has questions and it is not given. `rules` default to the bundled
    must-not-ask rules. `reviewer` is an optional extra pass (e.g. an LLM); its flags are verified against the
    transcript.
    """
    question_texts = [q.text for q in stage.questions] if stage is not None else None
    t = _with_roles(t, interviewer=interviewer, candidate=candidate, question_texts=question_texts or None)
    if rules is None:
        from evaluator.resources import load_must_not_ask_rules

        rules = load_must_not_ask_rules()
    mna = find_must_not_ask(t, rules)
    if alignment is None and stage is not None and stage.questions:
        from evaluator.align import align

        alignment = align(t, stage)
    quality = find_question_quality(t, stage, skip_segments={f.segment_id for f in mna} | _warm_up(t, alignment))
    names = {r: [s.speaker for s in t.by_role(r)] for r in (Role.interviewer, Role.candidate)}
    report = CoachReport(
        source=t.meta.source, transcript_sha256=t.content_sha256(),
        guide_id=guide.id if guide is not None else None, guide_version=guide.version if guide is not None else None,
        stage_id=stage.id if stage is not None else None, stage_name=stage.name if stage is not None else None,
        stage_kind=stage.kind.value if stage is not None else None,
        interviewer=", ".join(dict.fromkeys(names[Role.interviewer])) or None,
        candidate=", ".join(dict.fromkeys(names[Role.candidate])) or None,
        roles=t.meta.roles, roles_note=_roles_note(t), rules_version=rules.version,
        talk_time=measure_talk_time(t), structure=check_structure(t, stage, alignment),
        must_not_ask=mna, question_quality=quality, warnings=list(t.meta.warnings))
    if not t.has_times:
        report.warnings.append("No timestamps: talk time is measured in words; times are shown as --:--.")
    if reviewer is not None:
        extra, dropped = verify_flags(t, [f.model_copy(update={"source": "llm"}) for f in reviewer(t, report)])
        report.llm_used = True
        report.warnings += dropped
        known = {(f.segment_id, f.kind, f.category) for f in report.must_not_ask + report.question_quality}
        for f in extra:
            if (f.segment_id, f.kind, f.category) in known:
                continue
            (report.must_not_ask if f.kind == "must_not_ask" else report.question_quality).append(f)
    report.recommendations = recommend(t, report)
    return report


def _warm_up(t: Transcript, alignment) -> set[str]:
    """The interviewer's segments before the first guide question is asked: greetings and logistics ("Can you
    hear me?", "Did you find parking okay?", "You're in Austin, right?") whose form is not worth coaching.
    Must-not-ask questions are still found there."""
    asked = [q for q in (alignment.questions if alignment is not None else []) if q.asked and q.segment_ids]
    if not asked:
        return set()
    order = {s.id: i for i, s in enumerate(t.segments)}
    first = min(order.get(q.segment_ids[0], len(order)) for q in asked)
    return {s.id for s in t.segments[:first] if s.role == Role.interviewer}


def _with_roles(t: Transcript, *, interviewer: str | None, candidate: str | None,
                question_texts: list[str] | None) -> Transcript:
    """`t` with roles from `evaluator.roles.assign_roles`; refuses a transcript the coach cannot judge (one
    speaker, no interviewer or no candidate), saying how to fix it."""
    from evaluator.roles import assign_roles

    src = t.meta.source or "transcript"
    if not t.segments:
        raise TranscriptError(f"{src}: no segments", hint="give a transcript with speech")
    speakers = t.speakers
    if len(speakers) < 2 and speakers != [""]:  # no labels at all: roles can still be guessed per segment
        raise TranscriptError(
            f"{src}: only one speaker ({speakers[0]}); coaching compares the interviewer's and the candidate's turns",
            hint="give a transcript with speaker labels for both people ('Name: text' lines, VTT <v Name> tags), "
                 "or re-run transcription with diarisation")
    t = assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=question_texts)
    if not t.by_role(Role.interviewer):
        raise TranscriptError(f"{src}: could not tell which speaker is the interviewer "
                              f"(speakers: {', '.join(speakers)})",
                              hint="name them: --interviewer NAME --candidate NAME")
    if not t.by_role(Role.candidate):
        raise TranscriptError(f"{src}: no candidate turns found (speakers: {', '.join(speakers)})",
                              hint="name them: --interviewer NAME --candidate NAME")
    return t


def _roles_note(t: Transcript) -> str:
    """One sentence on how the roles were set, asking for names when they were guessed."""
    if not t.meta.roles:
        return "Roles were given in the transcript."
    per_segment = [ra for ra in t.meta.roles if ra.method == "inferred-per-segment"]
    if per_segment:
        return ("No speaker labels: roles were guessed turn by turn (" + per_segment[0].evidence + "). "
                "Label the speakers in the transcript, or pass --interviewer/--candidate, for a reliable report.")
    parts = []
    inferred = False
    for ra in t.meta.roles:
        if ra.role not in (Role.interviewer, Role.candidate):
            continue
        how = {"option": "set on the command line", "label": "from the speaker label",
               "source": "as given in the transcript"}.get(ra.method, ra.method)
        if ra.method not in ("option", "label", "channel", "rttm", "default", "source"):
            inferred = True
        detail = f"{ra.speaker} = {ra.role.value} ({how}"
        if ra.method not in ("option",):
            detail += f", confidence {ra.confidence:.2f}"
        if ra.evidence:
            detail += f"; {ra.evidence}"
        parts.append(detail + ")")
    note = "Roles: " + "; ".join(parts) + "."
    if inferred:
        note += " They were inferred; set --interviewer NAME --candidate NAME if this is wrong."
    return note


def summarize(reports: list[CoachReport], errors: list[str] | None = None) -> CoachSummary:
    """One row per interviewer over a batch of reports."""
    rows: dict[str, SummaryRow] = {}
    shares: dict[str, list[float]] = {}
    for r in reports:
        name = r.interviewer or "(unknown)"
        row = rows.setdefault(name, SummaryRow(interviewer=name, interviews=0, sources=[]))
        row.interviews += 1
        row.sources.append(r.source or "?")
        if r.talk_time.interviewer_share is not None:
            shares.setdefault(name, []).append(r.talk_time.interviewer_share)
        row.questions_asked += r.structure.asked
        row.questions_total += r.structure.total
        row.directions_given += int(bool(r.structure.directions and r.structure.directions.given))
        for k, v in r.counts().items():
            setattr(row, k, getattr(row, k) + v)
    for name, vals in shares.items():
        rows[name].mean_interviewer_share = round(sum(vals) / len(vals), 3)
    return CoachSummary(rows=sorted(rows.values(), key=lambda r: r.interviewer), reports=reports,
                        errors=errors or [])
