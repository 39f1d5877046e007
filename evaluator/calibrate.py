"""Calibration: how two scorers agree on the same interviews.

- Reference vs trainee: scorecards of the same interview are paired by
  `source.transcript_content_sha256` + `source.stage_id` (the transcript's content, so a file renamed or
  re-exported with the same segments still pairs).
- AI vs human: every final scorecard pairs the AI's proposal with the person's final score; over many
  finals this also shows how often reviewers override the AI, and on which criteria.

Per criterion: exact agreement, agreement within 1 point, quadratic weighted kappa, mean difference
(who scores higher), and the interviews where the two diverge most.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.errors import UsageError
from evaluator.scorecard import Draft, FinalScorecard


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def quadratic_weighted_kappa(a: list[int], b: list[int], lo: int, hi: int) -> float | None:
    """Cohen's kappa with quadratic weights for two raters on the ordinal scale lo..hi.

    kappa = 1 - sum(w_ij * O_ij) / sum(w_ij * E_ij), w_ij = (i - j)^2 / (k - 1)^2, E = outer(hist_a, hist_b) / n.
    None when undefined: no pairs, or both raters gave one and the same score throughout (no variation).
    """
    if len(a) != len(b):
        raise ValueError("the two raters need the same number of scores")
    k = hi - lo + 1
    n = len(a)
    if n == 0 or k < 2:
        return None
    obs = [[0] * k for _ in range(k)]
    for x, y in zip(a, b):
        if not (lo <= x <= hi and lo <= y <= hi):
            raise ValueError(f"score outside {lo}-{hi}: {x}, {y}")
        obs[x - lo][y - lo] += 1
    ha = [sum(row) for row in obs]
    hb = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    num = sum((i - j) ** 2 * obs[i][j] for i in range(k) for j in range(k))
    den = sum((i - j) ** 2 * ha[i] * hb[j] / n for i in range(k) for j in range(k))
    if den == 0:
        return None
    return 1.0 - num / den


# ---------------------------------------------------------------- models


class PairedScore(_Model):
    """Two scores of one criterion in one interview."""

    interview: str
    stage_id: str
    criterion_id: str
    reference: int
    other: int
    diff: int = Field(description="other - reference (positive: the other scorer is higher).")
    reference_file: str
    other_file: str
    reason: str = Field(default="", description="AI vs human: the reviewer's override reason.")


class CriterionAgreement(_Model):
    """Agreement on one criterion (or all criteria pooled)."""

    criterion_id: str
    criterion_name: str
    scale: tuple[int, int]
    n: int
    exact: float | None = Field(description="Share of pairs with the same score.")
    within_one: float | None
    kappa: float | None = Field(description="Quadratic weighted kappa; None when undefined.")
    mean_diff: float | None = Field(description="Mean of other - reference.")
    most_divergent: list[PairedScore] = Field(default_factory=list)


class InterviewDivergence(_Model):
    """How far apart the two scorers are on one interview."""

    interview: str
    stage_id: str
    n: int
    mean_abs_diff: float
    mean_diff: float


class OverrideStats(_Model):
    """How often reviewers override the AI on one criterion."""

    criterion_id: str
    criterion_name: str
    decisions: int
    ai_scored: int = Field(description="Decisions where the AI had proposed a score.")
    overrides: int = Field(description="Overrides of an AI score.")
    override_rate: float | None
    scored_by_person: int = Field(description="Criteria the AI left unscored (needs_reviewer/failed) that a person scored.")
    mean_change: float | None = Field(description="Mean of final - AI over overrides of an AI score.")
    reasons: list[str] = Field(default_factory=list)


class ReviewerOverrides(_Model):
    """One reviewer's override rate."""

    reviewer: str
    decisions: int
    overrides: int
    override_rate: float | None


class CalibrationReport(_Model):
    """Agreement between a reference scorer and another (a trainee, or the AI)."""

    kind: Literal["calibration"] = "calibration"
    mode: Literal["reference-vs-trainee", "ai-vs-human"]
    reference_label: str
    other_label: str
    interviews: int
    pairs: int
    overall: CriterionAgreement
    criteria: list[CriterionAgreement]
    divergent_interviews: list[InterviewDivergence]
    overrides: list[OverrideStats] = Field(default_factory=list)
    reviewers: list[ReviewerOverrides] = Field(default_factory=list)
    unpaired: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- computing


def _scores(card) -> dict[str, tuple[int | None, str, tuple[int, int]]]:
    """criterion id -> (score, name, scale); finals give the final score, drafts the AI's proposal."""
    if isinstance(card, FinalScorecard):
        return {c.criterion_id: (c.final_score, c.criterion_name, tuple(c.scale)) for c in card.criteria}
    return {p.criterion_id: (p.score, p.criterion_name, tuple(p.scale)) for p in card.scores}


