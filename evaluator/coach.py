"""Interviewer coaching: how well was this interview conducted? Judges the interviewer, never the candidate.

Everything here is offline and rule-based: talk time from segment times (or words), structure from the
alignment to the guide, question-quality and must-not-ask flags from the YAML rules in `evaluator/rules/`.
Every figure points at the segments behind it. An optional `reviewer` hook (e.g. an LLM pass) may add
flags; each is checked against the transcript and dropped if its quote is not in an interviewer turn.

Public API: `coach`, `coach_file`, `summarize`, `load_must_not_ask_rules`, `load_quality_rules`,
`find_must_not_ask`, `find_question_quality`, `measure_talk_time`, `check_structure`, `verify_flags`,
`render_coach_markdown`, `render_coach_html`, `render_summary_markdown`, and the pydantic models.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluator.errors import InputFileError, TranscriptError, UsageError
from evaluator.text import content_words, fmt_time, fold, normalize, sentences, words
from evaluator.transcript import Role, RoleAssignment, Segment, Transcript

REPORT_SCHEMA_VERSION = 1
FlagKind = Literal["must_not_ask", "hypothetical", "leading", "closed", "stacked"]
QUALITY_KINDS = ("hypothetical", "leading", "closed", "stacked")

# Speaking rate used only to estimate the length of a last turn that has a start but no end.
_WORDS_PER_S = 2.5
_SLOW_WORDS_PER_S = 1.0
# Interviewer share of talk above which the report suggests talking less (structured interviews: listen more).
TALK_SHARE_LIMIT = 0.45
LONG_MONOLOGUE_S = 90.0
LONG_MONOLOGUE_WORDS = 220
CATEGORY_NAMES = {
    "age": "age", "family_status": "family status", "pregnancy": "pregnancy", "religion": "religion",
    "national_origin": "national origin", "race_ethnicity": "race or ethnicity",
    "disability_health": "disability or health", "sexual_orientation_gender_identity":
    "sexual orientation or gender identity", "arrest_record": "arrests", "military_discharge": "military discharge",
    "salary_history": "salary history",
}


# ---------------------------------------------------------------- rules (user-authored: extra="forbid")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_regexes(values: list[str]) -> list[str]:
    for v in values:
        try:
            re.compile(v, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"bad regular expression {v!r}: {exc}") from None
    return values


class MustNotAskRule(_Strict):
    """One kind of question an interviewer must not ask."""

    id: str
    category: str
    patterns: list[str] = Field(min_length=1, description="Regexes searched (case-insensitive) in each sentence.")
    exceptions: list[str] = Field(default_factory=list, description="A sentence matching one is not flagged.")
    explanation: str
    lawful_alternative: str = ""

    _v = field_validator("patterns", "exceptions")(_check_regexes)


class MustNotAskRules(_Strict):
    """A must-not-ask rules file: the bundled one, or a company's `--rules` file merged over it."""

    version: str = "1"
    disable: list[str] = Field(default_factory=list, description="Rule ids to switch off (in an extra file).")
    rules: list[MustNotAskRule] = Field(default_factory=list)


class QualityRule(_Strict):
    """A question-form rule: hypothetical, leading or closed."""

    id: str
    kind: Literal["hypothetical", "leading", "closed"]
    patterns: list[str] = Field(min_length=1)
    exceptions: list[str] = Field(default_factory=list)
    explanation: str

    _v = field_validator("patterns", "exceptions")(_check_regexes)


class QualityRules(_Strict):
    """The question-quality rules file."""

    version: str = "1"
    rules: list[QualityRule]
    trivial_questions: list[str] = Field(default_factory=list)

    _v = field_validator("trivial_questions")(_check_regexes)


def _bundled_rule_text(name: str) -> tuple[str, str]:
    ref = resources.files("evaluator").joinpath("rules", name)
    return ref.read_text(encoding="utf-8"), f"evaluator/rules/{name}"


def _parse_rules(text: str, source: str, model: type[BaseModel]):
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from evaluator.files import yaml_syntax_error

        raise yaml_syntax_error(exc, source, InputFileError, "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: expected a mapping with a `rules:` list",
                             hint="see evaluator/rules/must_not_ask.yaml for the schema")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        rule_id = ""
        if len(err["loc"]) >= 2 and err["loc"][0] == "rules" and isinstance(err["loc"][1], int):
            try:
                rule_id = f" (rule {data['rules'][err['loc'][1]].get('id', '?')!r})"
            except Exception:  # noqa: BLE001 - best effort for the message only
                pass
        raise InputFileError(f"{source}: {loc}{rule_id}: {err['msg']}",
                             hint="rules need id, category, patterns, explanation; optional exceptions, "
                                  "lawful_alternative; no other keys") from None


def load_must_not_ask_rules(extra: list[str | Path] | None = None) -> MustNotAskRules:
    """The bundled must-not-ask rules, with each `extra` file merged over them (same id replaces; `disable` drops)."""
    from evaluator.files import read_text

    text, src = _bundled_rule_text("must_not_ask.yaml")
    merged: dict[str, MustNotAskRule] = {r.id: r for r in _parse_rules(text, src, MustNotAskRules).rules}
    versions = [_parse_rules(text, src, MustNotAskRules).version]
    for path in extra or []:
        extra_rules = _parse_rules(read_text(path, what="rules file"), str(path), MustNotAskRules)
        versions.append(f"{Path(path).name}:{extra_rules.version}")
        for rid in extra_rules.disable:
            if rid not in merged:
                raise InputFileError(f"{path}: disable: no rule with id {rid!r}",
                                     hint="known ids: " + ", ".join(sorted(merged)))
            merged.pop(rid)
        for r in extra_rules.rules:
            merged[r.id] = r
    return MustNotAskRules(version="+".join(versions), rules=list(merged.values()))


@lru_cache(maxsize=1)
def load_quality_rules() -> QualityRules:
    """The bundled question-quality rules (hypothetical, leading, closed; trivial questions)."""
    text, src = _bundled_rule_text("question_quality.yaml")
    return _parse_rules(text, src, QualityRules)


@lru_cache(maxsize=512)
def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _first_match(patterns: list[str], text: str) -> re.Match | None:
    for p in patterns:
        m = _rx(p).search(text)
        if m:
            return m
    return None


# ---------------------------------------------------------------- report models


class LineRef(BaseModel):
    """A pointer to one transcript line: segment, time, speaker and the exact text."""

    segment_id: str
    start_s: float | None = None
    time: str = "--:--"
    speaker: str = ""
    text: str = ""


class Flag(BaseModel):
    """One problem with an interviewer question, tied to the exact line."""

    kind: FlagKind
    rule_id: str
    category: str | None = Field(default=None, description="Must-not-ask category (age, religion, ...).")
    segment_id: str
    start_s: float | None = None
    time: str = "--:--"
    line: str = Field(description="The interviewer's whole turn, verbatim.")
    quote: str = Field(description="The sentence(s) that triggered the flag, verbatim from the line.")
    explanation: str
    lawful_alternative: str | None = None
    guide_question_id: str | None = None
    guide_question_text: str | None = None
    source: Literal["rules", "llm"] = "rules"


class SpeakerShare(BaseModel):
    """How much one speaker talked."""

    speaker: str
    role: Role
    turns: int
    words: int
    seconds: float | None = None
    share: float = Field(description="Share of speaking time, or of words when basis is 'words'.")


