"""Human review: a person confirms or overrides every proposed score; the final scorecard keeps both.

Pure logic: no prompting, no files. One function per action — `confirm`, `override`, `add_quote`,
`add_note` — each returns a new `ReviewState`; `evaluator.pipeline` applies them under the store's lock
and saves at once, so an interrupted review resumes where it stopped and two processes lose nothing.
Where scorecards and review states are kept (files, or the web app's database) is `evaluator.store`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.errors import ReviewError, UsageError
from evaluator.scorecard import (Decision, DroppedQuote, Draft, EvidenceQuote, FinalCriterion, FinalScorecard,
                                 ProposedScore, sealed, utc_now)
from evaluator.text import normalize
from evaluator.transcript import Role, Transcript

# ---------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewEvent(_Model):
    """One action of the review, in the order it was taken (audit log of the review in progress)."""

    at: str = Field(default_factory=utc_now)
    reviewer: str
    criterion_id: str
    action: Literal["confirm", "override", "add_quote", "note"]
    score: int | None = None
    text: str = ""


class CriterionReview(_Model):
    """What a person has done so far on one criterion."""

    decision: Decision | None = None
    notes: str = ""
    added_quotes: list[EvidenceQuote] = Field(default_factory=list)


class ReviewState(_Model):
    """A review in progress, saved beside the draft after every action."""

    schema_version: Literal[1] = 1
    kind: Literal["review_state"] = "review_state"
    draft_sha256: str = Field(description="The draft (or final, for a revision) this review belongs to.")
    reviewer: str = Field(default="", description="Whose review this is.")
    started_at: str = Field(default_factory=utc_now)
    criteria: dict[str, CriterionReview] = Field(default_factory=dict)
    log: list[ReviewEvent] = Field(default_factory=list)


class ReviewProgress(_Model):
    """What `review` reports: decided and remaining criteria, and where things were written."""

    draft: str
    state_file: str | None = None
    decided: list[str]
    remaining: list[str]
    final: str | None = None
    revision: int | None = None


Scorecard = Draft | FinalScorecard


# ---------------------------------------------------------------- checks


def proposals(card: Scorecard) -> list[ProposedScore]:
    """The AI proposals of a draft or a final scorecard, in scorecard order."""
    return list(card.scores) if isinstance(card, Draft) else [c.proposal for c in card.criteria]


def check_scorecard(card: Scorecard) -> list[str]:
    """Problems pydantic cannot see: a missing or broken seal (the file was edited by hand), duplicate ids,
    scores off the scale, quotes that are not found in the embedded transcript, scores without evidence."""
    from evaluator.scorecard import compute_seal

    if card.seal is None:
        return ["it has no integrity seal (written by hand, or by interview-eval before 0.2)"]
    if card.seal != compute_seal(card):
        return ["its content does not match its integrity seal: it was edited after it was written"]
    out = []
    seen = set()
    for p in proposals(card):
        if p.criterion_id in seen:
            out.append(f"criterion {p.criterion_id!r} appears twice")
        seen.add(p.criterion_id)
        if p.score is not None and p.score not in p.anchors:
            out.append(f"{p.criterion_id}: proposed score {p.score} is not on its scale {sorted(p.anchors)}")
    if isinstance(card, Draft):
        if card.transcript.content_sha256() != card.source.transcript_content_sha256:
            out.append("the embedded transcript does not match source.transcript_content_sha256")
        out += _reverify_quotes(card)
    else:
        for c in card.criteria:
            if c.criterion_id != c.proposal.criterion_id or c.criterion_id != c.decision.criterion_id:
                out.append(f"{c.criterion_id}: proposal/decision belong to another criterion")
            if c.final_score is not None and c.final_score not in c.proposal.anchors:
                out.append(f"{c.criterion_id}: final score {c.final_score} is not on its scale "
                           f"{sorted(c.proposal.anchors)}")
    return out


def _reverify_quotes(card: Draft) -> list[str]:
    """Every quote of a draft is found again, in a candidate turn at the segment it names; a score above 0 of a
    criterion (other than the overall) rests on at least one such quote."""
    from evaluator.evidence import QuoteIndex, verify_quote

    index = None
    ids = {s.id for s in card.transcript.segments}
    out = []
    for p in card.scores:
        for q in p.quotes:
            if q.segment_id not in ids:
                out.append(f"{p.criterion_id}: quote points at segment {q.segment_id!r}, "
                           "which is not in the embedded transcript")
                continue
            index = index or QuoteIndex(card.transcript)
            got = verify_quote(q.quote, index, claimed_segment_id=q.segment_id)
            if not isinstance(got, EvidenceQuote) or q.segment_id not in got.segment_ids + [got.segment_id]:
                why = got.reason if isinstance(got, DroppedQuote) else f"found at {got.segment_id} instead"
                out.append(f"{p.criterion_id}: quote {q.quote[:60]!r} is not the candidate's words at "
                           f"{q.segment_id} ({why})")
        if p.kind != "overall" and p.status == "proposed" and p.score and not p.quotes:
            out.append(f"{p.criterion_id}: score {p.score} without verified evidence")
    return out


def resolve_criterion(card: Scorecard, ref: str) -> ProposedScore:
    """A criterion by id or (case-insensitive, punctuation-tolerant) name."""
    ref = ref.strip()
    props = proposals(card)
    for p in props:
        if p.criterion_id == ref:
            return p
    for p in props:
        if normalize(p.criterion_name) == normalize(ref) or normalize(p.criterion_id) == normalize(ref):
            return p
    raise UsageError(f"unknown criterion {ref!r}", hint="valid ids: " + ", ".join(p.criterion_id for p in props))


# ---------------------------------------------------------------- actions (each returns a new state)


def _entry(state: ReviewState, cid: str) -> tuple[ReviewState, CriterionReview]:
    new = state.model_copy(deep=True)
    entry = new.criteria.setdefault(cid, CriterionReview())
    return new, entry


def _reviewer(reviewer: str) -> str:
    reviewer = " ".join((reviewer or "").split())
    if not reviewer:
        raise UsageError("a reviewer name is required", hint="pass --reviewer 'Your Name'")
    return reviewer


def confirm(state: ReviewState, proposal: ProposedScore, reviewer: str) -> ReviewState:
    """Accept the AI's proposed score. Refused when there is no score to accept."""
    reviewer = _reviewer(reviewer)
    if proposal.score is None:
        why = {"needs_reviewer": "the AI did not score it (needs a reviewer)",
               "failed": "the AI call failed"}.get(proposal.status, "there is no proposed score")
        raise ReviewError(f"cannot confirm {proposal.criterion_id}: {why}",
                          hint=f"set a score: --set {proposal.criterion_id}=SCORE --reason TEXT "
                               f"(scale {_scale_text(proposal)})")
    new, entry = _entry(state, proposal.criterion_id)
    entry.decision = Decision(criterion_id=proposal.criterion_id, action="confirm", score=proposal.score,
                              reviewer=reviewer)
    new.log.append(ReviewEvent(reviewer=reviewer, criterion_id=proposal.criterion_id, action="confirm",
                               score=proposal.score))
    return new


