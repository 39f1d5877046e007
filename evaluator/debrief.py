"""The debrief packet: one candidate's scorecards (drafts or finals) joined across stages and interviewers.

Per competency every score with its quotes and who gave it; disagreements (a spread of 2 or more) called
out; the role's goals with each interviewer's likelihood rating; the overall recommendations; coverage
gaps across the loop; and the guide's Debrief Meeting questions as the agenda.

Who the candidate is: the scorecard's `candidate` field; when it is empty, the candidate speaker's name
in the transcript (generic labels such as "Candidate" or "SPEAKER_01" do not count, and reference checks
never use it: there the other speaker is the referee). Scorecards naming different candidates, or made
with different guides, are refused. A scorecard whose candidate cannot be told is joined with a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.errors import ReviewError, UsageError
from evaluator.guide import Criterion, CriterionKind, Guide, StageKind, match_tag
from evaluator.scorecard import Draft, EvidenceQuote, FinalScorecard
from evaluator.text import content_words, normalize
from evaluator.transcript import Role

DISAGREEMENT_SPREAD = 2
# Words that say little about which competency is meant ("Communication Skills" ~ "Effective Communication").
_GENERIC = {"skill", "approach", "mindset", "effective", "comfort", "ability", "abiliti", "strong", "good"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScorecardRef(_Model):
    """One scorecard in the packet."""

    file: str
    kind: Literal["draft", "final"]
    stage_id: str
    stage_name: str
    interviewers: list[str]
    reviewer: str = ""
    revision: int | None = None
    candidate: str = ""


class DebriefScore(_Model):
    """One score on one criterion in one stage, with its evidence and who gave it."""

    stage_id: str
    stage_name: str
    criterion_id: str
    criterion_name: str
    score: int | None
    label: str = ""
    given_by: str = Field(description="The reviewer of a final scorecard, or 'AI draft (not reviewed)'.")
    interviewers: list[str] = Field(default_factory=list)
    reviewed: bool
    reason: str = Field(default="", description="The override reason, when the reviewer changed the AI's score.")
    quotes: list[EvidenceQuote] = Field(default_factory=list)
    file: str


class CompetencyRow(_Model):
    """A competency across the loop."""

    name: str
    essential: bool = Field(description="One of the guide's essential competencies.")
    scores: list[DebriefScore] = Field(default_factory=list)
    spread: int | None = Field(default=None, description="Highest minus lowest score above 0.")
    disagreement: bool = False
    evidence_gathered: bool = False


class GoalRow(_Model):
    """A role goal and each interviewer's likelihood rating."""

    goal: str
    ratings: list[DebriefScore] = Field(default_factory=list)


class AgendaItem(_Model):
    """A Debrief Meeting question from the guide."""

    id: str
    text: str
    guidance: str = ""