class Monologue(BaseModel):
    """The interviewer's longest run of speech without the candidate speaking."""

    segment_ids: list[str]
    start_s: float | None = None
    end_s: float | None = None
    duration_s: float | None = None
    words: int
    time: str = "--:--"
    excerpt: str = ""


class Interruption(BaseModel):
    """One speaker starting before the other finished (overlap) or cutting them off (marked in the text)."""

    segment_id: str = Field(description="The turn that interrupted.")
    interrupted_segment_id: str
    by_role: Role
    start_s: float | None = None
    time: str = "--:--"
    overlap_s: float | None = None
    evidence: Literal["overlap", "cut-off"] = "overlap"


class TalkTime(BaseModel):
    """Each party's share of the talking, with the basis it was measured on."""

    basis: Literal["time", "words"]
    note: str = ""
    interviewer_share: float | None = None
    candidate_share: float | None = None
    speakers: list[SpeakerShare]
    longest_monologue: Monologue | None = None
    interruptions: list[Interruption] = Field(default_factory=list)
    overlaps_measurable: bool = False


class QuestionCoverage(BaseModel):
    """One guide question: asked or not, where, for how long, with which follow-ups."""

    question_id: str
    text: str
    asked: bool
    confidence: float | None = None
    segment_ids: list[str] = Field(default_factory=list)
    start_s: float | None = None
    time: str = "--:--"
    time_spent_s: float | None = None
    follow_ups_used: list[str] = Field(default_factory=list)
    follow_up_segment_ids: list[str] = Field(default_factory=list)
    asked_position: int | None = Field(default=None, description="1-based position in the order they were asked.")


class DirectionsCheck(BaseModel):
    """Whether the stage's 'Directions to Share with Candidate' were given."""

    applicable: bool
    given: bool = False
    score: float = 0.0
    segment_ids: list[str] = Field(default_factory=list)
    start_s: float | None = None
    time: str = "--:--"
    excerpt: str = ""
    expected: str = ""


class Structure(BaseModel):
    """How the interview followed the guide stage."""

    available: bool
    note: str = ""
    questions: list[QuestionCoverage] = Field(default_factory=list)
    asked: int = 0
    total: int = 0
    skipped: list[str] = Field(default_factory=list, description="Ids of guide questions not asked.")
    out_of_order: list[str] = Field(default_factory=list, description="Ids asked before an earlier guide question.")
    order_followed: bool | None = None
    follow_ups_used: int = 0
    extra_questions: list[LineRef] = Field(default_factory=list)
    directions: DirectionsCheck | None = None
    candidate_questions: LineRef | None = Field(default=None, description="Where the candidate was invited to ask.")
    candidate_questions_time_s: float | None = None
    warnings: list[str] = Field(default_factory=list)


class Recommendation(BaseModel):
    """One thing to do differently next time, tied to lines."""

    rank: int
    kind: str
    title: str
    detail: str
    lines: list[LineRef] = Field(default_factory=list)


class CoachReport(BaseModel):
    """The coaching report for one interview: the source of truth for every rendering."""

    schema_version: int = REPORT_SCHEMA_VERSION
    source: str | None = None
    transcript_sha256: str | None = None
    guide_id: str | None = None
    guide_version: str | None = None
    stage_id: str | None = None
    stage_name: str | None = None
    stage_kind: str | None = None
    interviewer: str | None = None
    candidate: str | None = None
    roles: list[RoleAssignment] = Field(default_factory=list)
    roles_note: str = ""
    rules_version: str = ""
    llm_used: bool = False
    talk_time: TalkTime
    structure: Structure
    must_not_ask: list[Flag] = Field(default_factory=list)
    question_quality: list[Flag] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def flags(self) -> list[Flag]:
        """All flags in transcript order."""
        return sorted(self.must_not_ask + self.question_quality, key=lambda f: (f.segment_id, f.kind))

    def counts(self) -> dict[str, int]:
        """Number of flags of each kind."""
        out = {k: 0 for k in ("must_not_ask",) + QUALITY_KINDS}
        for f in self.must_not_ask + self.question_quality:
            out[f.kind] += 1
        return out


class SummaryRow(BaseModel):
    """One interviewer across a batch of interviews."""

    interviewer: str
    interviews: int
    sources: list[str]
    mean_interviewer_share: float | None = None
    questions_asked: int = 0
    questions_total: int = 0
    directions_given: int = 0
    must_not_ask: int = 0
    hypothetical: int = 0
    leading: int = 0
    closed: int = 0
    stacked: int = 0


class CoachSummary(BaseModel):
    """A batch: one row per interviewer, and every report."""

    schema_version: int = REPORT_SCHEMA_VERSION
    rows: list[SummaryRow]
    reports: list[CoachReport]
    errors: list[str] = Field(default_factory=list, description="Inputs that could not be coached, one line each.")


# ---------------------------------------------------------------- helpers


def _ref(seg: Segment) -> LineRef:
    return LineRef(segment_id=seg.id, start_s=seg.start_s, time=fmt_time(seg.start_s), speaker=seg.speaker,
                   text=seg.text)


def _match_text(s: str) -> str:
    return fold(s).replace("\u2026", "...")


def ends_are_derived(t: Transcript) -> bool:
    """True when end times are missing or merely copied from the next turn's start (txt readers do this)."""
    segs = t.segments
    for i, seg in enumerate(segs):
        if seg.end_s is None:
            continue
        nxt = next((x.start_s for x in segs[i + 1:] if x.start_s is not None), None)
        if nxt is None or abs(seg.end_s - nxt) > 1e-6:
            return False
    return True


def turn_ends(t: Transcript) -> list[float | None]:
    """End time of every turn. Real end times are kept. Missing or derived ones run to the next start, but no
    longer than the words could take at a slow pace: a gap before the next line is nobody's speaking time."""
    derived = ends_are_derived(t)
    out: list[float | None] = []
    segs = t.segments
    for i, seg in enumerate(segs):
        if seg.start_s is None:
            out.append(seg.end_s)
            continue
        if seg.end_s is not None and not derived:
            out.append(seg.end_s)
            continue
        longest = max(2.0, len(words(seg.text)) / _SLOW_WORDS_PER_S)
        nxt = next((x.start_s for x in segs[i + 1:] if x.start_s is not None and x.start_s >= seg.start_s), None)
        if nxt is not None:
            out.append(min(nxt, seg.start_s + longest))
        else:
            out.append(seg.start_s + len(words(seg.text)) / _WORDS_PER_S)
    return out


def _transcript_end(t: Transcript) -> float | None:
    if not t.has_times:
        return None
    return max((e or 0.0) for e in turn_ends(t))


def _interviewer_segments(t: Transcript) -> list[Segment]:
    return [s for s in t.segments if s.role == Role.interviewer]


def _word_similarity(a: str, b: str) -> tuple[float, int]:
    """Share of `a`'s content words that have a near match in `b` (handles 'upsell'/'upsold'), and how many."""
    from rapidfuzz import fuzz

    wa = list(dict.fromkeys(content_words(a)))
    wb = set(content_words(b))
    if not wa or not wb:
        return 0.0, 0
    hits = sum(1 for w in wa if w in wb or any(fuzz.ratio(w, x) >= 80 for x in wb if abs(len(w) - len(x)) <= 3))
    return hits / len(wa), hits


