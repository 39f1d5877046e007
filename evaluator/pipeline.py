"""The use cases, as functions the CLI and the web app both call: load an interview, evaluate it, write the
draft, review decisions, finalise, revise.

Each rule lives here once: which stage an interview is (and when to ask for `--stage`), that a draft under
review is never replaced, that a final scorecard is never overwritten, where files go, and that every
review change happens under the store's lock. No printing; errors are `EvalError`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from evaluator.errors import EvalError, ReviewError, UsageError
from evaluator.guide import Guide, Stage
from evaluator.review import Change, ReviewProgress, Scorecard
from evaluator.scorecard import Draft, FinalScorecard
from evaluator.store import FileStore, ReviewStore
from evaluator.transcript import Transcript

# ---------------------------------------------------------------- interviews


@dataclass
class Interview:
    """One interview read (or transcribed) with roles set, and the stage it is evaluated against."""

    transcript: Transcript
    stage: Stage
    detection: object | None = None  # evaluator.align.StageGuess when the stage was detected
    source: str = ""


def pick_stage(transcript: Transcript, guide: Guide, stage_ref: str | None, *, source: str = "") -> tuple[Stage, object | None]:
    """The stage named, or the one detected from the transcript; when detection is not confident, a usage error
    that lists the stages with their scores so the person can name one with --stage."""
    if stage_ref:
        return guide.stage(stage_ref), None
    from evaluator.align import detect_stage

    guess = detect_stage(transcript, guide)
    if not guess.confident:
        ranked = tuple(f"{c.stage_id} ({c.score:.2f})" for c in guess.candidates)
        raise UsageError(f"{source or 'interview'}: cannot tell which stage this is ({guess.reason})",
                         hint=f"name it with --stage; stages by match: {', '.join(ranked)}", remedy="choose_stage",
                         choices=ranked)
    return guide.stage(guess.stage_id), guess


def load_interview(path: str | Path, guide: Guide, stage_ref: str | None = None, *, fmt: str | None = None,
                   interviewer: list[str] | None = None, candidate: list[str] | None = None,
                   whisper_model: str | None = None, channels: str | None = None, rttm: str | Path | None = None,
                   progress: Callable | None = None, check: bool = True) -> Interview:
    """Read a transcript or transcribe a recording, set roles, and pick the stage (given, or detected). With
    `check`, a file that does not look like an interview (a podcast, a meeting, the guide itself) is refused."""
    from evaluator.inputs import load_interview as read_interview

    stage = guide.stage(stage_ref) if stage_ref else None
    t = read_interview(path, fmt=fmt, guide=guide, stage=stage, interviewer=interviewer, candidate=candidate,
                       model=whisper_model, channels=channels, rttm=rttm, progress=progress, require_interview=check)
    stage, detection = pick_stage(t, guide, stage_ref, source=str(path))
    return Interview(transcript=t, stage=stage, detection=detection, source=str(path))


# ---------------------------------------------------------------- evaluation


@dataclass
class LLMChoice:
    """The LLM a run uses (None client: no LLM configured or --no-llm) and what the draft records of it."""

    client: object | None = None
    info: dict = field(default_factory=dict)


def llm_choice(*, model: str | None = None, base_url: str | None = None, timeout_s: float | None = None,
               concurrency: int | None = None, use_cache: bool = True, enabled: bool = True,
               max_output_tokens: int | None = None, warm: bool = True) -> LLMChoice:
    """The configured LLM endpoint (flag > environment > default), or none. With `warm`, the client's imports
    and connection set-up start in a background thread, so they overlap reading and aligning the interview."""
    if not enabled:
        return LLMChoice()
    from evaluator.llm import LLMClient, endpoint_host, is_configured, settings_from

    settings = settings_from(model=model, base_url=base_url, timeout_s=timeout_s, concurrency=concurrency,
                             use_cache=use_cache, max_output_tokens=max_output_tokens)
    if not is_configured(settings):
        return LLMChoice()
    client = LLMClient(settings)
    if warm:
        import threading

        threading.Thread(target=client.warm_up, name="llm-warm-up", daemon=True).start()
    return LLMChoice(client=client, info={"model": settings.model, "endpoint_host": endpoint_host(settings)})


def evaluate_interview(interview: Interview, guide: Guide, *, llm: LLMChoice | None = None, redact: bool = False,
                       budget_tokens: int | None = None, progress: Callable | None = None) -> Draft:
    """Align the interview to its stage and draft the scorecard (sealed, so hand edits are detected)."""
    from evaluator.align import align
    from evaluator.score import EvaluateOptions, evaluate
    from evaluator.scorecard import sealed

    llm = llm or LLMChoice()
    al = align(interview.transcript, interview.stage, guide=guide)
    opts = EvaluateOptions(redact=redact)
    if budget_tokens is not None:
        opts.budget_tokens = budget_tokens
    draft = evaluate(interview.transcript, guide, interview.stage, al, client=llm.client, opts=opts,
                     llm_info=llm.info, progress=progress)
    from evaluator.coach import prohibited_questions

    flags = prohibited_questions(interview.transcript)
    if flags:
        draft.prohibited_questions = flags
        draft.warnings.append(f"{len(flags)} question(s) the interviewer must not ask were found; see the "
                              "scorecard's 'Questions that must not be asked'")
    return sealed(draft)


def failed_criteria(draft: Draft) -> list[str]:
    """Criteria whose LLM call failed (a re-run fills them in from the cache and asks only these)."""
    return [s.criterion_id for s in draft.scores if s.status == "failed"]


def write_draft(draft: Draft, path: str | Path, store: FileStore | None = None) -> Path:
    """Write a draft; a draft that is under review (review states or finals exist) is never replaced."""
    store = store or FileStore()
    p = Path(path)
    with store.transaction(p):
        if p.exists():
            busy = store.reviews_of(p)
            if busy:
                raise ReviewError(f"{p}: this draft is under review ({len(busy)} review file(s), e.g. "
                                  f"{Path(busy[0]).name}); a draft under review is never replaced",
                                  hint=f"write the new draft to another file, e.g. -o {p.with_name(p.stem + '.v2.json')}")
        from evaluator.files import atomic_write

        atomic_write(p, draft.model_dump_json(indent=2) + "\n")
    return p


# ---------------------------------------------------------------- review


def transcript_for_review(path: str | Path, card: Scorecard) -> Transcript:
    """A transcript given with --transcript, accepted only if it is the one the scorecard's evidence points into.

    The check is on `source.transcript_content_sha256` (segment ids, times, speakers, roles, text), not on the
    input file's sha256: quotes point at segment ids and candidate roles. A draft JSON is accepted too."""
    import json

    from evaluator.formats import read_transcript
    from evaluator.inputs import question_texts
    from evaluator.roles import assign_roles
    from evaluator.store import load_scorecard
    from evaluator.transcript import Role

    p = Path(path)
    want = card.source.transcript_content_sha256
    candidates: list[Transcript] = []
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("kind") == "draft":
            candidates.append(load_scorecard(p).transcript)
    if not candidates:
        t = read_transcript(p)
        candidates.append(t)
        if not t.segments or all(s.role == Role.unknown for s in t.segments):
            candidates.append(assign_roles(t.model_copy(deep=True)))
            try:
                from evaluator.guide import load_guide

                g = load_guide(card.source.guide_id)
                st = g.stage(card.source.stage_id)
                candidates.append(assign_roles(t.model_copy(deep=True), question_texts=question_texts(g, st)))
            except EvalError:  # the guide only helps role inference
                pass
    for t in candidates:
        if t.content_sha256() == want:
            return t
    from evaluator.files import sha256_file

    same_file = card.source.transcript_sha256 and sha256_file(p) == card.source.transcript_sha256
    why = ("it is the same file, but read here it gives different segments or speaker roles"
           if same_file else "its content differs from the transcript the scorecard was made from")
    raise ReviewError(f"{p}: not the transcript of this scorecard ({why})",
                      hint="pass the draft JSON itself (it embeds the transcript) or the transcript JSON "
                           "`evaluate` used")