def _scale_text(p: ProposedScore) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(p.anchors.items()))


def check_score(proposal: ProposedScore, score: int | str) -> int:
    """A score on the criterion's own scale (its anchors), or a clear error."""
    try:
        value = int(str(score).strip())
    except ValueError:
        raise UsageError(f"{proposal.criterion_id}: score {score!r} is not a whole number",
                         hint=f"use one of: {_scale_text(proposal)}") from None
    if value not in proposal.anchors:
        raise UsageError(f"{proposal.criterion_id}: score {value} is outside its scale "
                         f"{min(proposal.anchors)}-{max(proposal.anchors)}",
                         hint=f"use one of: {_scale_text(proposal)}")
    return value


def override(state: ReviewState, proposal: ProposedScore, score: int | str, reason: str,
             reviewer: str) -> ReviewState:
    """Set a score of the reviewer's own (a new score and a reason, both required)."""
    reviewer = _reviewer(reviewer)
    value = check_score(proposal, score)
    reason = " ".join((reason or "").split())
    if not reason:
        raise UsageError(f"{proposal.criterion_id}: an override needs a reason",
                         hint=f"--set {proposal.criterion_id}={value} --reason 'why', or "
                              f"--set '{proposal.criterion_id}={value}:why'")
    new, entry = _entry(state, proposal.criterion_id)
    entry.decision = Decision(criterion_id=proposal.criterion_id, action="override", score=value, reason=reason,
                              reviewer=reviewer)
    new.log.append(ReviewEvent(reviewer=reviewer, criterion_id=proposal.criterion_id, action="override",
                               score=value, text=reason))
    return new