# ---------------------------------------------------------------- roles


def prepare_transcript(t: Transcript, *, interviewer: str | None = None, candidate: str | None = None,
                       question_texts: list[str] | None = None) -> tuple[Transcript, str]:
    """Make sure interviewer and candidate roles are set; return the transcript and a sentence on how.

    Names given on the command line win. Otherwise roles already in the transcript are kept, then
    `evaluator.roles.assign_roles` is used when available. Refuses a transcript with one speaker or
    without an identifiable interviewer, saying how to fix it.
    """
    if not t.segments:
        raise TranscriptError(f"{t.meta.source or 'transcript'}: no segments", hint="give a transcript with speech")
    speakers = [s for s in t.speakers]
    src = t.meta.source or "transcript"
    if len(speakers) < 2 and speakers != [""]:  # no labels at all: roles can still be guessed per segment
        name = speakers[0]
        raise TranscriptError(
            f"{src}: only one speaker ({name}); coaching compares the interviewer's and the candidate's turns",
            hint="give a transcript with speaker labels for both people ('Name: text' lines, VTT <v Name> tags), "
                 "or re-run transcription with diarisation")
    try:
        from evaluator.roles import assign_roles
    except ImportError:  # roles.py not installed yet: a small fallback of our own
        assign_roles = None
    if assign_roles is not None:
        t = assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=question_texts)
    else:
        t = _fallback_roles(t, interviewer, candidate, src)
    if not _interviewer_segments(t):
        raise TranscriptError(f"{src}: could not tell which speaker is the interviewer "
                              f"(speakers: {', '.join(speakers)})",
                              hint="name them: --interviewer NAME --candidate NAME")
    if not t.by_role(Role.candidate):
        raise TranscriptError(f"{src}: no candidate turns found (speakers: {', '.join(speakers)})",
                              hint="name them: --interviewer NAME --candidate NAME")
    return t, _roles_note(t)


def _fallback_roles(t: Transcript, interviewer: str | None, candidate: str | None, src: str) -> Transcript:
    """Roles without `evaluator.roles`: names given win, else the speaker asking most questions interviews."""
    t = t.model_copy(deep=True)
    speakers = t.speakers
    if not (interviewer or candidate):
        if any(seg.role in (Role.interviewer, Role.candidate) for seg in t.segments):
            return t
        return _infer_roles_by_questions(t)
    by_lower = {sp.lower(): sp for sp in speakers}
    chosen: dict[str, Role] = {}
    for name, role in ((interviewer, Role.interviewer), (candidate, Role.candidate)):
        if name is None:
            continue
        if name.lower() not in by_lower:
            raise UsageError(f"no speaker named {name!r} in {src}",
                             hint="speakers are: " + ", ".join(repr(sp) for sp in speakers))
        chosen[by_lower[name.lower()]] = role
    given = set(chosen)
    rest = [sp for sp in speakers if sp not in chosen]
    missing = {Role.interviewer, Role.candidate} - set(chosen.values())
    if missing and len(rest) == 1:
        chosen[rest[0]] = missing.pop()
    for seg in t.segments:
        seg.role = chosen.get(seg.speaker, Role.other)
    t.meta.roles = [RoleAssignment(speaker=sp, role=chosen.get(sp, Role.other),
                                   method="option" if sp in given else "default",
                                   evidence="named on the command line" if sp in given else "the only other speaker")
                    for sp in speakers]
    return t


def _infer_roles_by_questions(t: Transcript) -> Transcript:
    """Fallback when `evaluator.roles` is missing: the speaker who asks the most questions is the interviewer."""
    counts = {s: [0, 0] for s in t.speakers}
    for seg in t.segments:
        counts[seg.speaker][0] += 1
        counts[seg.speaker][1] += seg.text.count("?")
    ranked = sorted(counts, key=lambda s: counts[s][1], reverse=True)
    top, second = ranked[0], ranked[1]
    total_q = sum(v[1] for v in counts.values()) or 1
    conf = round(counts[top][1] / total_q, 2)
    roles = {top: Role.interviewer, second: Role.candidate}
    for seg in t.segments:
        seg.role = roles.get(seg.speaker, Role.other)
    t.meta.roles = [RoleAssignment(speaker=s, role=roles.get(s, Role.other), method="inferred", confidence=conf,
                                   evidence=f"asked {counts[s][1]} of {total_q} questions") for s in t.speakers]
    return t


def _roles_note(t: Transcript) -> str:
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


# ---------------------------------------------------------------- talk time


def measure_talk_time(t: Transcript) -> TalkTime:
    """Each party's share of speaking time (of words when there are no timestamps), the longest interviewer
    monologue, and interruptions and overlaps where the timestamps or the text show them."""
    timed = t.has_times
    ends_given = timed and all(s.end_s is not None for s in t.segments) and not ends_are_derived(t)
    ends = turn_ends(t)
    per: dict[str, dict[str, Any]] = {}
    for i, seg in enumerate(t.segments):
        d = per.setdefault(seg.speaker, {"role": seg.role, "turns": 0, "words": 0, "seconds": 0.0})
        d["turns"] += 1
        d["words"] += len(words(seg.text))
        if timed:
            d["seconds"] += max(0.0, (ends[i] or seg.start_s) - seg.start_s)
    basis = "time" if timed else "words"
    key = "seconds" if timed else "words"
    total = sum(d[key] for d in per.values()) or 1
    speakers = [SpeakerShare(speaker=s, role=d["role"], turns=d["turns"], words=d["words"],
                             seconds=round(d["seconds"], 1) if timed else None, share=round(d[key] / total, 3))
                for s, d in per.items()]

    def role_share(role: Role) -> float:
        return round(sum(d[key] for d in per.values() if d["role"] == role) / total, 3)

    if not timed:
        note = ("No timestamps in the transcript: shares are of words spoken, not of time; "
                "interruptions, overlaps and time per question cannot be measured.")
    elif not ends_given:
        note = ("Shares are of speaking time estimated from start times only: a turn lasts until the next one "
                "starts, but at most one second per word, so short pauses count towards the speaker and overlaps "
                "cannot be seen.")
    else:
        note = "Shares are of speaking time from the segment start and end times."
    return TalkTime(basis=basis, note=note, interviewer_share=role_share(Role.interviewer),
                    candidate_share=role_share(Role.candidate), speakers=speakers,
                    longest_monologue=_longest_monologue(t, timed, ends),
                    interruptions=_interruptions(t, ends_given), overlaps_measurable=ends_given)


def _longest_monologue(t: Transcript, timed: bool, ends: list[float | None]) -> Monologue | None:
    runs: list[list[int]] = []
    current: list[int] = []
    for i, seg in enumerate(t.segments):
        if seg.role == Role.interviewer:
            current.append(i)
        elif seg.role == Role.candidate:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    if not runs:
        return None

    def size(run: list[int]) -> float:
        if timed:
            return sum(max(0.0, (ends[i] or 0) - t.segments[i].start_s) for i in run)
        return sum(len(words(t.segments[i].text)) for i in run)

    best = max(runs, key=size)
    segs = [t.segments[i] for i in best]
    nwords = sum(len(words(s.text)) for s in segs)
    text = " ".join(s.text for s in segs)
    return Monologue(segment_ids=[s.id for s in segs], start_s=segs[0].start_s,
                     end_s=ends[best[-1]] if timed else None,
                     duration_s=round(size(best), 1) if timed else None, words=nwords,
                     time=fmt_time(segs[0].start_s), excerpt=text[:160] + ("..." if len(text) > 160 else ""))