def _progress(card: Scorecard, state, ref: str, state_file: str | None) -> ReviewProgress:
    from evaluator import review as rv

    left = rv.remaining(card, state)
    return ReviewProgress(draft=ref, state_file=state_file,
                          decided=[p.criterion_id for p in rv.proposals(card) if p.criterion_id not in left],
                          remaining=left)


def review_status(store: ReviewStore, ref: str, reviewer: str) -> tuple[Scorecard, object, ReviewProgress]:
    """The scorecard, this reviewer's review state and progress, read under the lock."""
    with store.transaction(ref):
        card, sha = store.load_card(ref)
        if isinstance(card, FinalScorecard):
            raise UsageError(f"{ref} is a final scorecard", hint="revise it with review_final")
        state = store.load_state(ref, reviewer, sha)
    return card, state, _progress(card, state, ref, None)


def decide(store: ReviewStore, ref: str, reviewer: str, changes: list[Change],
           transcript: Transcript | None = None) -> ReviewProgress:
    """Apply a reviewer's decisions to a draft and save them at once, under the lock (read, change, write), so
    concurrent decisions of the same or other reviewers are never lost. Nothing is saved if one is invalid."""
    from evaluator import review as rv

    with store.transaction(ref):
        card, sha = store.load_card(ref)
        if isinstance(card, FinalScorecard):
            raise UsageError(f"{ref} is a final scorecard, not a draft", hint="use revise_final for a change")
        if store.find_final(ref, reviewer):
            raise ReviewError(f"{ref}: {reviewer} has already finalised this draft "
                              f"({Path(store.find_final(ref, reviewer)).name}); it is never overwritten",
                              hint=f"to change it make a revision: review {store.find_final(ref, reviewer)} "
                                   "--reviewer NAME --set ID=SCORE --reason TEXT")
        state = store.load_state(ref, reviewer, sha)
        if changes:
            state = rv.apply_changes(card, state, changes, reviewer, transcript or card.transcript)
            where = store.save_state(ref, reviewer, state)
        else:
            where = None
        return _progress(card, state, ref, where)