def find_reviewer_quote(quote: str, transcript: Transcript, reviewer: str) -> EvidenceQuote:
    """A reviewer's own evidence, located in the transcript's candidate turns; refused if not found there."""
    from evaluator.evidence import locate_quote

    found = locate_quote(quote, transcript, roles=frozenset({Role.candidate}))
    if isinstance(found, DroppedQuote):
        raise ReviewError(f"quote refused: {found.reason}: {quote[:80]!r}",
                          hint="copy the candidate's words from the transcript (at least a few words, "
                               "candidate turns only)")
    return found.model_copy(update={"added_by": reviewer})


def add_quote(state: ReviewState, proposal: ProposedScore, quote: str, transcript: Transcript | None,
              reviewer: str) -> ReviewState:
    """Add the reviewer's own evidence for a criterion, verified against the transcript."""
    reviewer = _reviewer(reviewer)
    if transcript is None:
        raise UsageError("adding a quote needs the transcript, and a final scorecard does not embed it",
                         hint="pass --transcript with the draft JSON or the transcript file it was made from")
    found = find_reviewer_quote(quote, transcript, reviewer)
    new, entry = _entry(state, proposal.criterion_id)
    if not any(q.segment_ids == found.segment_ids and q.quote == found.quote for q in entry.added_quotes):
        entry.added_quotes.append(found)
    new.log.append(ReviewEvent(reviewer=reviewer, criterion_id=proposal.criterion_id, action="add_quote",
                               text=found.quote))
    return new


def add_note(state: ReviewState, proposal: ProposedScore, text: str, reviewer: str) -> ReviewState:
    """Append a note to a criterion."""
    reviewer = _reviewer(reviewer)
    text = text.strip()
    if not text:
        raise UsageError(f"{proposal.criterion_id}: the note is empty", hint="--note ID='your note'")
    new, entry = _entry(state, proposal.criterion_id)
    entry.notes = f"{entry.notes}\n{text}".strip() if entry.notes else text
    new.log.append(ReviewEvent(reviewer=reviewer, criterion_id=proposal.criterion_id, action="note", text=text))
    return new


def remaining(card: Scorecard, state: ReviewState) -> list[str]:
    """Criterion ids that still need a decision."""
    return [p.criterion_id for p in proposals(card)
            if state.criteria.get(p.criterion_id) is None or state.criteria[p.criterion_id].decision is None]


# ---------------------------------------------------------------- the final scorecard


def _decision_with_extras(entry: CriterionReview) -> Decision:
    d = entry.decision
    assert d is not None
    return d.model_copy(update={"notes": entry.notes, "added_quotes": list(entry.added_quotes)})