_CUT_OFF = re.compile(r"(--|\u2014|\u2013|-|\.\.\.|\u2026)\s*$")


def _interruptions(t: Transcript, ends_given: bool) -> list[Interruption]:
    out: list[Interruption] = []
    segs = t.segments
    for i in range(1, len(segs)):
        prev, cur = segs[i - 1], segs[i]
        if prev.speaker == cur.speaker or cur.role not in (Role.interviewer, Role.candidate):
            continue
        if ends_given and prev.end_s is not None and cur.start_s is not None and cur.start_s < prev.end_s - 0.2:
            out.append(Interruption(segment_id=cur.id, interrupted_segment_id=prev.id, by_role=cur.role,
                                    start_s=cur.start_s, time=fmt_time(cur.start_s),
                                    overlap_s=round(prev.end_s - cur.start_s, 1), evidence="overlap"))
        elif _CUT_OFF.search(prev.text.strip()) and not prev.text.strip().endswith("?"):
            out.append(Interruption(segment_id=cur.id, interrupted_segment_id=prev.id, by_role=cur.role,
                                    start_s=cur.start_s, time=fmt_time(cur.start_s), evidence="cut-off"))
    return out


# ---------------------------------------------------------------- must not ask


def find_must_not_ask(t: Transcript, rules: MustNotAskRules | None = None) -> list[Flag]:
    """Interviewer sentences that touch a protected characteristic. One flag per segment and category.

    Only interviewer turns are judged: a candidate volunteering personal information is never flagged.
    """
    rules = rules or load_must_not_ask_rules()
    flags: list[Flag] = []
    for seg in _interviewer_segments(t):
        hits: dict[str, tuple[MustNotAskRule, list[str]]] = {}
        for sent in sentences(seg.text):
            text = _match_text(sent)
            for rule in rules.rules:
                if _first_match(rule.patterns, text) and not _first_match(rule.exceptions, text):
                    entry = hits.setdefault(rule.category, (rule, []))
                    if sent not in entry[1]:
                        entry[1].append(sent)
        for category, (rule, sents) in hits.items():
            flags.append(Flag(kind="must_not_ask", rule_id=rule.id, category=category, segment_id=seg.id,
                              start_s=seg.start_s, time=fmt_time(seg.start_s), line=seg.text, quote=" ".join(sents),
                              explanation=" ".join(rule.explanation.split()),
                              lawful_alternative=" ".join(rule.lawful_alternative.split()) or None))
    return flags


# ---------------------------------------------------------------- question quality

_PAST_BEHAVIOUR = re.compile(
    r"^\s*(tell me about (a|an|the) (time|situation|occasion|example)|describe (a|an) (time|situation|occasion)|"
    r"give me (an|a) (example|instance)|can you give me an example|walk me through (a|an) (time|situation|example)|"
    r"tell me about your most)|\b(did you|have you|you've|you have had|was it|were you)\b",
    re.IGNORECASE)
_AVOID_HYPOTHETICAL = re.compile(r"avoid hypothetical|past (experiences?|behaviou?r)|specific experiences from your "
                                 r"past", re.IGNORECASE)
# "..., and what ..." joins two questions; "..., or did you ..." is usually one either/or question.
_CLAUSE_SPLIT = re.compile(r",\s*and\s+(?=(?:what|how|why|who|when|where|which|did|do|does|were|was|are|is|"
                           r"have|had|could|would|can)\b)", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|yeah|yep|yup|no|nope|nah|partly|sure|correct|once|sometimes|not really|a little|"
                     r"definitely|absolutely|of course|i did|i have|i was)\b", re.IGNORECASE)


def _stage_questions(stage) -> list[tuple[str, str]]:
    """(id, text) of the stage's questions and their follow-ups (follow-ups keep the question's id)."""
    out: list[tuple[str, str]] = []
    for q in getattr(stage, "questions", None) or []:
        out.append((q.id, q.text))
        out += [(q.id, f) for f in (getattr(q, "follow_ups", None) or [])]
    return out


def _is_closed_text(text: str) -> bool:
    rules = [r for r in load_quality_rules().rules if r.kind == "closed"]
    return any(_first_match(r.patterns, _match_text(s)) and not _first_match(r.exceptions, _match_text(s))
               for r in rules for s in sentences(text))


def _best_guide_match(sentence: str, stage, *, only_past: bool = False) -> tuple[Any, float, int]:
    best = (None, 0.0, 0)
    for q in getattr(stage, "questions", None) or []:
        if only_past and not _PAST_BEHAVIOUR.search(q.text):
            continue
        for text in [q.text] + list(getattr(q, "follow_ups", None) or []):
            score, hits = _word_similarity(sentence, text)
            if (score, hits) > (best[1], best[2]):
                best = (q, score, hits)
    return best


def _is_guide_text(sentence: str, stage) -> bool:
    """True when the sentence is (nearly) the guide's own wording of a question or follow-up."""
    from rapidfuzz import fuzz

    s = normalize(sentence)
    if len(s.split()) < 3:
        return False
    for _, text in _stage_questions(stage):
        if fuzz.partial_ratio(s, normalize(text)) >= 88 and len(s) <= len(normalize(text)) + 10:
            return True
    return False


def _hypothetical_applies(stage) -> bool:
    if stage is None:
        return True
    kind = str(getattr(getattr(stage, "kind", None), "value", getattr(stage, "kind", "")) or "")
    if kind in ("work-sample", "reference-check", "debrief"):
        return False
    if _AVOID_HYPOTHETICAL.search(getattr(stage, "directions_interviewer", "") or ""):
        return True
    return any(_PAST_BEHAVIOUR.search(q.text) for q in getattr(stage, "questions", None) or [])


def _is_role_play(stage) -> bool:
    kind = str(getattr(getattr(stage, "kind", None), "value", getattr(stage, "kind", "")) or "")
    return kind == "work-sample"


def _next_reply(t: Transcript, seg: Segment) -> Segment | None:
    idx = t.segments.index(seg)
    for nxt in t.segments[idx + 1:]:
        if nxt.role == Role.candidate:
            return nxt
        if nxt.role == Role.interviewer:
            return None
    return None


def _short_yes_no(reply: Segment | None) -> bool:
    if reply is None:
        return False
    w = words(reply.text)
    return 0 < len(w) <= 6 and bool(_YES_NO.search(reply.text))