def _interview_name(card) -> str:
    src = card.source.transcript_source or card.source.transcript_content_sha256[:12]
    return Path(src).name


def _agreement(cid: str, name: str, scale: tuple[int, int], pairs: list[PairedScore], top: int = 3) -> CriterionAgreement:
    n = len(pairs)
    if not n:
        return CriterionAgreement(criterion_id=cid, criterion_name=name, scale=scale, n=0, exact=None,
                                  within_one=None, kappa=None, mean_diff=None)
    a = [p.reference for p in pairs]
    b = [p.other for p in pairs]
    lo = min(scale[0], *a, *b)
    hi = max(scale[1], *a, *b)
    div = sorted((p for p in pairs if p.diff), key=lambda p: (-abs(p.diff), p.interview))[:top]
    return CriterionAgreement(
        criterion_id=cid, criterion_name=name, scale=scale, n=n,
        exact=round(sum(x == y for x, y in zip(a, b)) / n, 4),
        within_one=round(sum(abs(x - y) <= 1 for x, y in zip(a, b)) / n, 4),
        kappa=None if (k := quadratic_weighted_kappa(a, b, lo, hi)) is None else round(k, 4),
        mean_diff=round(sum(p.diff for p in pairs) / n, 4), most_divergent=div)


def _summarise(mode, ref_label, other_label, pairs: list[PairedScore], names: dict, scales: dict,
               interviews: int, unpaired: list[str], warnings: list[str]) -> CalibrationReport:
    by_crit: dict[str, list[PairedScore]] = {}
    for p in pairs:
        by_crit.setdefault(p.criterion_id, []).append(p)
    criteria = [_agreement(cid, names[cid], scales[cid], ps) for cid, ps in by_crit.items()]
    lo = min((s[0] for s in scales.values()), default=0)
    hi = max((s[1] for s in scales.values()), default=4)
    overall = _agreement("all", "All criteria", (lo, hi), pairs, top=5)
    per_iv: dict[tuple[str, str], list[PairedScore]] = {}
    for p in pairs:
        per_iv.setdefault((p.interview, p.stage_id), []).append(p)
    div = [InterviewDivergence(interview=iv, stage_id=st, n=len(ps),
                               mean_abs_diff=round(sum(abs(p.diff) for p in ps) / len(ps), 4),
                               mean_diff=round(sum(p.diff for p in ps) / len(ps), 4))
           for (iv, st), ps in per_iv.items()]
    div.sort(key=lambda d: (-d.mean_abs_diff, d.interview))
    return CalibrationReport(mode=mode, reference_label=ref_label, other_label=other_label, interviews=interviews,
                             pairs=len(pairs), overall=overall, criteria=criteria, divergent_interviews=div[:5],
                             unpaired=unpaired, warnings=warnings)


def _key(card) -> tuple[str, str]:
    return card.source.transcript_content_sha256, card.source.stage_id


def _index(cards: list[tuple[Path, object]], side: str, warnings: list[str]) -> dict:
    out: dict[tuple[str, str], tuple[Path, object]] = {}
    for p, c in cards:
        k = _key(c)
        if k in out:
            warnings.append(f"{side}: {p} and {out[k][0]} score the same interview and stage; using {p}")
        out[k] = (p, c)
    return out


def calibrate_reference(reference: list[tuple[Path, object]], trainee: list[tuple[Path, object]]) -> CalibrationReport:
    """Agreement of a trainee with a reference scorer over the interviews both scored."""
    warnings: list[str] = []
    for side, cards in (("reference", reference), ("trainee", trainee)):
        drafts = [str(p) for p, c in cards if isinstance(c, Draft)]
        if drafts:
            warnings.append(f"{side}: {len(drafts)} unreviewed draft(s) count with the AI's proposals: "
                            + ", ".join(drafts))
    ref = _index(reference, "reference", warnings)
    tra = _index(trainee, "trainee", warnings)
    unpaired = [f"reference only: {ref[k][0]}" for k in ref if k not in tra]
    unpaired += [f"trainee only: {tra[k][0]}" for k in tra if k not in ref]
    common = [k for k in ref if k in tra]
    if not common:
        raise UsageError("no interview was scored by both the reference and the trainee",
                         hint="pair scorecards of the same interview and stage (same transcript content)")
    pairs, names, scales = [], {}, {}
    for k in common:
        (rp, rc), (tp, tc) = ref[k], tra[k]
        rs, ts = _scores(rc), _scores(tc)
        for cid, (r, name, scale) in rs.items():
            if cid not in ts:
                continue
            t = ts[cid][0]
            if r is None or t is None:
                continue
            names.setdefault(cid, name)
            scales.setdefault(cid, scale)
            pairs.append(PairedScore(interview=_interview_name(rc), stage_id=k[1], criterion_id=cid, reference=r,
                                     other=t, diff=t - r, reference_file=str(rp), other_file=str(tp)))
    return _summarise("reference-vs-trainee", "reference", "trainee", pairs, names, scales, len(common), unpaired,
                      warnings)