def finalize(draft: Draft, draft_sha256: str, state: ReviewState, reviewer: str) -> FinalScorecard:
    """The final scorecard, once every criterion has a decision."""
    reviewer = _reviewer(reviewer)
    if not draft.scores:
        raise ReviewError("the draft has no criteria to decide, so there is no scorecard to finalise",
                          hint="evaluate the interview against a stage that has a scorecard (--stage)")
    left = remaining(draft, state)
    if left:
        raise ReviewError(f"{len(left)} criteria still need a decision: {', '.join(left)}",
                          hint="confirm or override each of them")
    criteria = [FinalCriterion(criterion_id=p.criterion_id, criterion_name=p.criterion_name, kind=p.kind,
                               scale=p.scale, final_score=state.criteria[p.criterion_id].decision.score,
                               proposal=p, decision=_decision_with_extras(state.criteria[p.criterion_id]))
                for p in draft.scores]
    warnings = list(draft.warnings) + [f"finalised despite: {c}" for c in contradictions(draft, state)]
    return sealed(FinalScorecard(draft_sha256=draft_sha256, reviewer=reviewer, candidate=draft.candidate,
                                 interviewers=list(draft.interviewers), source=draft.source, criteria=criteria,
                                 coverage=draft.coverage, injection_flags=draft.injection_flags,
                                 prohibited_questions=list(draft.prohibited_questions), warnings=warnings))


def state_from_final(final: FinalScorecard, final_sha256: str) -> ReviewState:
    """A review state holding a final scorecard's decisions (the starting point of a revision)."""
    return ReviewState(draft_sha256=final_sha256, criteria={
        c.criterion_id: CriterionReview(decision=c.decision.model_copy(update={"notes": "", "added_quotes": []}),
                                        notes=c.decision.notes, added_quotes=list(c.decision.added_quotes))
        for c in final.criteria})


def revise(final: FinalScorecard, final_sha256: str, state: ReviewState, reviewer: str) -> FinalScorecard:
    """A new revision of a final scorecard with the changes in `state` (which began as `state_from_final`).

    Refused when nothing changed: a final scorecard is never rewritten without a change."""
    reviewer = _reviewer(reviewer)
    if not state.log:
        raise ReviewError("a final scorecard is never edited in place and no change was given",
                          hint="make a revision: review FINAL --reviewer NAME --set ID=SCORE --reason TEXT "
                               "(or --add-quote / --note); it is written to FINAL.r2.json")
    criteria = [c.model_copy(update={"final_score": state.criteria[c.criterion_id].decision.score,
                                     "decision": _decision_with_extras(state.criteria[c.criterion_id])})
                for c in final.criteria]
    return sealed(final.model_copy(update={"revision": final.revision + 1, "previous_sha256": final_sha256,
                                           "finalized_at": utc_now(), "reviewer": reviewer, "criteria": criteria}))


def contradictions(card: Scorecard, state: ReviewState) -> list[str]:
    """Where the overall recommendation decided so far disagrees with the criteria decided so far, in words a
    reviewer can act on before finalising (empty when there is nothing to point out)."""
    decided = {cid: e.decision.score for cid, e in state.criteria.items() if e.decision and e.decision.score is not None}
    props = {p.criterion_id: p for p in proposals(card)}
    overall = next((p for p in props.values() if p.kind == "overall" and p.criterion_id in decided), None)
    if overall is None:
        return []
    lo, hi = min(overall.anchors), max(overall.anchors)
    rec = decided[overall.criterion_id]
    label = overall.anchors.get(rec, str(rec))
    scored = {cid: v for cid, v in decided.items() if props.get(cid) and props[cid].kind != "overall"}
    informed = {cid: v for cid, v in scored.items() if v > 0}
    out = []
    if scored and len(informed) * 2 < len(scored):
        out.append(f"the overall recommendation is {label!r}, but {len(scored) - len(informed)} of {len(scored)} "
                   "criteria have not enough information (0)")
    if informed:
        mean = sum(informed.values()) / len(informed)
        c_hi = max(max(props[c].anchors) for c in informed)
        hire = rec > (lo + hi) / 2
        if hire and mean < c_hi / 2:
            out.append(f"the overall recommendation is {label!r}, but the criteria average {mean:.1f} of {c_hi}")
        if not hire and mean >= 0.75 * c_hi:
            out.append(f"the overall recommendation is {label!r}, but the criteria average {mean:.1f} of {c_hi}")
        if rec == hi:
            weak = [c for c, v in informed.items() if v <= 1]
            if weak:
                out.append(f"the overall recommendation is {label!r}, but {', '.join(weak)} scored 1")
        if rec == lo:
            strong = [c for c, v in informed.items() if v == max(props[c].anchors)]
            if strong:
                out.append(f"the overall recommendation is {label!r}, but {', '.join(strong)} scored the top of "
                           "the scale")
    return out