def find_question_quality(t: Transcript, stage=None, *, skip_segments: set[str] | None = None) -> list[Flag]:
    """Hypothetical, leading, closed and stacked questions in the interviewer's turns.

    - hypothetical: only where the stage asks for past behaviour (not in role-plays, debriefs, reference checks);
    - closed: a yes/no question that stands in for an open guide question, probes experience with "ever",
      or got a bare yes/no reply (logistics such as work authorisation or schedule are fine);
    - stacked: two or more real questions in one turn, not counting the guide's own wording;
    - at most one of hypothetical/leading/closed per turn (the first that applies in that order), plus stacked.
    Segments in `skip_segments` (e.g. already flagged must-not-ask) are not judged for form.
    """
    qrules = load_quality_rules()
    skip = skip_segments or set()
    if _is_role_play(stage):
        return []
    hyp_ok = _hypothetical_applies(stage)
    by_kind = {k: [r for r in qrules.rules if r.kind == k] for k in ("hypothetical", "leading", "closed")}
    flags: list[Flag] = []
    for seg in _interviewer_segments(t):
        if seg.id in skip:
            continue
        sents = sentences(seg.text)
        found: dict[str, tuple[QualityRule, list[str]]] = {}
        for sent in sents:
            text = _match_text(sent)
            if stage is not None and _is_guide_text(sent, stage):
                continue
            for kind in ("leading", "hypothetical", "closed"):
                if kind == "hypothetical" and not hyp_ok:
                    continue
                for rule in by_kind[kind]:
                    if _first_match(rule.patterns, text) and not _first_match(rule.exceptions, text):
                        found.setdefault(kind, (rule, []))[1].append(sent)
                        break
        chosen = None
        for kind in ("leading", "hypothetical", "closed"):
            if kind in found:
                if kind == "closed":
                    res = _closed_flag(t, seg, found[kind], stage)
                    if res:
                        chosen = res
                else:
                    rule, ss = found[kind]
                    gq = _best_guide_match(" ".join(ss), stage, only_past=True) if (
                        stage is not None and kind == "hypothetical") else (None, 0, 0)
                    q = gq[0] if gq[2] >= 2 or gq[1] >= 0.4 else None
                    chosen = _mk_flag(kind, rule.id, seg, ss, " ".join(rule.explanation.split()), q)
                if chosen:
                    break
        if chosen:
            flags.append(chosen)
        stacked = _stacked_flag(seg, sents, stage, qrules)
        if stacked:
            flags.append(stacked)
    return flags


def _mk_flag(kind: str, rule_id: str, seg: Segment, sents: list[str], explanation: str, q=None) -> Flag:
    if q is not None:
        explanation += f' The guide asks: "{q.text}"'
    return Flag(kind=kind, rule_id=rule_id, segment_id=seg.id, start_s=seg.start_s, time=fmt_time(seg.start_s),
                line=seg.text, quote=" ".join(sents), explanation=explanation,
                guide_question_id=getattr(q, "id", None), guide_question_text=getattr(q, "text", None))


def _closed_flag(t: Transcript, seg: Segment, found: tuple[QualityRule, list[str]], stage) -> Flag | None:
    rule, sents = found
    # A turn that also asks something open is not a closed question.
    others = [s for s in sentences(seg.text) if s not in sents and s.rstrip().endswith("?")]
    if others:
        return None
    quote = " ".join(sents)
    q = None
    if stage is not None:
        cand, score, hits = _best_guide_match(quote, stage)
        if cand is not None and hits >= 2 and score >= 0.4 and not _is_closed_text(cand.text):
            q = cand
    ever = re.search(r"\bever\b", quote, re.IGNORECASE) is not None
    if not (q or ever or _short_yes_no(_next_reply(t, seg))):
        return None
    return _mk_flag("closed", rule.id, seg, sents, " ".join(rule.explanation.split()), q)


def _question_units(sent: str) -> list[str]:
    return [p for p in _CLAUSE_SPLIT.split(sent) if p and not re.fullmatch(
        r"(what|how|why|who|when|where|which|did|do|does|were|was|are|is|have|had|could|would|can)", p, re.I)]


def _stacked_flag(seg: Segment, sents: list[str], stage, qrules: QualityRules) -> Flag | None:
    units: list[str] = []
    for sent in sents:
        if not sent.rstrip().endswith("?"):
            continue
        text = _match_text(sent)
        if _first_match(qrules.trivial_questions, text) or len(words(sent)) < 3:
            continue
        if stage is not None and _is_guide_text(sent, stage):
            continue
        parts = _question_units(sent)
        units += parts if len(parts) > 1 else [sent]
    if len(units) < 2:
        return None
    qs = [s for s in sents if s.rstrip().endswith("?")]
    return Flag(kind="stacked", rule_id="stacked-questions", segment_id=seg.id, start_s=seg.start_s,
                time=fmt_time(seg.start_s), line=seg.text, quote=" ".join(qs),
                explanation=(f"{len(units)} questions in one turn: the candidate will answer one (usually the "
                             "last or the easiest) and the others go unanswered. Ask one question, wait for the "
                             "answer, then follow up."))


# ---------------------------------------------------------------- structure

_INVITE_QUESTIONS = re.compile(
    r"\b(what|any|other) questions (do you have|have you got|for me|for us|about the (role|company|team))|"
    r"\b(do|did) you have any (other |more |final )?questions\b(?! before)|"
    r"\banything (you'?d|you would) like to ask\b|\bquestions for me\b|\bwhat would you like to know\b",
    re.IGNORECASE)


def check_directions(t: Transcript, stage) -> DirectionsCheck:
    """Were the stage's 'Directions to Share with Candidate' given? Fuzzy-match the interviewer's early turns."""
    from rapidfuzz import fuzz

    expected = (getattr(stage, "directions_candidate", "") or "").strip().strip('"\u201c\u201d').strip()
    if not expected:
        return DirectionsCheck(applicable=False)
    early = _interviewer_segments(t)[:6]
    if t.has_times and t.segments:
        end = _transcript_end(t) or 0
        limit = max(180.0, 0.3 * end)
        early = [s for s in early if s.start_s is not None and s.start_s <= limit] or early[:2]
    exp_words = set(content_words(expected))
    best = DirectionsCheck(applicable=True, expected=expected)
    for i in range(len(early)):
        for j in range(i, min(i + 3, len(early))):
            window = early[i:j + 1]
            text = " ".join(s.text for s in window)
            got = set(content_words(text))
            coverage = len(exp_words & got) / (len(exp_words) or 1)
            ratio = fuzz.partial_ratio(normalize(expected), normalize(text)) / 100 if len(text) > 40 else 0
            score = round(max(coverage, ratio), 2)
            if score > best.score:
                best = DirectionsCheck(applicable=True, given=score >= 0.55, score=score,
                                       segment_ids=[s.id for s in window], start_s=window[0].start_s,
                                       time=fmt_time(window[0].start_s), excerpt=text[:200], expected=expected)
    if not best.given:
        best.segment_ids, best.excerpt = ([], "") if best.score < 0.3 else (best.segment_ids, best.excerpt)
    return best


