"""Who is the interviewer and who the candidate: speaker roles from options, labels or the conversation.

Order of precedence, per speaker:

1. options (``--interviewer`` / ``--candidate``), matched case-insensitively to speaker labels;
2. roles already present in the transcript (e.g. our own JSON), kept as they are;
3. conventional labels ("Interviewer", "Candidate", "Host", "Guest", "Recruiter", "Hiring Manager";
   in role-play work samples "Customer" is the interviewer and "Agent" / "Account Manager" / "CSM"
   the candidate);
4. inference from the conversation: the speaker who asks the guide's questions and most of the
   questions is the interviewer, the other main speaker the candidate, anyone else "other".

A transcript without speaker labels (mono audio, no diarization) gets roles per segment instead
(`infer_roles_per_segment`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluator.errors import UsageError
from evaluator.text import asks, normalize, words
from evaluator.text import sentences as text_sentences
from evaluator.transcript import Role, RoleAssignment, Segment, Transcript

# Below this confidence an inferred role gets a warning asking a person to check it.
WEAK_CONFIDENCE = 0.7
# rapidfuzz score (0-100) at which a turn counts as asking a guide question.
GUIDE_MATCH_SCORE = 80

# Conventional speaker labels (normalised phrases) -> role and why. Longest phrase wins, so
# "Customer Account Manager" is a candidate label, not "Customer".
_LABELS: dict[str, tuple[Role, str]] = {
    "interviewer": (Role.interviewer, "conventional label"),
    "interviewee": (Role.candidate, "conventional label"),
    "candidate": (Role.candidate, "conventional label"),
    "applicant": (Role.candidate, "conventional label"),
    "host": (Role.interviewer, "conventional label (host/guest)"),
    "guest": (Role.candidate, "conventional label (host/guest)"),
    "recruiter": (Role.interviewer, "conventional label"),
    "hiring manager": (Role.interviewer, "conventional label"),
    "customer": (Role.interviewer, "role-play label: the interviewer plays the customer"),
    "agent": (Role.candidate, "role-play label: the candidate plays the agent"),
    "account manager": (Role.candidate, "role-play label: the candidate plays the account manager"),
    "customer account manager": (Role.candidate, "role-play label: the candidate plays the account manager"),
    "csm": (Role.candidate, "role-play label: the candidate plays the customer success manager"),
    "customer success manager": (Role.candidate, "role-play label: the candidate plays the customer success manager"),
}
_LABEL_CONFIDENCE = 0.9

def label_role(speaker: str) -> tuple[Role, str] | None:
    """The role a conventional speaker label implies ("Interviewer 2" -> interviewer), or None.

    The label may be the whole name or a whole-word part of it ("Dana Reyes (Recruiter)").
    """
    name = " " + normalize(speaker) + " "
    best: tuple[int, Role, str] | None = None
    for phrase, (role, why) in _LABELS.items():
        if f" {phrase} " in name and (best is None or len(phrase) > best[0]):
            best = (len(phrase), role, why)
    return (best[1], best[2]) if best else None


def is_question(text: str) -> bool:
    """A question turn: its last sentence asks, or (short turns) its first sentence does.

    Sentence-level detection is `text.asks`, shared with alignment; this adds the turn policy that
    role inference needs: a long answer with a question in the middle is still an answer."""
    sentences = text_sentences(text)
    if not sentences:
        return False
    if sentences[-1].rstrip().endswith("?"):
        return True
    if len(words(text)) > 40:
        return False
    return asks(sentences[0]) or asks(sentences[-1])


def _guide_matches(texts: list[str], questions: list[str]) -> set[int]:
    """Indexes of guide questions that any of `texts` asks (fuzzy, order-free)."""
    from rapidfuzz import fuzz

    found: set[int] = set()
    # "[country]"-style placeholders are filled in when asked; leave them out of the match.
    norm_q = [normalize(re.sub(r"\[[^\]]*\]", " ", q)) for q in questions]
    for text in texts:
        nt = normalize(text)
        if not nt:
            continue
        for qi, q in enumerate(norm_q):
            if qi in found or not q:
                continue
            # partial_ratio: the question may be embedded in a longer turn ("Great. Are you ...?");
            # token_set_ratio: words reordered or filled in, only for turns not much longer than it.
            # score_cutoff lets rapidfuzz stop early on the (many) pairs that cannot reach it.
            cut = GUIDE_MATCH_SCORE
            hit = (fuzz.partial_ratio(q, nt, score_cutoff=cut) if len(nt) >= len(q) * 0.6
                   else fuzz.ratio(q, nt, score_cutoff=cut))
            if not hit and len(nt) <= 2 * len(q):
                hit = fuzz.token_set_ratio(q, nt, score_cutoff=cut)
            if hit:
                found.add(qi)
    return found


@dataclass
class _Stats:
    speaker: str
    turns: int
    words: int
    question_turns: int
    guide_hits: set[int]


def _stats(t: Transcript, question_texts: list[str] | None) -> dict[str, _Stats]:
    out: dict[str, _Stats] = {}
    for sp in t.speakers:
        segs = [s for s in t.segments if s.speaker == sp]
        out[sp] = _Stats(
            speaker=sp,
            turns=len(segs),
            words=sum(len(words(s.text)) for s in segs),
            question_turns=sum(1 for s in segs if is_question(s.text)),
            guide_hits=_guide_matches([s.text for s in segs], question_texts) if question_texts else set(),
        )
    return out


def _match_option(names: str | list[str] | None, speakers: list[str], opt: str) -> list[str]:
    """Speaker labels named by an option, case-insensitively; UsageError listing speakers if absent."""
    if isinstance(names, str):
        names = [names]
    found = []
    by_fold = {sp.casefold().strip(): sp for sp in speakers}
    for name in names or []:
        key = name.casefold().strip()
        if key not in by_fold:
            listed = ", ".join(repr(s) for s in speakers if s) or "none: the transcript has no speaker labels"
            raise UsageError(
                f"{opt} {name!r}: no such speaker in the transcript (speakers: {listed})",
                hint=f"give {opt} one of the speaker names exactly as listed (case does not matter)",
            )
        found.append(by_fold[key])
    return found


def assign_roles(
    t: Transcript,
    *,
    interviewer: list[str] | str | None = None,
    candidate: list[str] | str | None = None,
    question_texts: list[str] | None = None,
) -> Transcript:
    """A copy of `t` with a role on every segment and a RoleAssignment per speaker in meta.roles.

    `interviewer` / `candidate` name speakers (one name or a list; case-insensitive) and win over
    everything; a name
    not in the transcript is a UsageError listing the speakers. Roles already set in `t` are kept.
    Otherwise conventional labels decide, then inference from the conversation (who asks the
    guide's `question_texts` and most questions). Weak inferences add a warning to meta.warnings.
    A transcript without speaker labels is handed to `infer_roles_per_segment`.
    """
    out = t.model_copy(deep=True)
    speakers = out.speakers
    iv = _match_option(interviewer, speakers, "--interviewer")
    cd = _match_option(candidate, speakers, "--candidate")
    both = set(iv) & set(cd)
    if both:
        raise UsageError(
            f"{sorted(both)[0]!r} is given as both --interviewer and --candidate",
            hint="name each speaker in one role only",
        )
    if speakers == [""] and not iv and not cd:
        if any(s.role != Role.unknown for s in out.segments):
            return out  # roles were already guessed per segment; keep them
        return infer_roles_per_segment(out, question_texts=question_texts)

    assigned: dict[str, RoleAssignment] = {}
    for sp in iv:
        assigned[sp] = RoleAssignment(speaker=sp, role=Role.interviewer, method="option", confidence=1.0,
                                      evidence="named with --interviewer")
    for sp in cd:
        assigned[sp] = RoleAssignment(speaker=sp, role=Role.candidate, method="option", confidence=1.0,
                                      evidence="named with --candidate")

    # Roles already in the transcript (our JSON) stay, with their recorded assignment if any.
    previous = {ra.speaker: ra for ra in out.meta.roles}
    kept_per_segment: set[str] = set()
    for sp in speakers:
        if sp in assigned:
            continue
        roles = {s.role for s in out.segments if s.speaker == sp}
        if roles != {Role.unknown}:
            if len(roles) == 1:
                (role,) = roles
                ra = previous.get(sp)
                assigned[sp] = ra if ra is not None and ra.role == role else RoleAssignment(
                    speaker=sp, role=role, method="source", confidence=1.0,
                    evidence="role given in the input transcript")
            else:
                kept_per_segment.add(sp)  # mixed roles per segment: keep the segments as they are
                if sp in previous:
                    assigned[sp] = previous[sp]

    for sp in speakers:
        if sp in assigned or sp in kept_per_segment or not sp:
            continue
        lr = label_role(sp)
        if lr:
            assigned[sp] = RoleAssignment(speaker=sp, role=lr[0], method="label", confidence=_LABEL_CONFIDENCE,
                                          evidence=f"{lr[1]} {sp!r}")

    warnings: list[str] = []
    rest = [sp for sp in speakers if sp not in assigned and sp not in kept_per_segment]
    if rest:
        _infer(out, rest, assigned, question_texts, warnings)

    for s in out.segments:
        if s.speaker in assigned:
            s.role = assigned[s.speaker].role
    out.meta.roles = [assigned[sp] for sp in speakers if sp in assigned]
    out.meta.warnings = [w for w in out.meta.warnings if not w.startswith("roles:")] + warnings
    return out


def _infer(
    t: Transcript,
    rest: list[str],
    assigned: dict[str, RoleAssignment],
    question_texts: list[str] | None,
    warnings: list[str],
) -> None:
    """Infer roles for the speakers in `rest` from who asks the questions and who talks most."""
    stats = _stats(t, question_texts)
    all_q = sum(st.question_turns for st in stats.values())
    n_guide = len(question_texts or [])
    all_hits = len(set().union(*(st.guide_hits for st in stats.values()))) if stats else 0

    def describe(st: _Stats) -> str:
        parts = []
        if n_guide:
            parts.append(f"asked {len(st.guide_hits)}/{n_guide} guide questions")
        parts.append(f"{st.question_turns} of {all_q} question turns")
        total_words = sum(x.words for x in stats.values()) or 1
        parts.append(f"{round(100 * st.words / total_words)}% of words")
        return ", ".join(parts)

    def strength(st: _Stats) -> float:
        q_share = st.question_turns / all_q if all_q else 0.0
        if all_hits:
            g_share = len(st.guide_hits) / max(1, sum(len(x.guide_hits) for x in stats.values()))
            return (2 * g_share + q_share) / 3
        return q_share

    has_interviewer = any(ra.role == Role.interviewer for ra in assigned.values())
    has_candidate = any(ra.role == Role.candidate for ra in assigned.values())
    fixed = [sp for sp in assigned]

    if len(t.speakers) == 1 and not fixed:
        # One speaker label for everything (no diarization): nothing to tell apart by speaker.
        sp = rest[0]
        st = stats[sp]
        assigned[sp] = RoleAssignment(
            speaker=sp, role=Role.unknown, method="default", confidence=0.0,
            evidence=f"only one speaker in the transcript ({describe(st)})")
        warnings.append(
            f"roles: the transcript has a single speaker {sp!r}, so no speaker could be told apart; "
            "use a diarized transcript or infer_roles_per_segment"
        )
        return

    remaining = list(rest)
    if not has_interviewer:
        ranked = sorted(remaining, key=lambda sp: (strength(stats[sp]), -t.speakers.index(sp)), reverse=True)
        top = ranked[0]
        s_top = strength(stats[top])
        s_next = strength(stats[ranked[1]]) if len(ranked) > 1 else 0.0
        if all_q == 0 and not all_hits:
            # No questions at all: interviews usually open with the interviewer.
            top = remaining[0]
            conf = 0.3
            evidence = f"no question turns found; guessed the first speaker ({describe(stats[top])})"
        else:
            conf = round(max(0.0, min(1.0, s_top - s_next * 0.5)), 2)
            if all_q + len(stats[top].guide_hits) < 3:
                conf = min(conf, 0.5)  # too little to go on
            evidence = describe(stats[top])
        assigned[top] = RoleAssignment(speaker=top, role=Role.interviewer, method="inferred", confidence=conf,
                                       evidence=evidence)
        remaining.remove(top)
    if remaining and not has_candidate:
        iv_conf = min((ra.confidence for ra in assigned.values() if ra.role == Role.interviewer), default=1.0)
        cand = max(remaining, key=lambda sp: (stats[sp].words, -t.speakers.index(sp)))
        others_main = [sp for sp in remaining if sp != cand and stats[sp].words >= 0.5 * stats[cand].words]
        conf = iv_conf if not others_main else min(iv_conf, 0.5)
        assigned[cand] = RoleAssignment(
            speaker=cand, role=Role.candidate, method="inferred", confidence=round(conf, 2),
            evidence=f"the other main speaker ({describe(stats[cand])})")
        remaining.remove(cand)
    for sp in remaining:
        assigned[sp] = RoleAssignment(speaker=sp, role=Role.other, method="inferred", confidence=0.6,
                                      evidence=f"a further speaker ({describe(stats[sp])})")
    weak = [ra for sp, ra in assigned.items() if sp in rest and ra.method == "inferred"
            and ra.role != Role.other and ra.confidence < WEAK_CONFIDENCE]
    for ra in weak:
        warnings.append(
            f"roles: {ra.speaker!r} guessed as {ra.role.value} with low confidence {ra.confidence:.2f} "
            f"({ra.evidence}); check it or pass --{ra.role.value} NAME"
        )


def infer_roles_per_segment(t: Transcript, question_texts: list[str] | None = None) -> Transcript:
    """A copy of `t` with roles guessed segment by segment, for transcripts without speakers.

    Question-like segments (a guide question, a final '?', or a short turn opening with a question
    phrase) become interviewer, the rest candidate. Adds a warning that roles were guessed per segment.
    """
    out = t.model_copy(deep=True)
    n_iv = n_cd = 0
    for s in out.segments:
        q_like = _segment_is_interviewer(s, question_texts)
        s.role = Role.interviewer if q_like else Role.candidate
        n_iv += q_like
        n_cd += not q_like
    evidence = f"guessed per segment: {n_iv} question-like segment(s) as interviewer, {n_cd} as candidate"
    out.meta.roles = [
        RoleAssignment(speaker=sp, role=Role.unknown, method="inferred-per-segment", confidence=0.5, evidence=evidence)
        for sp in out.speakers
    ]
    out.meta.warnings = [w for w in out.meta.warnings if not w.startswith("roles:")] + [
        "roles: no speaker labels, so roles were guessed per segment (question-like segments as interviewer, "
        "the rest as candidate); check them before trusting candidate quotes"
    ]
    return out


def _segment_is_interviewer(s: Segment, question_texts: list[str] | None) -> bool:
    if question_texts and _guide_matches([s.text], question_texts):
        return True
    n = len(words(s.text))
    # Long turns that end with a question are usually answers ("... does that make sense?").
    return is_question(s.text) and n <= 60