def finalize(store: ReviewStore, ref: str, reviewer: str) -> tuple[FinalScorecard, str]:
    """The reviewer's final scorecard, once every criterion is decided; created, never overwritten."""
    from evaluator import review as rv

    with store.transaction(ref):
        card, sha = store.load_card(ref)
        if not isinstance(card, Draft):
            raise UsageError(f"{ref} is already a final scorecard")
        existing = store.find_final(ref, reviewer)
        if existing:
            raise ReviewError(f"{existing}: a final scorecard already exists; it is never overwritten",
                              hint=f"to change it make a revision: review {existing} --reviewer NAME "
                                   "--set ID=SCORE --reason TEXT")
        state = store.load_state(ref, reviewer, sha)
        final = rv.finalize(card, sha, state, reviewer)
        return final, store.save_final(ref, reviewer, final)


def revise_final(store: ReviewStore, ref: str, reviewer: str, changes: list[Change],
                 transcript: Transcript | None = None) -> tuple[FinalScorecard, str, list[str]]:
    """A new revision of a final scorecard with the changes applied to its LATEST revision (so two revisions made
    at once are both kept, one after the other); returns it, where it went, and notes for the person."""
    from evaluator import review as rv

    notes: list[str] = []
    with store.transaction(ref):
        latest = store.latest_revision(ref)
        card, sha = store.load_card(latest)
        if not isinstance(card, FinalScorecard):
            raise UsageError(f"{ref} is a draft, not a final scorecard")
        if Path(latest).resolve() != Path(ref).expanduser().resolve():
            notes.append(f"{Path(ref).name} has a newer revision; the change was made on {Path(latest).name} "
                         f"(revision {card.revision})")
        state = rv.apply_changes(card, rv.state_from_final(card, sha), changes, reviewer, transcript)
        new = rv.revise(card, sha, state, reviewer)
        return new, store.save_revision(latest, new), notes