def check_structure(t: Transcript, stage, alignment=None) -> Structure:
    """Guide questions asked and skipped, order, time per question, follow-ups, directions given, and the time
    left for the candidate's own questions. Needs the stage; the alignment comes from `evaluator.align`."""
    if stage is None:
        return Structure(available=False, note="No guide stage given: structure cannot be checked "
                                               "(pass --guide and --stage).",
                         candidate_questions=None)
    st = Structure(available=True, directions=check_directions(t, stage))
    _candidate_question_time(t, st)
    questions = getattr(stage, "questions", None) or []
    if not questions:
        st.note = "This stage has no scripted questions (e.g. a role-play): only the directions are checked."
        return st
    if alignment is None:
        st.available = False
        st.note = "Question alignment is not available (evaluator.align): questions asked and skipped not checked."
        return st
    st.warnings = list(getattr(alignment, "warnings", []) or [])
    end = _transcript_end(t)
    matches = list(getattr(alignment, "questions", []) or [])
    asked = sorted([m for m in matches if getattr(m, "asked", False)],
                   key=lambda m: (m.start_s if m.start_s is not None else float("inf")))
    starts = [m.start_s for m in asked]
    guide_index = {q.id: i for i, q in enumerate(questions)}
    max_idx = -1
    for pos, m in enumerate(asked):
        idx = guide_index.get(m.question_id, -1)
        if idx < max_idx:
            st.out_of_order.append(m.question_id)
        max_idx = max(max_idx, idx)
    for m in matches:
        fus = [f for f in (getattr(m, "follow_ups", None) or []) if getattr(f, "asked", False)]
        spent = None
        if m.asked and m.start_s is not None:
            later = [s for s in starts if s is not None and s > m.start_s]
            stop = min(later) if later else (getattr(m, "answer_end_s", None) or end)
            spent = round(stop - m.start_s, 1) if stop is not None else None
        st.questions.append(QuestionCoverage(
            question_id=m.question_id, text=m.text, asked=bool(m.asked), confidence=getattr(m, "confidence", None),
            segment_ids=list(getattr(m, "segment_ids", []) or []), start_s=m.start_s, time=fmt_time(m.start_s),
            time_spent_s=spent, follow_ups_used=[f.text for f in fus],
            follow_up_segment_ids=[f.segment_id for f in fus if getattr(f, "segment_id", None)],
            asked_position=(asked.index(m) + 1) if m in asked else None))
    st.asked = sum(1 for q in st.questions if q.asked)
    st.total = len(st.questions)
    st.skipped = [q.question_id for q in st.questions if not q.asked]
    st.order_followed = not st.out_of_order
    st.follow_ups_used = sum(len(q.follow_ups_used) for q in st.questions)
    for ex in getattr(alignment, "extra_questions", None) or []:
        try:
            seg = t.segment(ex.segment_id)
            st.extra_questions.append(_ref(seg))
        except KeyError:
            st.extra_questions.append(LineRef(segment_id=ex.segment_id, start_s=ex.start_s,
                                              time=fmt_time(ex.start_s), text=ex.text))
    return st


def _candidate_question_time(t: Transcript, st: Structure) -> None:
    segs = _interviewer_segments(t)
    n = len(t.segments)
    invites = [s for s in segs if _INVITE_QUESTIONS.search(_match_text(s.text))
               and t.segments.index(s) >= n * 0.5]
    if not invites:
        return
    seg = invites[-1]
    st.candidate_questions = _ref(seg)
    end = _transcript_end(t)
    if end is not None and seg.start_s is not None:
        st.candidate_questions_time_s = round(end - seg.start_s, 1)


# ---------------------------------------------------------------- recommendations


def _refs_for(t: Transcript, ids: list[str]) -> list[LineRef]:
    out = []
    for i in dict.fromkeys(ids):
        try:
            out.append(_ref(t.segment(i)))
        except KeyError:
            continue
    return out


def recommend(t: Transcript, report: CoachReport, limit: int = 3) -> list[Recommendation]:
    """The most useful things to do differently, each tied to lines. Ranked: must-not-ask, skipped questions,
    hypothetical/leading, talk-time imbalance, directions, closed, stacked, no time for the candidate's questions."""
    recs: list[tuple[str, str, str, list[str]]] = []
    mna = report.must_not_ask
    if mna:
        cats = list(dict.fromkeys(f.category or "" for f in mna))
        alts = list(dict.fromkeys(f.lawful_alternative for f in mna if f.lawful_alternative))
        names = [CATEGORY_NAMES.get(c, c.replace("_", " ")) for c in cats]
        title = ", ".join(names[:3]) + (f" and {len(names) - 3} more topics" if len(names) > 3 else "")
        recs.append(("must_not_ask", "Stop asking about " + title,
                     f"{len(mna)} question(s) touched protected characteristics: "
                     + "; ".join(f'{f.time} "{f.quote}"' for f in mna[:4])
                     + (" ..." if len(mna) > 4 else "")
                     + (". Ask instead: " + " / ".join(alts[:2]) if alts else "."),
                     [f.segment_id for f in mna]))
    st = report.structure
    if st.available and st.skipped:
        texts = [q for q in st.questions if not q.asked]
        recs.append(("skipped", f"Ask every guide question ({len(texts)} of {st.total} skipped)",
                     "Skipped: " + "; ".join(f"{q.question_id} \"{q.text}\"" for q in texts[:3])
                     + (" ..." if len(texts) > 3 else "") + ". Every candidate should get the same questions.",
                     []))
    hl = [f for f in report.question_quality if f.kind in ("hypothetical", "leading")]
    if hl:
        kinds = sorted({f.kind for f in hl})
        ex = hl[0]
        better = (f' e.g. "{ex.guide_question_text}"' if ex.guide_question_text else
                  ' e.g. "Tell me about a time when you..."')
        recs.append(("hypothetical_leading", "Ask about real past behaviour, neutrally" if len(kinds) > 1 else (
            "Ask for real examples, not hypotheticals" if kinds == ["hypothetical"] else
            "Ask neutral questions, not leading ones"),
                     "; ".join(f'{f.time} ({f.kind}) "{f.quote}"' for f in hl[:3])
                     + (" ..." if len(hl) > 3 else "") + f". Ask open, neutral questions about what they did,{better}.",
                     [f.segment_id for f in hl]))
    tt = report.talk_time
    if tt.interviewer_share is not None and tt.interviewer_share > TALK_SHARE_LIMIT:
        mono = tt.longest_monologue
        where = ""
        if mono:
            where = (f" The longest stretch was {mono.duration_s:.0f} s from {mono.time}" if mono.duration_s
                     is not None else f" The longest stretch was {mono.words} words") + f" ({mono.segment_ids[0]})."
        recs.append(("talk_time", "Talk less, listen more",
                     f"The interviewer had {tt.interviewer_share:.0%} of the "
                     f"{'speaking time' if tt.basis == 'time' else 'words'} (aim for under {TALK_SHARE_LIMIT:.0%})."
                     + where, mono.segment_ids if mono else []))
    if st.directions is not None and st.directions.applicable and not st.directions.given:
        recs.append(("directions", "Open with the directions for the candidate",
                     f'The guide\'s opening was not given (best match {st.directions.score:.0%}). Say: '
                     f'"{st.directions.expected[:160]}{"..." if len(st.directions.expected) > 160 else ""}"',
                     st.directions.segment_ids))
    for kind, title, advice in (
            ("closed", "Ask open questions, not yes/no ones",
             'Turn them into "Tell me about...", "How did you...", "What happened when...".'),
            ("stacked", "Ask one question at a time", "Ask one, wait for the full answer, then follow up.")):
        fl = [f for f in report.question_quality if f.kind == kind]
        if fl:
            recs.append((kind, title, "; ".join(f'{f.time} "{f.quote}"' for f in fl[:3])
                         + (" ..." if len(fl) > 3 else "") + ". " + advice, [f.segment_id for f in fl]))
    if st.available and st.candidate_questions is None and report.stage_kind not in ("work-sample",):
        recs.append(("candidate_questions", "Leave time for the candidate's questions",
                     "The candidate was never invited to ask their own questions; keep the last 5 minutes for them.",
                     []))
    elif (st.candidate_questions_time_s is not None and st.candidate_questions_time_s < 120
          and report.stage_kind not in ("work-sample",)):
        recs.append(("candidate_questions", "Leave more time for the candidate's questions",
                     f"The candidate was invited to ask at {st.candidate_questions.time}, leaving "
                     f"{st.candidate_questions_time_s:.0f} s.", [st.candidate_questions.segment_id]))
    return [Recommendation(rank=i + 1, kind=k, title=title, detail=detail, lines=_refs_for(t, ids))
            for i, (k, title, detail, ids) in enumerate(recs[:limit])]