def calibrate_ai_vs_human(finals: list[tuple[Path, object]]) -> CalibrationReport:
    """The AI's proposals against the humans' final scores, and how often and where reviewers override."""
    warnings: list[str] = []
    use = []
    for p, c in finals:
        if isinstance(c, FinalScorecard):
            use.append((p, c))
        else:
            warnings.append(f"{p}: a draft has no human decision; left out")
    if not use:
        raise UsageError("no final scorecards given", hint="give the final scorecards written by `review`")
    pairs, names, scales = [], {}, {}
    stats: dict[str, dict] = {}
    reviewers: dict[str, list[int]] = {}
    for path, card in use:
        for c in card.criteria:
            ai, fs, d = c.proposal.score, c.final_score, c.decision
            names.setdefault(c.criterion_id, c.criterion_name)
            scales.setdefault(c.criterion_id, tuple(c.scale))
            st = stats.setdefault(c.criterion_id, {"decisions": 0, "ai_scored": 0, "overrides": 0, "by_person": 0,
                                                   "changes": [], "reasons": []})
            st["decisions"] += 1
            r = reviewers.setdefault(d.reviewer, [0, 0])
            r[0] += 1
            if ai is None:
                if fs is not None:
                    st["by_person"] += 1
                continue
            st["ai_scored"] += 1
            changed = fs is not None and fs != ai
            if changed:
                st["overrides"] += 1
                st["changes"].append(fs - ai)
                r[1] += 1
                if d.reason:
                    st["reasons"].append(d.reason)
            if fs is not None:
                pairs.append(PairedScore(interview=_interview_name(card), stage_id=card.source.stage_id,
                                         criterion_id=c.criterion_id, reference=fs, other=ai, diff=ai - fs,
                                         reference_file=str(path), other_file=str(path),
                                         reason=d.reason if changed else ""))
    report = _summarise("ai-vs-human", "human (final)", "AI (proposal)", pairs, names, scales,
                        len({_key(c) for _, c in use}), [], warnings)
    report.overrides = [OverrideStats(
        criterion_id=cid, criterion_name=names[cid], decisions=s["decisions"], ai_scored=s["ai_scored"],
        overrides=s["overrides"], override_rate=round(s["overrides"] / s["ai_scored"], 4) if s["ai_scored"] else None,
        scored_by_person=s["by_person"],
        mean_change=round(sum(s["changes"]) / len(s["changes"]), 4) if s["changes"] else None,
        reasons=s["reasons"][:5]) for cid, s in stats.items()]
    report.overrides.sort(key=lambda o: -(o.override_rate or 0))
    report.reviewers = [ReviewerOverrides(reviewer=k, decisions=v[0], overrides=v[1],
                                          override_rate=round(v[1] / v[0], 4) if v[0] else None)
                        for k, v in sorted(reviewers.items())]
    return report


def calibrate_files(reference: list[str] | None = None, trainee: list[str] | None = None,
                    ai_vs_human: list[str] | None = None) -> CalibrationReport:
    """Load scorecard files or folders and calibrate (reference+trainee, or ai_vs_human)."""
    from evaluator.debrief import expand_scorecard_paths, load_scorecards

    if ai_vs_human:
        if reference or trainee:
            raise UsageError("--ai-vs-human does not combine with --reference/--trainee",
                             hint="run them as two commands")
        cards, warnings = load_scorecards(expand_scorecard_paths(ai_vs_human))
        report = calibrate_ai_vs_human(cards)
        report.warnings = warnings + report.warnings
        return report
    if not reference or not trainee:
        raise UsageError("give both --reference and --trainee (files or folders), or --ai-vs-human FINALS...",
                         hint="e.g. calibrate --reference ref/ --trainee trainee/")
    ref, w1 = load_scorecards(expand_scorecard_paths(reference))
    tra, w2 = load_scorecards(expand_scorecard_paths(trainee))
    report = calibrate_reference(ref, tra)
    report.warnings = w1 + w2 + report.warnings
    return report