# ---------------------------------------------------------------- batches


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files named directly, every interview file in a folder, or a glob pattern (sorted, no duplicates)."""
    import glob

    from evaluator.formats import AUDIO_EXTENSIONS, READERS

    exts = {f".{e}" for e in READERS} | {e if e.startswith(".") else f".{e}" for e in AUDIO_EXTENSIONS}
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in exts)
        elif any(ch in item for ch in "*?[") and not p.exists():
            out += sorted(Path(f) for f in glob.glob(item, recursive=True) if Path(f).is_file())
        else:
            out.append(p)
    if not out:
        raise UsageError(f"no interview files found in {' '.join(inputs)}",
                         hint="give transcript files (.vtt .srt .txt .json) or recordings, a folder or a glob")
    return list(dict.fromkeys(out))


@dataclass
class BatchResult:
    """What a batch produced: one result per interview that could be read, and the files that could not."""

    single: bool
    results: list = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def _one(path: Path, guide: Guide, stage_ref: str | None, load: dict, task: Callable):
    """Load one interview and run the task on it (in a worker process for batches): (result, error line)."""
    try:
        return task(load_interview(path, guide, stage_ref, **load)), None
    except EvalError as exc:
        return None, exc.one_line()


def batch_jobs(n_items: int, jobs: int | None = None) -> int:
    """Worker processes for a batch: the usable cores (or `jobs`), never more than the interviews; 1 for small
    batches, where starting processes costs more than it saves."""
    import os

    if jobs is not None:
        return max(1, min(jobs, n_items))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 1 if n_items < 4 else max(1, min(cores, n_items))


def for_each_interview(inputs: list[str], guide: Guide, stage_ref: str | None, task: Callable, *,
                       load: dict | None = None, what: str = "read", jobs: int | None = None,
                       on_done: Callable[[str, str | None], None] | None = None) -> BatchResult:
    """Run `task(interview)` on every interview named. A single interview fails with its error; a batch goes on
    past files it cannot read and lists them. Batches use a process pool over the usable cores, so `task` must
    be picklable (a module-level function or a functools.partial of one); results keep the input order."""
    paths = expand_inputs(inputs)
    load = load or {}
    single = len(paths) == 1 and len(inputs) == 1 and not Path(inputs[0]).is_dir()
    if single:
        return BatchResult(single=True, results=[task(load_interview(paths[0], guide, stage_ref, **load))])
    out = BatchResult(single=False)
    workers = batch_jobs(len(paths), jobs)
    if workers == 1:
        pairs = (_one(p, guide, stage_ref, load, task) for p in paths)
        done = ((p, *pair) for p, pair in zip(paths, pairs))
    else:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers)
        futures = [pool.submit(_one, p, guide, stage_ref, load, task) for p in paths]
        done = ((p, *f.result()) for p, f in zip(paths, futures))
    try:
        for p, result, error in done:
            if error is None:
                out.results.append(result)
            else:
                out.failures.append((str(p), error))
            if on_done is not None:
                on_done(str(p), error)
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    if not out.results:
        raise EvalError(f"none of the {len(paths)} interviews could be {what}",
                        hint="see the warnings above" if out.failures else "check the files")
    return out


def coverage_task(interview: Interview, guide: Guide, client=None):
    """The coverage audit of one interview; with an LLM `client`, areas to cover are refined by it (claims kept
    only when their quotes are found in the answer). A client cannot cross processes: run such batches with
    jobs=1."""
    from evaluator.align import align
    from evaluator.coverage import interview_coverage

    t, st = interview.transcript, interview.stage
    al = align(t, st, guide=guide)
    if client is not None:
        from evaluator.areas_llm import refine_areas_with_llm

        al = refine_areas_with_llm(al, t, st, client)
    return interview_coverage(t, guide, st, detection=interview.detection, alignment=al)


def coach_task(interview: Interview, guide: Guide, rules=None):
    """The coaching report of one interview."""
    from evaluator.coach import coach

    return coach(interview.transcript, interview.stage, guide=guide, rules=rules)