# ---------------------------------------------------------------- verification of extra (LLM) flags

Reviewer = Callable[[Transcript, "CoachReport"], list[Flag]]


def verify_flags(t: Transcript, flags: list[Flag]) -> tuple[list[Flag], list[str]]:
    """Keep only flags whose quote is found (normalised, small fuzzy tolerance) in the interviewer turn they cite.

    Returns (kept, warnings). This is the gate every non-rule flag (e.g. from an LLM pass) goes through.
    """
    from rapidfuzz import fuzz

    kept, dropped = [], []
    for f in flags:
        try:
            seg = t.segment(f.segment_id)
        except KeyError:
            dropped.append(f"dropped a {f.kind} flag: segment {f.segment_id} does not exist")
            continue
        if seg.role != Role.interviewer:
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: not an interviewer turn")
            continue
        q, s = normalize(f.quote), normalize(seg.text)
        if not q or (q not in s and fuzz.partial_ratio(q, s) < 90):
            dropped.append(f"dropped a {f.kind} flag on {f.segment_id}: quote not found in the line")
            continue
        kept.append(f.model_copy(update={"line": seg.text, "start_s": seg.start_s, "time": fmt_time(seg.start_s)}))
    return kept, dropped


# ---------------------------------------------------------------- entry points


def coach(t: Transcript, stage=None, *, alignment=None, rules: MustNotAskRules | None = None,
          guide=None, interviewer: str | None = None, candidate: str | None = None,
          reviewer: Reviewer | None = None) -> CoachReport:
    """Coach one interview: talk time, structure, question quality, must-not-ask, and three recommendations.

    `t` may lack roles (they are set from `interviewer`/`candidate`, or inferred and the report says how).
    `alignment` is computed with `evaluator.align.align` when a stage has questions and it is not given.
    `reviewer` is an optional extra pass (e.g. an LLM); its flags are verified against the transcript.
    """
    qtexts = [q.text for q in getattr(stage, "questions", None) or []] or None
    t, roles_note = prepare_transcript(t, interviewer=interviewer, candidate=candidate, question_texts=qtexts)
    warnings = list(t.meta.warnings)
    if stage is not None and alignment is None and getattr(stage, "questions", None):
        try:
            from evaluator.align import align
        except ImportError:
            align = None
            warnings.append("evaluator.align is not available: guide questions asked/skipped were not checked")
        if align is not None:
            alignment = align(t, stage)
    rules = rules or load_must_not_ask_rules()
    mna = find_must_not_ask(t, rules)
    quality = find_question_quality(t, stage, skip_segments={f.segment_id for f in mna})
    names = {r: [s.speaker for s in t.segments if s.role == r] for r in (Role.interviewer, Role.candidate)}
    kind = getattr(stage, "kind", None)
    report = CoachReport(
        source=t.meta.source, transcript_sha256=t.content_sha256(),
        guide_id=getattr(guide, "id", None), guide_version=getattr(guide, "version", None),
        stage_id=getattr(stage, "id", None), stage_name=getattr(stage, "name", None),
        stage_kind=str(getattr(kind, "value", kind)) if kind is not None else None,
        interviewer=", ".join(dict.fromkeys(names[Role.interviewer])) or None,
        candidate=", ".join(dict.fromkeys(names[Role.candidate])) or None,
        roles=t.meta.roles, roles_note=roles_note, rules_version=rules.version,
        talk_time=measure_talk_time(t), structure=check_structure(t, stage, alignment),
        must_not_ask=mna, question_quality=quality, warnings=warnings)
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


def resolve_stage(guide, stage_ref: str | None, t: Transcript | None = None):
    """The stage named by `stage_ref`, or the one whose questions the transcript matches best."""
    if stage_ref:
        return guide.stage(stage_ref)
    try:
        from evaluator.align import detect_stage  # optional in align.py
    except ImportError:
        detect_stage = None
    if detect_stage is not None and t is not None:
        guess = detect_stage(t, guide)
        if guess.confidence >= 0.2:
            return guide.stage(guess.stage_id)
        raise UsageError(f"could not tell which stage this interview is ({guess.reason})",
                         hint="pass --stage (one of: " + ", ".join(s.id for s in guide.stages) + ")")
    stages = [s for s in guide.stages if s.questions]
    if t is not None and stages:
        text = " ".join(s.text for s in t.segments)
        scored = sorted(((sum(_word_similarity(q.text, text)[0] for q in s.questions) / len(s.questions), s)
                         for s in stages), key=lambda x: x[0], reverse=True)
        if scored and scored[0][0] >= 0.5 and (len(scored) == 1 or scored[0][0] - scored[1][0] >= 0.05):
            return scored[0][1]
    raise UsageError("could not tell which stage this interview is",
                     hint="pass --stage (one of: " + ", ".join(s.id for s in guide.stages) + ")")


def coach_file(path: str | Path, guide: str | Path | None = None, stage: str | None = None, *,
               rules_files: list[str | Path] | None = None, interviewer: str | None = None,
               candidate: str | None = None, fmt: str | None = None) -> CoachReport:
    """Read a transcript file, load the guide and stage, and coach it."""
    from evaluator.formats import read_transcript

    t = read_transcript(path, fmt=fmt) if fmt else read_transcript(path)
    if not t.meta.source:
        t.meta.source = str(path)
    g = st = None
    if guide is not None:
        from evaluator.guide import load_guide

        g = load_guide(guide)
        st = resolve_stage(g, stage, t)
    elif stage:
        raise UsageError("--stage needs --guide", hint="pass --guide NAME_OR_PATH")
    rules = load_must_not_ask_rules(rules_files)
    return coach(t, st, rules=rules, guide=g, interviewer=interviewer, candidate=candidate)


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