class DebriefPacket(_Model):
    """Everything the hiring team needs for one candidate's debrief meeting."""

    kind: Literal["debrief"] = "debrief"
    candidate: str
    guide_id: str
    role: str
    scorecards: list[ScorecardRef]
    competencies: list[CompetencyRow]
    goals: list[GoalRow]
    overall: list[DebriefScore]
    disagreements: list[str] = Field(default_factory=list)
    gaps: list[str] = Field(default_factory=list)
    directions: str = ""
    agenda: list[AgendaItem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- matching


def _words(name: str) -> set[str]:
    return {w for w in content_words(name.removeprefix("Goal:")) if w not in _GENERIC}


def _pseudo(name: str) -> Criterion:
    return Criterion(id="x", name=name, anchors={1: "low", 2: "high"})


def same_competency(a: str, b: str) -> bool:
    """Whether two criterion names mean the same competency (tolerant: `guide.match_tag` either way, or
    one's distinctive words contained in the other's)."""
    if normalize(a) == normalize(b):
        return True
    if match_tag(a, [_pseudo(b)]) is not None or match_tag(b, [_pseudo(a)]) is not None:
        return True
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and (wa <= wb or wb <= wa)


def _same_person(a: str, b: str) -> bool:
    na, nb = set(normalize(a).split()), set(normalize(b).split())
    return bool(na and nb) and (na <= nb or nb <= na)


def candidate_of(card: Draft | FinalScorecard) -> str:
    """Who the candidate is: the `candidate` field, else the candidate speaker's real name (not for reference checks)."""
    from evaluator.roles import label_role

    if card.candidate.strip():
        return card.candidate.strip()
    if card.source.stage_id == StageKind.reference_check.value:
        return ""
    if isinstance(card, Draft):
        names = {s.speaker for s in card.transcript.segments if s.role == Role.candidate}
    else:
        names = {q.speaker for c in card.criteria for q in c.proposal.quotes}
    names = {n for n in names if n.strip() and label_role(n) is None and not normalize(n).startswith("speaker")}
    return names.pop() if len(names) == 1 else ""


# ---------------------------------------------------------------- loading


def expand_scorecard_paths(items: list[str | Path]) -> list[Path]:
    """Files named directly, or every scorecard JSON in a folder (review-state files left out)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".json"
                          and ".review." not in f.name)
        else:
            out.append(p)
    if not out:
        raise UsageError(f"no scorecards found in {' '.join(map(str, items))}",
                         hint="give draft or final scorecard JSON files, or a folder of them")
    return out


def load_scorecards(paths: list[Path]) -> tuple[list[tuple[Path, Draft | FinalScorecard]], list[str]]:
    """Load scorecards, keeping only the latest revision of each final and dropping a draft whose final is given."""
    from evaluator.files import sha256_file
    from evaluator.store import load_scorecard

    cards = [(p, load_scorecard(p)) for p in paths]
    warnings: list[str] = []
    finals_of = {c.draft_sha256 for _, c in cards if isinstance(c, FinalScorecard)}
    keep = []
    for p, c in cards:
        if isinstance(c, Draft) and sha256_file(p) in finals_of:
            warnings.append(f"{p}: left out, its final scorecard is given too")
            continue
        if isinstance(c, FinalScorecard):
            later = [c2 for _, c2 in cards if isinstance(c2, FinalScorecard) and c2.draft_sha256 == c.draft_sha256
                     and c2.revision > c.revision]
            if later:
                warnings.append(f"{p}: left out, a later revision ({max(x.revision for x in later)}) is given")
                continue
        keep.append((p, c))
    return keep, warnings


# ---------------------------------------------------------------- building the packet


def _score_entries(path: Path, card) -> list[tuple[str, DebriefScore]]:
    out = []
    if isinstance(card, FinalScorecard):
        for c in card.criteria:
            p, d = c.proposal, c.decision
            out.append((p.kind, DebriefScore(
                stage_id=card.source.stage_id, stage_name=card.source.stage_name, criterion_id=c.criterion_id,
                criterion_name=c.criterion_name, score=c.final_score,
                label=p.anchors.get(c.final_score, "") if c.final_score is not None else "",
                given_by=d.reviewer, interviewers=list(card.interviewers), reviewed=True,
                reason=d.reason if d.action == "override" else "",
                quotes=list(p.quotes) + list(d.added_quotes), file=str(path))))
    else:
        for p in card.scores:
            out.append((p.kind, DebriefScore(
                stage_id=card.source.stage_id, stage_name=card.source.stage_name, criterion_id=p.criterion_id,
                criterion_name=p.criterion_name, score=p.score,
                label=p.anchors.get(p.score, "") if p.score is not None else "",
                given_by="AI draft (not reviewed)", interviewers=list(card.interviewers), reviewed=False,
                quotes=list(p.quotes), file=str(path))))
    return out


def build_debrief(cards: list[tuple[Path, Draft | FinalScorecard]], guide: Guide | None = None,
                  warnings: list[str] | None = None) -> DebriefPacket:
    """Join one candidate's scorecards into a debrief packet; refuse mixed candidates or guides. Without `guide`
    the packet has no agenda or essential competencies (the caller says why in `warnings`)."""
    if not cards:
        raise UsageError("no scorecards to join", hint="give the candidate's draft or final scorecards")
    warnings = list(warnings or [])
    guides = {c.source.guide_id for _, c in cards}
    roles = {c.source.guide_role for _, c in cards}
    if len(guides) > 1 or len(roles) > 1:
        listing = "; ".join(f"{p.name}: {c.source.guide_id} ({c.source.guide_role})" for p, c in cards)
        raise ReviewError(f"the scorecards come from different guides or roles ({listing})",
                          hint="a debrief packet joins one candidate's scorecards for one role")
    known = [(p, candidate_of(c)) for p, c in cards]
    named = [(p, n) for p, n in known if n]
    for p, n in named:
        if not _same_person(n, named[0][1]):
            listing = "; ".join(f"{q.name}: {m}" for q, m in named)
            raise ReviewError(f"the scorecards are about different candidates ({listing})",
                              hint="give the scorecards of one candidate only")
    for p, n in known:
        if not n:
            warnings.append(f"{p}: could not tell who the candidate is (no candidate name); joined as the same person")
    candidate = max((n for _, n in named), key=len, default="") or "unknown candidate"

    if guide is not None and guide.id != next(iter(guides)):
        raise ReviewError(f"--guide {guide.id!r} is not the guide the scorecards were made with ({next(iter(guides))!r})",
                          hint="leave out --guide, or give the guide the scorecards name in source.guide_id")

    refs = []
    competencies: list[CompetencyRow] = [CompetencyRow(name=c.name, essential=True)
                                         for c in (guide.essential_competencies if guide else [])]
    goal_rows: list[GoalRow] = [GoalRow(goal=g) for g in (guide.example_goals if guide else [])]
    overall: list[DebriefScore] = []
    order = {s.id: i for i, s in enumerate(guide.stages)} if guide else {}
    cards = sorted(cards, key=lambda pc: (order.get(pc[1].source.stage_id, 99), str(pc[0])))
    for path, card in cards:
        final = isinstance(card, FinalScorecard)
        refs.append(ScorecardRef(file=str(path), kind="final" if final else "draft", stage_id=card.source.stage_id,
                                 stage_name=card.source.stage_name, interviewers=list(card.interviewers),
                                 reviewer=card.reviewer if final else "", revision=card.revision if final else None,
                                 candidate=candidate_of(card)))
        if not final:
            warnings.append(f"{path}: an unreviewed draft; its scores are the AI's proposals")
        for kind, entry in _score_entries(path, card):
            if kind == CriterionKind.overall.value:
                overall.append(entry)
            elif kind == CriterionKind.goal.value:
                row = next((g for g in goal_rows if same_competency(g.goal, entry.criterion_name)), None)
                if row is None:
                    row = GoalRow(goal=entry.criterion_name.removeprefix("Goal:").strip())
                    goal_rows.append(row)
                row.ratings.append(entry)
            else:
                row = next((c for c in competencies if same_competency(c.name, entry.criterion_name)), None)
                if row is None:
                    row = CompetencyRow(name=entry.criterion_name, essential=False)
                    competencies.append(row)
                row.scores.append(entry)

    disagreements, gaps = [], []
    for row in competencies:
        rated = [s.score for s in row.scores if s.score]
        row.spread = max(rated) - min(rated) if rated else None
        row.disagreement = row.spread is not None and row.spread >= DISAGREEMENT_SPREAD
        row.evidence_gathered = any(s.score or s.quotes for s in row.scores)
        if row.disagreement:
            detail = ", ".join(f"{s.score} ({s.stage_name}, {s.given_by})" for s in row.scores if s.score)
            disagreements.append(f"{row.name}: scores {min(rated)}-{max(rated)} — {detail}")
        if not row.scores:
            gaps.append(f"{row.name}: not assessed in any stage of this loop")
        elif not row.evidence_gathered:
            gaps.append(f"{row.name}: no evidence gathered ({', '.join(s.stage_name for s in row.scores)} "
                        "all 0 / Not Enough Information)")
    for g in goal_rows:
        rated = [s.score for s in g.ratings if s.score]
        if len(rated) >= 2 and max(rated) - min(rated) >= DISAGREEMENT_SPREAD:
            disagreements.append(f"Goal {g.goal}: ratings {min(rated)}-{max(rated)}")
    rated = [s.score for s in overall if s.score]
    if len(rated) >= 2 and max(rated) - min(rated) >= DISAGREEMENT_SPREAD:
        disagreements.append(f"Overall recommendation: {min(rated)}-{max(rated)} — "
                             + ", ".join(f"{s.label or s.score} ({s.stage_name}, {s.given_by})" for s in overall))

    agenda, directions = [], ""
    if guide is not None:
        deb = next((s for s in guide.stages if s.kind == StageKind.debrief), None)
        if deb is not None:
            directions = deb.directions_interviewer
            agenda = [AgendaItem(id=q.id, text=q.text, guidance=q.guidance) for q in deb.questions]
        else:
            warnings.append(f"guide {guide.id!r} has no Debrief Meeting stage: no agenda")
    return DebriefPacket(candidate=candidate, guide_id=next(iter(guides)), role=next(iter(roles)), scorecards=refs,
                         competencies=competencies, goals=goal_rows, overall=overall, disagreements=disagreements,
                         gaps=gaps, directions=directions, agenda=agenda, warnings=warnings)


def debrief_files(items: list[str | Path], guide: Guide | None = None) -> DebriefPacket:
    """Load scorecard files (or folders) and build the packet."""
    cards, warnings = load_scorecards(expand_scorecard_paths(items))
    if guide is None and cards:  # the guide the scorecards name, read here: build_debrief reads no files
        from evaluator.guide import load_guide

        try:
            guide = load_guide(cards[0][1].source.guide_id)
        except Exception:
            warnings.append(f"guide {cards[0][1].source.guide_id!r} could not be loaded: no agenda or essential "
                            "competencies (pass --guide)")
    return build_debrief(cards, guide, warnings)