# ---------------------------------------------------------------- command-line decisions


class Change(_Model):
    """One non-interactive decision parsed from the command line."""

    action: Literal["confirm", "override", "add_quote", "note"]
    ref: str
    score: str | None = None
    text: str = ""


def _split_eq(opt: str, value: str, example: str) -> tuple[str, str]:
    ref, sep, rest = value.partition("=")
    if not sep or not ref.strip() or not rest.strip():
        raise UsageError(f"{opt} {value!r}: expected {example}", hint=f"e.g. {opt} {example}")
    return ref.strip(), rest.strip()


def parse_changes(confirms: list[str] | None = None, sets: list[str] | None = None,
                  reasons: list[str] | None = None, quotes: list[str] | None = None,
                  notes: list[str] | None = None) -> list[Change]:
    """Turn --confirm/--set/--reason/--add-quote/--note into changes.

    Pairing rule for reasons: `--set 'ID=SCORE:reason'` carries its own reason; otherwise the n-th
    `--reason` belongs to the n-th `--set` that has none, so give them in the same order. The counts must match.
    """
    out = [Change(action="confirm", ref=c.strip()) for c in confirms or []]
    pending = list(reasons or [])
    need = []
    for s in sets or []:
        ref, rest = _split_eq("--set", s, "ID=SCORE")
        score, colon, inline = rest.partition(":")
        if colon and not inline.strip():
            raise UsageError(f"--set {s!r}: empty reason after ':'", hint=f"--set '{ref}={score}:why'")
        change = Change(action="override", ref=ref, score=score.strip(), text=inline.strip())
        if not inline.strip():
            need.append(change)
        out.append(change)
    if len(pending) != len(need):
        if len(pending) < len(need):
            raise UsageError(f"--set {need[len(pending)].ref}={need[len(pending)].score}: an override needs a reason "
                             f"({len(need)} --set without a reason, {len(pending)} --reason)",
                             hint="give one --reason after each --set, in order, or --set 'ID=SCORE:reason'")
        raise UsageError(f"{len(pending)} --reason for {len(need)} --set without a reason",
                         hint="each --reason pairs with the --set before it, in order")
    for change, reason in zip(need, pending):
        change.text = reason.strip()
    for q in quotes or []:
        ref, text = _split_eq("--add-quote", q, "ID='the candidate said...'")
        out.append(Change(action="add_quote", ref=ref, text=text.strip().strip('"\u201c\u201d')))
    for n in notes or []:
        ref, text = _split_eq("--note", n, "ID='text'")
        out.append(Change(action="note", ref=ref, text=text))
    return out


def apply_changes(card: Scorecard, state: ReviewState, changes: list[Change], reviewer: str,
                  transcript: Transcript | None) -> ReviewState:
    """Apply every change in memory; any bad one raises before anything is saved."""
    seen: dict[str, str] = {}
    for ch in changes:
        p = resolve_criterion(card, ch.ref)
        if ch.action in ("confirm", "override"):
            if p.criterion_id in seen:
                raise UsageError(f"{p.criterion_id}: two decisions in one command ({seen[p.criterion_id]} and "
                                 f"{ch.action})", hint="give one --confirm or --set per criterion")
            seen[p.criterion_id] = ch.action
        if ch.action == "confirm":
            state = confirm(state, p, reviewer)
        elif ch.action == "override":
            state = override(state, p, ch.score or "", ch.text, reviewer)
        elif ch.action == "add_quote":
            state = add_quote(state, p, ch.text, transcript, reviewer)
        else:
            state = add_note(state, p, ch.text, reviewer)
    return state