# ---------------------------------------------------------------- rendering


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_coach_markdown(report: CoachReport) -> str:
    """The coaching report as Markdown: every figure with the lines and times behind it."""
    r = report
    L: list[str] = []
    title = "Interviewer coaching report"
    L.append(f"# {title}")
    L.append("")
    meta = [f"**Source:** `{r.source or '-'}`"]
    if r.guide_id:
        meta.append(f"**Guide:** {r.guide_id} v{r.guide_version or '?'}")
    if r.stage_name:
        meta.append(f"**Stage:** {r.stage_name} (`{r.stage_id}`)")
    meta.append(f"**Interviewer:** {r.interviewer or '?'}  **Candidate:** {r.candidate or '?'}")
    L += [" · ".join(meta), "", f"_{r.roles_note}_", ""]
    L.append("This report judges how the interview was conducted, not the candidate. "
             "Offline rules" + (" plus a verified LLM pass" if r.llm_used else "") + f" (rules v{r.rules_version}).")
    L.append("")
    for w in r.warnings:
        L.append(f"> ⚠ {w}")
    if r.warnings:
        L.append("")

    L += ["## Three things to do differently next time", ""]
    if not r.recommendations:
        L.append("Nothing stood out: the interview followed the guide and no flags were raised.")
    for rec in r.recommendations:
        L.append(f"{rec.rank}. **{rec.title}.** {rec.detail}")
        if rec.lines:
            L.append("   Lines: " + ", ".join(f"`{x.segment_id}` {x.time}" for x in rec.lines[:8])
                     + (" ..." if len(rec.lines) > 8 else ""))
    L.append("")

    tt = r.talk_time
    L += ["## Talk time", "", f"_{tt.note}_", "",
          "| speaker | role | turns | words | " + ("seconds | " if tt.basis == "time" else "") + "share |",
          "|---|---|---:|---:|" + ("---:|" if tt.basis == "time" else "") + "---:|"]
    for s in tt.speakers:
        L.append(f"| {_md_escape(s.speaker)} | {s.role.value} | {s.turns} | {s.words} | "
                 + (f"{s.seconds:.0f} | " if tt.basis == "time" else "") + f"{_pct(s.share)} |")
    L.append("")
    L.append(f"Interviewer {_pct(tt.interviewer_share)}, candidate {_pct(tt.candidate_share)} of the "
             f"{'speaking time' if tt.basis == 'time' else 'words'}.")
    if tt.longest_monologue:
        m = tt.longest_monologue
        size = f"{m.duration_s:.0f} s, {m.words} words" if m.duration_s is not None else f"{m.words} words"
        L.append(f"Longest interviewer monologue: {size}, from {m.time} "
                 f"({', '.join(f'`{i}`' for i in m.segment_ids)}): \"{_md_escape(m.excerpt)}\"")
    if tt.interruptions:
        L.append("")
        L.append("Interruptions:")
        for it in tt.interruptions:
            how = f"overlapping by {it.overlap_s:.1f} s" if it.evidence == "overlap" else "cutting the turn off"
            L.append(f"- {it.time} `{it.segment_id}`: the {it.by_role.value} came in on `{it.interrupted_segment_id}` "
                     f"({how})")
    elif tt.overlaps_measurable:
        L.append("No interruptions or overlaps found.")
    else:
        L.append("Overlaps cannot be measured without end times; no cut-off turns were found.")
    L.append("")

    st = r.structure
    L += ["## Structure", ""]
    if st.note:
        L += [f"_{st.note}_", ""]
    if st.directions is not None and st.directions.applicable:
        d = st.directions
        if d.given:
            L.append(f"Directions to the candidate: **given** at {d.time} ({', '.join(f'`{i}`' for i in d.segment_ids)}, "
                     f"match {d.score:.0%}).")
        else:
            L.append(f"Directions to the candidate: **not given** (best match {d.score:.0%}). Expected: "
                     f"\"{_md_escape(d.expected)}\"")
        L.append("")
    if st.questions:
        L += [f"Guide questions asked: **{st.asked} of {st.total}**"
              + ("" if st.order_followed in (None, True) else
                 f"; asked out of guide order: {', '.join(st.out_of_order)}")
              + f"; guide follow-ups used: {st.follow_ups_used}.", "",
              "| # | question | asked | at | time spent | follow-ups used |", "|---|---|---|---|---:|---|"]
        for q in st.questions:
            spent = f"{q.time_spent_s:.0f} s" if q.time_spent_s is not None else "-"
            fu = "; ".join(q.follow_ups_used) or "-"
            where = f"{q.time} `{q.segment_ids[0]}`" if q.asked and q.segment_ids else ("-" if not q.asked else q.time)
            L.append(f"| {q.question_id} | {_md_escape(q.text[:90])} | {'yes' if q.asked else '**no**'} | {where} | "
                     f"{spent} | {_md_escape(fu)} |")
        L.append("")
    if st.extra_questions:
        L.append(f"Questions not in the guide: {len(st.extra_questions)} ("
                 + ", ".join(f"{x.time} `{x.segment_id}`" for x in st.extra_questions[:10]) + ").")
        L.append("")
    if st.available or st.directions is not None:
        if st.candidate_questions is not None:
            left = (f", leaving {st.candidate_questions_time_s:.0f} s" if st.candidate_questions_time_s is not None
                    else "")
            L.append(f"Candidate's own questions: invited at {st.candidate_questions.time} "
                     f"(`{st.candidate_questions.segment_id}`){left}.")
        else:
            L.append("Candidate's own questions: never invited.")
        L.append("")
    for w in st.warnings:
        L.append(f"> {w}")

    L += ["## Questions an interviewer must not ask", ""]
    if not r.must_not_ask:
        L += ["None found.", ""]
    for f in r.must_not_ask:
        L.append(f"- **{CATEGORY_NAMES.get(f.category or '', (f.category or '').replace('_', ' '))}** — {f.time} `{f.segment_id}`: \"{_md_escape(f.quote)}\"")
        L.append(f"  {f.explanation}")
        if f.lawful_alternative:
            L.append(f"  Lawful alternative: {f.lawful_alternative}")
    L.append("")

    L += ["## Question quality", ""]
    if not r.question_quality:
        L += ["No hypothetical, leading, closed or stacked questions found.", ""]
    for kind in QUALITY_KINDS:
        fl = [f for f in r.question_quality if f.kind == kind]
        if not fl:
            continue
        L.append(f"### {kind.capitalize()} ({len(fl)})")
        L.append("")
        for f in fl:
            L.append(f"- {f.time} `{f.segment_id}`: \"{_md_escape(f.quote)}\"")
            L.append(f"  {f.explanation}")
        L.append("")
    return "\n".join(L).rstrip() + "\n"


def render_coach_html(report: CoachReport) -> str:
    """The coaching report as one self-contained HTML page (inline CSS, no scripts, no external assets)."""
    from evaluator.report import markdown_to_html

    return markdown_to_html(render_coach_markdown(report), title=f"Coaching report: {report.source or ''}")


def render_summary_markdown(summary: CoachSummary) -> str:
    """A per-interviewer table over a batch of interviews."""
    L = ["# Interviewer coaching summary", "",
         "| interviewer | interviews | talk share | guide questions asked | directions given | must-not-ask | "
         "hypothetical | leading | closed | stacked |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in summary.rows:
        asked = f"{row.questions_asked}/{row.questions_total}" if row.questions_total else "-"
        L.append(f"| {_md_escape(row.interviewer)} | {row.interviews} | {_pct(row.mean_interviewer_share)} | {asked} | "
                 f"{row.directions_given}/{row.interviews} | {row.must_not_ask} | {row.hypothetical} | {row.leading} | "
                 f"{row.closed} | {row.stacked} |")
    L.append("")
    L += ["| interview | interviewer | top recommendation |", "|---|---|---|"]
    for r in summary.reports:
        top = r.recommendations[0].title if r.recommendations else "-"
        L.append(f"| `{r.source}` | {_md_escape(r.interviewer or '?')} | {_md_escape(top)} |")
    if summary.errors:
        L += ["", "Could not coach:"] + [f"- {e}" for e in summary.errors]
    return "\n".join(L) + "\n"
