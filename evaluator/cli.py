"""The `interview-eval` command line. Thin: parse, call the core, print. Only this module prints."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from evaluator.errors import EvalError, UsageError

app = typer.Typer(
    name="interview-eval",
    help="Turn a recorded interview into a draft scorecard backed by verbatim, timestamped evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
guides_app = typer.Typer(help="Interview guides: import, show, list, validate, schema.", no_args_is_help=True)
transcript_app = typer.Typer(help="Transcripts: show and convert between formats.", no_args_is_help=True)
app.add_typer(guides_app, name="guides")
app.add_typer(transcript_app, name="transcript")


# ---------------------------------------------------------------- output helpers


def _stdout():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_json(obj) -> None:
    """Print exactly one JSON document on stdout."""
    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        text = obj.model_dump_json(indent=2)
    else:
        text = json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(text + "\n")


def print_markdown(text: str) -> None:
    """Markdown to the terminal: rendered on a TTY, plain when piped."""
    if sys.stdout.isatty():
        from rich.markdown import Markdown

        _stdout().print(Markdown(text))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _line(prefix: str, colour: str, message: str) -> None:
    """One unwrapped line on stderr; coloured only on a terminal."""
    message = " ".join(str(message).split())
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[{colour}m{prefix}\x1b[0m {message}\n")
    else:
        sys.stderr.write(f"{prefix} {message}\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    """A yellow warning line on stderr."""
    _line("warning:", "33", message)


def info(message: str) -> None:
    """A progress/log line on stderr, only when stderr is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write(message + "\n")


def fail(exc: EvalError) -> None:
    """One red line on stderr and the error's exit code."""
    _line("error:", "31", exc.one_line())
    raise typer.Exit(exc.exit_code)


# ---------------------------------------------------------------- guides

GuideArg = Annotated[str, typer.Argument(help="A guide: a YAML path or a bundled name (see `guides list`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@guides_app.command("import")
def guides_import(
    source: Annotated[Path, typer.Argument(help="A guide in the published text format (see shared/seeds).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the guide YAML.")],
    role_id: Annotated[Optional[str], typer.Option("--id", help="Guide id (slug); default from the role name.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail if any text could not be placed.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Import a guide written in the published text format into rubric YAML."""
    from evaluator.guide import dump_guide_yaml
    from evaluator.guide_import import import_guide_file
    from evaluator.files import atomic_write

    try:
        result = import_guide_file(source, guide_id=role_id)
        if strict and result.unplaced:
            first = result.unplaced[0]
            raise EvalError(
                f"{source}, line {first.line}: {len(result.unplaced)} line(s) could not be placed "
                f"(first: {first.text[:60]!r})",
                hint="edit the source or drop --strict to keep them as notes",
            )
        atomic_write(output, dump_guide_yaml(result.guide))
    except EvalError as exc:
        fail(exc)
    summary = result.summary()
    if json_out:
        print_json({"output": str(output), **summary})
        return
    for w in result.warnings:
        warn(w)
    lines = [f"Imported **{result.guide.role}** → `{output}`", ""]
    lines += [f"- {row['stage']} (`{row['id']}`): {row['questions']} questions, {row['criteria']} criteria"
              for row in summary["stages"]]
    if result.unplaced:
        lines += ["", f"{len(result.unplaced)} line(s) kept as notes (not placed): see warnings above."]
    print_markdown("\n".join(lines))


@guides_app.command("show")
def guides_show(
    guide: GuideArg,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Only this stage (id or full name).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """A readable summary: stages, questions with areas and follow-ups, criteria with anchors."""
    from evaluator.guide import load_guide
    from evaluator.render.guide import render_guide_markdown

    try:
        g = load_guide(guide)
        stages = [g.stage(stage)] if stage else g.stages
    except EvalError as exc:
        fail(exc)
    if json_out:
        print_json([s.model_dump(mode="json") for s in stages] if stage else g.model_dump(mode="json"))
        return
    print_markdown(render_guide_markdown(g, stages))


@guides_app.command("list")
def guides_list(json_out: JsonOpt = False) -> None:
    """List the bundled guides."""
    from evaluator.guide import list_bundled_guides

    try:
        rows = list_bundled_guides()
    except EvalError as exc:
        fail(exc)
    if json_out:
        print_json(rows)
        return
    lines = ["| name | role | stages |", "|---|---|---|"]
    lines += [f"| `{r['name']}` | {r['role']} | {', '.join(r['stages'])} |" for r in rows]
    print_markdown("\n".join(lines))


@guides_app.command("validate")
def guides_validate(guide: GuideArg, json_out: JsonOpt = False) -> None:
    """Validate a guide; list warnings such as competency tags that match no criterion."""
    from evaluator.guide import load_guide

    try:
        g = load_guide(guide)
    except EvalError as exc:
        fail(exc)
    warnings = g.lint()
    if json_out:
        print_json({"guide": guide, "valid": True, "version": g.version, "content_sha256": g.content_sha256(),
                    "warnings": warnings})
        return
    for w in warnings:
        warn(w)
    print_markdown(f"`{guide}`: valid ({len(g.stages)} stages, version {g.version}).")


@guides_app.command("schema")
def guides_schema(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the schema here.")] = None,
) -> None:
    """Print (or write) the JSON Schema of the guide YAML."""
    from evaluator.files import atomic_write
    from evaluator.guide import Guide

    text = json.dumps(Guide.model_json_schema(), indent=2) + "\n"
    if output:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)


# ---------------------------------------------------------------- transcribe


@contextlib.contextmanager
def _transcribe_progress(active: bool = True):
    """While transcribing: a rich progress bar on stderr (audio seconds done / total), yielding its update
    callback; yields None, and shows nothing, when stderr is not a TTY or nothing is transcribed."""
    if not active or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("transcribing"), BarColumn(),
                   TextColumn("{task.fields[audio]}"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("transcribe", total=None, audio="loading")

    def update(done_s: float, total_s: float) -> None:
        bar.update(task, completed=done_s, total=total_s, audio=f"{done_s:.0f}/{total_s:.0f} s of audio")

    with bar:
        yield update


@app.command("transcribe")
def transcribe_cmd(
    audio: Annotated[Path, typer.Argument(help="A recording: wav, mp3, m4a, mp4, webm, ogg, flac, ...")],
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Write the transcript here; the format follows the extension (.json .vtt .srt .txt).")] = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="A faster-whisper model name (small.en, ...) or a local model directory. "
        "Default: the bundled, verified tiny.en (offline).")] = None,
    channels: Annotated[Optional[str], typer.Option(
        "--channels", help="One role per channel, left first, for a call recorded with one party per "
        "channel: interviewer,candidate.")] = None,
    rttm: Annotated[Optional[Path], typer.Option(
        "--rttm", help="Speaker turns for a mono recording (RTTM from pyannote or whisperX).")] = None,
    interviewer: Annotated[Optional[str], typer.Option(
        "--interviewer", help="The RTTM speaker label of the interviewer (e.g. SPEAKER_00).")] = None,
    candidate: Annotated[Optional[str], typer.Option(
        "--candidate", help="The RTTM speaker label of the candidate.")] = None,
    language: Annotated[str, typer.Option("--language", help="Spoken language code, or 'auto'.")] = "en",
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Transcribe again even if this audio was transcribed before with the same model.")] = False,
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Transcribe what is there of a recording that looks cut off (with a warning) instead of failing.")] = False,
    batched: Annotated[bool, typer.Option("--batched", help="faster-whisper's batched pipeline: about half the time on CPU.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Chunks decoded at once with --batched.")] = 8,
    json_out: JsonOpt = False,
) -> None:
    """Transcribe a recording with Whisper: timestamps, word times, speakers and roles.

    Without -o the transcript is printed; with -o it is written (atomically) and a summary printed.
    Results are cached by audio content, model and options ($INTERVIEW_EVAL_CACHE_DIR).
    """
    from evaluator.transcribe import transcribe_file

    try:
        if output is not None:
            from evaluator.files import check_writable
            from evaluator.formats import format_for_path

            format_for_path(output)  # an unsupported -o extension fails before minutes of transcription
            check_writable(output, inputs=[audio])
        with _transcribe_progress() as update:
            t = transcribe_file(audio, model=model, channels=channels, rttm=rttm, language=language,
                                device=device, use_cache=not no_cache, progress=update,
                                interviewer=interviewer, candidate=candidate, allow_truncated=allow_truncated,
                                batched=batched, batch_size=batch_size)
        if output is not None:
            from evaluator.formats import write_transcript

            write_transcript(t, output)
    except EvalError as exc:
        fail(exc)
    for w in t.meta.warnings:
        warn(w)
    summary = {
        "source": str(audio), "output": str(output) if output else None, "duration_s": t.meta.duration_s,
        "segments": len(t.segments), "speakers": t.speakers,
        "roles": {r.speaker: r.role.value for r in t.meta.roles},
        "model": t.meta.asr.model if t.meta.asr else None, "warnings": t.meta.warnings,
    }
    if json_out:
        print_json(summary if output else t)
        return
    if output:
        sys.stdout.write(f"{audio}: {t.meta.duration_s or 0:.0f} s, {len(t.segments)} segments, "
                         f"model {summary['model']} -> {output}\n")
        return
    from evaluator.text import fmt_time

    lines = []
    for s in t.segments:
        who = s.speaker or "?"
        if s.role.value not in ("unknown", who.lower()):
            who += f" ({s.role.value})"
        lines.append(f"[{fmt_time(s.start_s)}] {who}: {s.text}")
    sys.stdout.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- transcripts

TranscriptInterviewerOpt = Annotated[Optional[list[str]], typer.Option(
    "--interviewer", help="Speaker name of the interviewer (case-insensitive; repeat for a panel).")]
TranscriptCandidateOpt = Annotated[Optional[list[str]], typer.Option(
    "--candidate", help="Speaker name of the candidate (case-insensitive).")]
TranscriptGuideOpt = Annotated[Optional[str], typer.Option(
    "--guide", help="A guide (YAML path or bundled name) whose questions help tell who is the interviewer.")]
TranscriptStageOpt = Annotated[Optional[str], typer.Option(
    "--stage", help="Only this stage's questions (id or full name); needs --guide.")]


def _guide_questions(guide: Optional[str], stage: Optional[str]) -> Optional[list[str]]:
    """The guide's questions and follow-ups (the same list evaluate uses), for role inference."""
    if stage and not guide:
        raise UsageError("--stage needs --guide", hint="add --guide NAME_OR_PATH (see `guides list`)")
    if not guide:
        return None
    from evaluator.guide import load_guide
    from evaluator.inputs import question_texts

    g = load_guide(guide)
    return question_texts(g, g.stage(stage) if stage else None)


def _load_transcript_with_roles(path: Path, fmt, interviewer, candidate, guide, stage):
    from evaluator.formats import read_transcript
    from evaluator.roles import assign_roles

    questions = _guide_questions(guide, stage)
    t = read_transcript(path, fmt)
    return assign_roles(t, interviewer=interviewer, candidate=candidate, question_texts=questions)


@transcript_app.command("show")
def transcript_show(
    file: Annotated[Path, typer.Argument(help="A transcript: .json .vtt .srt .txt (Zoom, Teams, Meet, Otter exports).")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="json, vtt, srt or txt; default from the extension.")] = None,
    interviewer: TranscriptInterviewerOpt = None,
    candidate: TranscriptCandidateOpt = None,
    guide: TranscriptGuideOpt = None,
    stage: TranscriptStageOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a transcript: time, speaker, role and text, and how each speaker's role was assigned."""
    try:
        t = _load_transcript_with_roles(file, fmt, interviewer, candidate, guide, stage)
    except EvalError as exc:
        fail(exc)
    for w in t.meta.warnings:
        warn(w)
    if json_out:
        print_json(t)
        return
    from evaluator.text import fmt_time

    head = (f"{file} ({t.meta.source_format}): {len(t.segments)} segments, {fmt_time(t.meta.duration_s)}, "
            f"speakers: {', '.join(repr(s) for s in t.speakers)}")
    lines = [head, "", "Roles:"]
    for ra in t.meta.roles:
        lines.append(f"  {ra.speaker or '(no speaker)'}: {ra.role.value} "
                     f"({ra.method}, confidence {ra.confidence:.2f}) {ra.evidence}".rstrip())
    lines.append("")
    for s in t.segments:
        who = s.speaker or "?"
        lines.append(f"[{fmt_time(s.start_s)}] {who} ({s.role.value}): {s.text}")
    sys.stdout.write("\n".join(lines) + "\n")


@transcript_app.command("convert")
def transcript_convert(
    src: Annotated[Path, typer.Argument(help="The transcript to read.")],
    dst: Annotated[Path, typer.Argument(help="Where to write it (atomically); format from the extension or --to.")],
    from_fmt: Annotated[Optional[str], typer.Option("--from", help="Input format: json, vtt, srt or txt.")] = None,
    to_fmt: Annotated[Optional[str], typer.Option("--to", help="Output format: json, vtt, srt or txt.")] = None,
    interviewer: TranscriptInterviewerOpt = None,
    candidate: TranscriptCandidateOpt = None,
    guide: TranscriptGuideOpt = None,
    stage: TranscriptStageOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Convert a transcript between formats (roles are kept in JSON; other formats keep speakers)."""
    from evaluator.formats import format_for_path, normalize_format, write_transcript

    try:
        from evaluator.files import check_writable

        out_fmt = normalize_format(to_fmt) if to_fmt else format_for_path(dst)  # fail before reading
        check_writable(dst, inputs=[src])
        t = _load_transcript_with_roles(src, from_fmt, interviewer, candidate, guide, stage)
        write_transcript(t, dst, out_fmt)
    except EvalError as exc:
        fail(exc)
    for w in t.meta.warnings:
        warn(w)
    summary = {"source": str(src), "source_format": t.meta.source_format, "output": str(dst), "format": out_fmt,
               "segments": len(t.segments), "speakers": t.speakers,
               "roles": {r.speaker: r.role.value for r in t.meta.roles}, "warnings": t.meta.warnings}
    if json_out:
        print_json(summary)
        return
    sys.stdout.write(f"{src} ({t.meta.source_format}, {len(t.segments)} segments) -> {dst} ({out_fmt})\n")


# ---------------------------------------------------------------- interviews: shared options

GuideOpt = Annotated[str, typer.Option("--guide", "-g", help="A guide: YAML path or bundled name (see `guides list`).")]
StageOpt = Annotated[Optional[str], typer.Option(
    "--stage", "-s", help="Stage id or full name; default: detected from the transcript.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="Input transcript format (json, vtt, srt, txt).")]
InterviewerOpt = Annotated[Optional[list[str]], typer.Option(
    "--interviewer", help="Speaker name of the interviewer (repeat for a panel).")]
CandidateOpt = Annotated[Optional[list[str]], typer.Option("--candidate", help="Speaker name of the candidate.")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--whisper-model", help="For audio input: a faster-whisper model name or directory (default: bundled tiny.en).")]
ChannelsOpt = Annotated[Optional[str], typer.Option(
    "--channels", help="For stereo call recordings: roles per channel, e.g. interviewer,candidate.")]
RttmOpt = Annotated[Optional[Path], typer.Option("--rttm", help="For mono audio: speaker turns (RTTM).")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "-o", "--output", help="Write the report here; the format follows the extension (.md, .html, .json).")]
SkipCheckOpt = Annotated[bool, typer.Option(
    "--skip-interview-check", help="Take the file as an interview even when it does not look like one (one speaker, "
    "a talk or meeting, none of the guide's questions asked).")]
JobsOpt = Annotated[Optional[int], typer.Option(
    "--jobs", "-j", min=1, help="Worker processes for a batch (default: the usable CPU cores).")]


def _interview(path: Path, guide, stage_ref, fmt, interviewer, candidate, model=None, channels=None, rttm=None,
               check=True):
    """Load one interview with roles; pick the stage (given, or detected)."""
    from evaluator.formats import is_audio_path
    from evaluator.pipeline import load_interview

    with _transcribe_progress(active=fmt is None and is_audio_path(path)) as update:
        iv = load_interview(path, guide, stage_ref, fmt=fmt, interviewer=interviewer, candidate=candidate,
                            whisper_model=model, channels=channels, rttm=rttm, progress=update, check=check)
    return iv.transcript, iv.stage, iv.detection


def _write_report(result, output: Path, fmt: str | None = None) -> None:
    """Write a report to `output` (atomically), in `fmt` or the format its extension names."""
    from evaluator.render import write

    write(result, output, fmt)
    info(f"wrote {output}")


def _each_interview(inputs: list[str], guide, stage, load: tuple, task, what: str, jobs=None):
    """`task(interview)` on every interview named (a process pool for batches): (single, results, failures).
    Files a batch cannot read are warned about and listed; a single interview fails with its error."""
    from evaluator.pipeline import for_each_interview

    fmt, interviewer, candidate, model, channels, rttm, check = load
    opts = dict(fmt=fmt, interviewer=interviewer, candidate=candidate, whisper_model=model, channels=channels,
                rttm=rttm, check=check)
    res = for_each_interview(inputs, guide, stage, task, load=opts, what=what, jobs=jobs,
                             on_done=lambda src, err: warn(err) if err else None)
    return res.single, res.results, res.failures


def _emit(result, *, json_out: bool, output: Optional[Path], warnings: list[str]) -> None:
    """Warnings on stderr; then one JSON document, or Markdown unless the report went to a file."""
    from evaluator.render import render

    for w in warnings:
        warn(w)
    if json_out:
        print_json(result)
    elif not output:
        print_markdown(render(result, "md"))


def _batch_command(kind, inputs, guide_ref, stage, load, task_for, what: str, join, *, output, json_out) -> None:
    """The shape of `coverage` and `coach`: one interview gives its report, a batch the joined summary.
    `task_for(guide)` returns the per-interview task and the worker processes to use."""
    from evaluator.files import check_writable
    from evaluator.guide import load_guide
    from evaluator.render import resolve_format

    try:
        if output:  # refuse a wrong extension or an unwritable place before the work, not after
            resolve_format(kind, path=output)
            check_writable(output)
        g = load_guide(guide_ref)
        if stage:
            g.stage(stage)
        task, jobs = task_for(g)
        single, items, failed = _each_interview(inputs, g, stage, load, task, what, jobs=jobs)
        result = items[0] if single else join(g, items, failed)
        if output:
            _write_report(result, output)
    except EvalError as exc:
        fail(exc)
    _emit(result, json_out=json_out, output=output, warnings=result.warnings if single else [])


# ---------------------------------------------------------------- coverage


@app.command("coverage")
def coverage_cmd(
    inputs: Annotated[list[str], typer.Argument(help="An interview (transcript or recording), several, a folder or a glob.")],
    guide: GuideOpt,
    stage: StageOpt = None,
    fmt: FormatOpt = None,
    interviewer: InterviewerOpt = None,
    candidate: CandidateOpt = None,
    whisper_model: ModelOpt = None,
    channels: ChannelsOpt = None,
    rttm: RttmOpt = None,
    skip_check: SkipCheckOpt = False,
    areas: Annotated[str, typer.Option(
        "--areas", help="How areas to cover are judged: offline (word matching) or llm (checked against the "
        "transcript like quotes; needs OPENAI_API_KEY or OPENAI_BASE_URL).")] = "offline",
    model: Annotated[Optional[str], typer.Option("--model", help="LLM model for --areas llm.")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="LLM endpoint for --areas llm.")] = None,
    jobs: JobsOpt = None,
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Audit question coverage: which required questions were asked, where, and which areas were probed.

    One interview gives a per-question table; a folder or glob gives a table per interview and per
    interviewer, and the questions most often skipped.
    """
    import functools

    from evaluator import pipeline
    from evaluator.coverage import BatchFailure, InterviewCoverage, batch_coverage

    def task_for(g):
        if areas not in ("offline", "llm"):
            raise UsageError(f"--areas {areas!r}: expected offline or llm")
        if areas == "offline":
            return functools.partial(pipeline.coverage_task, guide=g), jobs
        llm = pipeline.llm_choice(model=model, base_url=base_url)
        if llm.client is None:
            raise UsageError("--areas llm needs an LLM endpoint",
                             hint="set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server")
        return functools.partial(pipeline.coverage_task, guide=g, client=llm.client), 1  # the client stays here

    _batch_command(InterviewCoverage, inputs, guide, stage, (fmt, interviewer, candidate, whisper_model, channels,
                                                              rttm, not skip_check), task_for, "audited",
                   lambda g, items, failed: batch_coverage(g, items, [BatchFailure(source=src, error=err)
                                                                      for src, err in failed]),
                   output=output, json_out=json_out)


# ---------------------------------------------------------------- coach


@app.command("coach")
def coach_cmd(
    inputs: Annotated[list[str], typer.Argument(help="An interview (transcript or recording), several, a folder or a glob.")],
    guide: GuideOpt,
    stage: StageOpt = None,
    rules: Annotated[Optional[list[Path]], typer.Option(
        "--rules", help="Extra must-not-ask rules (YAML, same schema as the bundled file); repeatable.")] = None,
    fmt: FormatOpt = None,
    interviewer: InterviewerOpt = None,
    candidate: CandidateOpt = None,
    whisper_model: ModelOpt = None,
    channels: ChannelsOpt = None,
    rttm: RttmOpt = None,
    skip_check: SkipCheckOpt = False,
    jobs: JobsOpt = None,
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Coaching report on the interviewer: talk time, guide structure, question quality, questions that must not
    be asked, and the three things to do differently, each tied to transcript lines.

    A folder or glob gives one row per interviewer.
    """
    import functools

    from evaluator import pipeline
    from evaluator.coach import CoachReport, load_must_not_ask_rules, summarize

    def task_for(g):
        return functools.partial(pipeline.coach_task, guide=g, rules=load_must_not_ask_rules(rules)), jobs

    _batch_command(CoachReport, inputs, guide, stage, (fmt, interviewer, candidate, whisper_model, channels, rttm,
                                                  not skip_check),
                   task_for, "coached",
                   lambda g, reports, failed: summarize(reports, [f"{src}: {err}" for src, err in failed]),
                   output=output, json_out=json_out)


# ---------------------------------------------------------------- evaluate


@app.command("evaluate")
def evaluate_cmd(
    input: Annotated[Path, typer.Argument(help="The interview: a recording or a transcript (.vtt .srt .txt .json).")],
    guide: GuideOpt,
    stage: StageOpt = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Write the draft scorecard JSON here (the source of truth for review).")] = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="LLM model name (env INTERVIEW_EVAL_MODEL; default gpt-4o-mini).")] = None,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL), e.g. http://localhost:11434/v1.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds per LLM request (env INTERVIEW_EVAL_TIMEOUT).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Criteria scored at once.")] = 4,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the LLM again instead of reusing cached answers.")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Do not call any LLM: collect evidence passages only.")] = False,
    redact: Annotated[bool, typer.Option(
        "--redact", help="Replace e-mails, phone numbers, URLs and speaker names before text is sent to the LLM.")] = False,
    budget: Annotated[int, typer.Option("--max-passage-tokens", min=200, help="Transcript tokens sent per criterion.")] = 750,
    max_output_tokens: Annotated[Optional[int], typer.Option(
        "--max-output-tokens", min=64, help="Most tokens the model may answer per call "
        "(env INTERVIEW_EVAL_MAX_OUTPUT_TOKENS; default 1024).")] = None,
    fmt: FormatOpt = None,
    interviewer: InterviewerOpt = None,
    candidate: CandidateOpt = None,
    whisper_model: ModelOpt = None,
    channels: ChannelsOpt = None,
    rttm: RttmOpt = None,
    skip_check: SkipCheckOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Draft a scorecard: transcribe if needed, align to the stage, propose a score per criterion with
    verified verbatim quotes. Without an LLM it still collects evidence and says scores need a reviewer.

    The LLM is any OpenAI-compatible endpoint: OPENAI_API_KEY, OPENAI_BASE_URL, --model. Answers are
    cached, so re-running costs nothing and fills in only criteria whose calls failed.
    """
    from evaluator import pipeline
    from evaluator.guide import load_guide
    from evaluator.render import render

    try:
        if output is not None and output.suffix.lower() != ".json":
            raise UsageError(f"{output}: the draft is written as JSON", hint="use -o draft.json; render it with "
                             "`interview-eval report draft.json --format md|html|csv`")
        if output is not None:
            from evaluator.files import check_writable

            check_writable(output, inputs=[input])
        g = load_guide(guide)
        if stage:  # before reading (or transcribing) anything
            from evaluator.score import require_scorecard

            require_scorecard(g, g.stage(stage))
        llm = pipeline.llm_choice(model=model, base_url=base_url, timeout_s=timeout, concurrency=concurrency,
                                  use_cache=not no_cache, enabled=not no_llm, max_output_tokens=max_output_tokens)
        t, st, det = _interview(input, g, stage, fmt, interviewer, candidate, whisper_model, channels, rttm,
                                check=not skip_check)
        if det is not None:
            info(f"stage: {det.reason}")
        draft = pipeline.evaluate_interview(pipeline.Interview(transcript=t, stage=st, detection=det), g, llm=llm,
                                            redact=redact, budget_tokens=budget)
        if output is not None:
            pipeline.write_draft(draft, output)
    except EvalError as exc:
        fail(exc)
    failed = pipeline.failed_criteria(draft)
    for s in draft.scores:
        if s.status == "failed":
            warn(f"{s.criterion_id}: {s.error}")
    if failed:
        every = not any(s.status in ("proposed", "no_evidence") for s in draft.scores)
        _line("error:", "31", f"{'every' if every else len(failed)} of {len(draft.scores)} criteria could not be "
              f"scored (the LLM call failed){'; the draft has no AI scores' if every else ''} — re-run the same "
              "command to fill them in (answers already received are cached)")
    if json_out:
        print_json(draft)
    else:
        print_markdown(render(draft, "md"))
        if output is not None:
            info(f"wrote {output}")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- review


def _review_interactive(store, ref: str, reviewer: str, transcript) -> bool:
    """Walk through every undecided criterion; each decision is saved (under the lock) the moment it is made.
    Returns True when the reviewer asked to finalise after the summary."""
    from rich.console import Console
    from rich.markdown import Markdown

    from evaluator import pipeline
    from evaluator import review as rv
    from evaluator.render.scorecard import criterion_markdown, criterion_view
    from evaluator.text import fmt_time

    con = Console(highlight=False)
    card, state, progress = pipeline.review_status(store, ref, reviewer)
    todo = progress.remaining
    for i, cid in enumerate(todo, 1):
        p = card.score_for(cid)
        con.rule(f"criterion {i} of {len(todo)} still to decide")
        con.print(Markdown(criterion_markdown(criterion_view(p))))
        scale = ", ".join(f"{k}={v}" for k, v in sorted(p.anchors.items()))
        while True:
            # no default: pressing Enter never decides anything
            choice = typer.prompt("[c]onfirm, [o]verride, add [q]uote, add [n]ote, [s]kip for later, "
                                  "[x] save and quit").strip().lower()[:1]
            try:
                if choice == "c":
                    change = rv.Change(action="confirm", ref=cid)
                elif choice == "o":
                    score = typer.prompt(f"score ({scale})")
                    rv.check_score(p, score)
                    change = rv.Change(action="override", ref=cid, score=score,
                                       text=typer.prompt("reason for the override (required)"))
                elif choice == "q":
                    change = rv.Change(action="add_quote", ref=cid,
                                       text=typer.prompt("the candidate's words, copied from the transcript"))
                elif choice == "n":
                    change = rv.Change(action="note", ref=cid, text=typer.prompt("note"))
                elif choice == "s":
                    break
                elif choice == "x":
                    return False
                else:
                    warn(f"unknown choice {choice!r}")
                    continue
                pipeline.decide(store, ref, reviewer, [change], transcript)
            except EvalError as exc:
                warn(exc.one_line())
                continue
            if choice == "q":
                _, st, _ = pipeline.review_status(store, ref, reviewer)
                q = st.criteria[cid].added_quotes[-1]
                con.print(f"added: \u201c{q.quote}\u201d ({fmt_time(q.start_s)}, {q.segment_id})")
            if choice in ("c", "o"):
                break
    card, state, progress = pipeline.review_status(store, ref, reviewer)
    if progress.remaining:
        return False
    con.rule("summary before finalising")
    for p in rv.proposals(card):
        d = state.criteria[p.criterion_id].decision
        con.print(f"  {p.criterion_name}: {d.score} ({'confirmed' if d.action == 'confirm' else 'overridden: ' + d.reason})")
    for c in rv.contradictions(card, state):
        warn(f"check: {c}")
    return typer.confirm("finalise this scorecard now? (it cannot be edited afterwards, only revised)", default=False)


@app.command("review")
def review_cmd(
    scorecard: Annotated[Path, typer.Argument(help="A draft (from `evaluate -o draft.json`) or a final scorecard.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name; recorded with every decision.")],
    transcript: Annotated[Optional[Path], typer.Option(
        "--transcript", help="The transcript the evidence points into (a draft JSON or transcript file); "
        "needed to add quotes to a final scorecard. Accepted only if its content hash matches "
        "source.transcript_content_sha256.")] = None,
    confirm: Annotated[Optional[list[str]], typer.Option(
        "--confirm", help="Confirm the AI's score for this criterion (id or name); repeatable.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override: ID=SCORE with a --reason, or 'ID=SCORE:reason'; repeatable.")] = None,
    reason: Annotated[Optional[list[str]], typer.Option(
        "--reason", help="Reason for an override; the n-th --reason belongs to the n-th --set without "
        "an inline reason.")] = None,
    add_quote: Annotated[Optional[list[str]], typer.Option(
        "--add-quote", help="ID=\"the candidate's words\": your own evidence, verified in candidate turns.")] = None,
    note: Annotated[Optional[list[str]], typer.Option("--note", help="ID=\"text\": a note on a criterion.")] = None,
    interactive: Annotated[Optional[bool], typer.Option(
        "--interactive/--no-interactive", help="Walk through the criteria with prompts (default: on a terminal, "
        "when no decisions are given as options).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Confirm or override every proposed score; the final scorecard keeps the AI proposal beside each decision.

    Every decision is saved at once (under a lock, so parallel runs lose nothing) to
    DRAFT.review.<reviewer>-<hash>.json, so an interrupted review resumes where it stopped; two reviewers of one
    draft keep separate reviews (and finals) for calibration. The final scorecard (DRAFT.final.json; another
    reviewer's DRAFT.final.<reviewer>-<hash>.json) is written only when every criterion is decided; until then
    the criteria left are listed (exit 0). There is no accept-all: each criterion needs its own --confirm or
    --set; the interactive review shows a summary, and any contradiction between the overall recommendation
    and the criteria, before it asks to finalise.

    A final scorecard is never edited in place: `review FINAL.json --reviewer NAME --set ID=SCORE --reason TEXT`
    writes a new revision FINAL.r2.json (revision + 1, previous_sha256 = hash of FINAL.json).

    Examples: review draft.json --reviewer "Dana" --confirm relevant-experience --set overall-recommendation=3
    --reason "strong on retention"
    """
    from evaluator import pipeline
    from evaluator import review as rv
    from evaluator.scorecard import Draft
    from evaluator.store import FileStore

    store = FileStore()
    ref = str(scorecard)
    try:
        card, _ = store.load_card(ref)
        changes = rv.parse_changes(confirm, set_, reason, add_quote, note)
        t = pipeline.transcript_for_review(transcript, card) if transcript else (
            card.transcript if isinstance(card, Draft) else None)
        if not isinstance(card, Draft):
            new, where, notes = pipeline.revise_final(store, ref, reviewer, changes, t)
            for n in notes:
                warn(n)
            progress = rv.ReviewProgress(draft=ref, decided=[c.criterion_id for c in new.criteria],
                                         remaining=[], final=where, revision=new.revision)
        else:
            progress = pipeline.decide(store, ref, reviewer, changes, t)
            finalise = not progress.remaining
            if not changes and progress.remaining and (
                    interactive or (interactive is None and sys.stdin.isatty() and sys.stdout.isatty())):
                try:
                    finalise = _review_interactive(store, ref, reviewer, t)
                except (KeyboardInterrupt, typer.Abort, EOFError):
                    _line("stopped:", "33", f"every decision so far is saved in {store.state_path(ref, reviewer)}; "
                          "run the same command to resume")
                    raise typer.Exit(130)
                progress = pipeline.decide(store, ref, reviewer, [], t)
            if finalise and not progress.remaining:
                _, state, _ = pipeline.review_status(store, ref, reviewer)
                for c in rv.contradictions(card, state):
                    warn(f"finalised despite: {c}")
                final, where = pipeline.finalize(store, ref, reviewer)
                progress = progress.model_copy(update={"final": where, "revision": 1})
            progress = progress.model_copy(update={"state_file": str(store.state_path(ref, reviewer))})
    except EvalError as exc:
        fail(exc)
    if json_out:
        print_json(progress)
    elif progress.final:
        what = f"revision {progress.revision}" if (progress.revision or 1) > 1 else "final scorecard"
        sys.stdout.write(f"{what}: every criterion decided -> {progress.final}\n")
    else:
        total = len(progress.decided) + len(progress.remaining)
        sys.stdout.write(f"{len(progress.decided)}/{total} criteria decided (saved in {progress.state_file}); "
                         f"still to decide: {' '.join(progress.remaining)}\n")


# ---------------------------------------------------------------- report


@app.command("report")
def report_cmd(
    scorecard: Annotated[Path, typer.Argument(help="A draft or final scorecard JSON.")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="md, html (self-contained, printable), csv (one row per criterion) or json; "
        "default: from the -o extension, else md.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the report here (atomically).")] = None,
) -> None:
    """Render a draft or final scorecard: Markdown, printable HTML, CSV for spreadsheets/ATS, or JSON."""
    from evaluator.render import render, resolve_format
    from evaluator.scorecard import Draft
    from evaluator.store import load_scorecard

    try:
        fmt = resolve_format(Draft, fmt=fmt, path=output)  # a final scorecard has the same formats
        card = load_scorecard(scorecard)
        if output is not None:
            _write_report(card, output, fmt)
        else:
            text = render(card, fmt)
    except EvalError as exc:
        fail(exc)
    if output is None:
        if fmt == "md":
            print_markdown(text)
        else:
            sys.stdout.write(text)


# ---------------------------------------------------------------- debrief and calibrate


@app.command("debrief")
def debrief_cmd(
    scorecards: Annotated[list[str], typer.Argument(help="One candidate's draft or final scorecards (files or a folder).")],
    guide: Annotated[Optional[str], typer.Option(
        "--guide", "-g", help="The guide (default: the one the scorecards name in source.guide_id).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Write the packet here: .html (printable), .md or .json.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The debrief packet for one candidate: every competency across stages and interviewers with quotes,
    disagreements, goals, overall recommendations, coverage gaps, and the guide's debrief questions as agenda.

    Scorecards of different candidates or guides are refused. The candidate is the scorecard's `candidate`
    field, else the candidate speaker's name in the transcript.
    """
    from evaluator.debrief import DebriefPacket, debrief_files
    from evaluator.render import resolve_format

    try:
        if output:
            resolve_format(DebriefPacket, path=output)
        g = None
        if guide:
            from evaluator.guide import load_guide

            g = load_guide(guide)
        packet = debrief_files(scorecards, g)
        if output:
            _write_report(packet, output)
    except EvalError as exc:
        fail(exc)
    _emit(packet, json_out=json_out, output=output, warnings=packet.warnings)


@app.command("calibrate")
def calibrate_cmd(
    reference: Annotated[Optional[list[str]], typer.Option(
        "--reference", help="The reference scorer's scorecards (files or folders; repeatable).")] = None,
    trainee: Annotated[Optional[list[str]], typer.Option(
        "--trainee", help="The trainee's scorecards of the same interviews (files or folders; repeatable).")] = None,
    ai_vs_human: Annotated[Optional[list[str]], typer.Option(
        "--ai-vs-human", help="Final scorecards: compare the AI's proposals with the humans' final scores "
        "and show how often reviewers override (files or folders; repeatable).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the report (.md .html .json).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """How two scorers agree: per criterion exact agreement, within 1 point, quadratic weighted kappa,
    mean difference, and the interviews where they diverge most.

    Scorecards are paired by transcript content + stage. `--ai-vs-human` compares the AI with the reviewers
    and counts overrides per criterion and per reviewer.
    """
    from evaluator.calibrate import CalibrationReport, calibrate_files
    from evaluator.render import resolve_format

    try:
        if output:
            resolve_format(CalibrationReport, path=output)
        result = calibrate_files(reference, trainee, ai_vs_human)
        if output:
            _write_report(result, output)
    except EvalError as exc:
        fail(exc)
    _emit(result, json_out=json_out, output=output, warnings=result.warnings)


# ---------------------------------------------------------------- the review desk (web)

web_app = typer.Typer(help="The review desk's database: import and export the JSON files.", no_args_is_help=True)
app.add_typer(web_app, name="web")
WorkspaceOpt = Annotated[Optional[Path], typer.Option(
    "--workspace", help="The review desk's folder: its SQLite database and uploaded recordings (env "
    "INTERVIEW_EVAL_WORKSPACE; default ~/.local/share/interview-eval/desk).")]
DbOpt = Annotated[Optional[str], typer.Option(
    "--db", help="An SQLAlchemy database URL instead of the workspace's SQLite file, e.g. "
    "postgresql+psycopg://user@host/desk (env INTERVIEW_EVAL_DB).")]


def _desk_workspace(workspace: Optional[Path]) -> Path:
    if workspace is not None:
        return workspace
    env = os.environ.get("INTERVIEW_EVAL_WORKSPACE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / "interview-eval" / "desk"


def _desk_db(workspace: Optional[Path], db: Optional[str]):
    """The review desk's database (migrated), or a usage error saying how to install the web extra."""
    try:
        from evaluator.web.db import Database, default_url
    except ImportError as exc:
        raise UsageError(f"the review desk needs the web extra ({exc.name} is not installed)",
                         hint="pip install 'interview-eval[web]'") from None
    ws = _desk_workspace(workspace).expanduser()
    ws.mkdir(parents=True, exist_ok=True)
    return Database(db or os.environ.get("INTERVIEW_EVAL_DB") or default_url(ws))


@web_app.command("import")
def web_import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Drafts, review states (.review.*.json) and final scorecards "
                                                "(with revisions): files or folders.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import scorecard JSON files (and the team's guide YAML of an export) into the review desk, losslessly
    (their exact text is kept).

    Every scorecard is validated (integrity seal, quotes found again in the transcript); reviews and finals are
    matched to their draft by the sha256 they record. Importing the same files again changes nothing."""
    try:
        from evaluator.web.transfer import import_files

        report = import_files(_desk_db(workspace, db), list(files), created_by="import")
    except EvalError as exc:
        fail(exc)
    for s in report.skipped:
        warn(s)
    if json_out:
        print_json(report)
        return
    sys.stdout.write(f"imported {len(report.guides)} guides, {len(report.drafts)} drafts, "
                     f"{len(report.review_states)} review states, {len(report.finals)} finals and revisions; "
                     f"{len(report.unchanged)} already there\n")


@web_app.command("export")
def web_export_cmd(
    out_dir: Annotated[Path, typer.Argument(help="The folder to write the files into (never overwrites).")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export every draft, review state, final scorecard and revision as the JSON files `review` writes, and the
    team's guides as guides/<id>-v<version>.yaml."""
    try:
        from evaluator.web.transfer import export_dir

        report = export_dir(_desk_db(workspace, db), out_dir)
    except EvalError as exc:
        fail(exc)
    if json_out:
        print_json(report)
        return
    sys.stdout.write(f"{out_dir}: {len(report.guides)} team guides, {len(report.drafts)} drafts, "
                     f"{len(report.review_states)} review states, {len(report.finals)} finals and revisions written; "
                     f"{len(report.unchanged)} already there\n")


@app.command("serve")
def serve_cmd(
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; beyond this machine only with --auth.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8765,
    auth: Annotated[str, typer.Option(
        "--auth", help="none (a name per browser; this machine only), token (a shared token: "
        "INTERVIEW_EVAL_WEB_TOKEN, or one made and printed now) or basic (HTTP basic login, --users).")] = "none",
    users: Annotated[Optional[Path], typer.Option(
        "--users", help="For --auth basic: a file of name:password or name:sha256:<hex> lines.")] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted.")] = 1024,
    model: Annotated[Optional[str], typer.Option("--model", help="LLM model for drafts (env INTERVIEW_EVAL_MODEL).")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="LLM endpoint (env OPENAI_BASE_URL).")] = None,
) -> None:
    """The review desk: a local web app to upload recordings or transcripts, draft scorecards in the background,
    and review them in the browser with the recording at hand, to a final scorecard with its audit trail.

    Listens on 127.0.0.1:8765 by default; nothing is loaded from the network. Drafts, reviews and finals are
    kept in the workspace's SQLite database (or --db); `web import` / `web export` move the JSON files in and out.
    """
    try:
        try:
            import uvicorn

            from evaluator.web.app import DeskConfig, asgi_app, check_bind
            from evaluator.web.security import AuthConfig, new_token, read_users
        except ImportError as exc:
            raise UsageError(f"the review desk needs the web extra ({exc.name} is not installed)",
                             hint="pip install 'interview-eval[web]'") from None
        if auth not in ("none", "token", "basic"):
            raise UsageError(f"--auth {auth!r}: expected none, token or basic")
        check_bind(host, auth)
        auth_cfg = AuthConfig(mode=auth)
        if auth == "token":
            auth_cfg.token = os.environ.get("INTERVIEW_EVAL_WEB_TOKEN") or new_token()
        if auth == "basic":
            if users is None:
                raise UsageError("--auth basic needs --users FILE", hint="one name:password a line")
            auth_cfg.users = read_users(users)
        ws = _desk_workspace(workspace).expanduser().resolve()
        from evaluator.web.security import is_loopback

        cfg = DeskConfig(workspace=ws, db_url=db or os.environ.get("INTERVIEW_EVAL_DB"), auth=auth_cfg,
                         allowed_hosts=({"127.0.0.1", "localhost", "[::1]"} if is_loopback(host) else None),
                         max_upload_mb=max_upload_mb,
                         llm_options={k: v for k, v in (("model", model), ("base_url", base_url)) if v})
        asgi = asgi_app(cfg)
    except EvalError as exc:
        fail(exc)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    sys.stderr.write(f"review desk: http://{shown}:{port}/  (workspace {ws}; Ctrl+C stops it)\n")
    if auth == "token" and not os.environ.get("INTERVIEW_EVAL_WEB_TOKEN"):
        sys.stderr.write(f"access token (give it to your reviewers): {auth_cfg.token}\n")
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- entry point


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is somewhere in the chain of exceptions that led to `exc`."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def main() -> None:
    """Console entry point: run the app, turning our errors into one red line and an exit code."""
    debug = os.environ.get("INTERVIEW_EVAL_DEBUG") == "1"
    try:
        app()
    except EvalError as exc:
        if debug:
            raise
        _line("error:", "31", exc.one_line())
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        _line("error:", "31", "interrupted")
        sys.exit(130)
    except SystemExit as exc:
        # Typer turns Ctrl-C inside a command into a bare exit 130; say why, as for an interrupt before it.
        if exc.code == 130 and _caused_by(exc, KeyboardInterrupt):
            _line("error:", "31", "interrupted")
        raise
    except OSError as exc:  # the system refused (full disk, read-only folder, permissions): not a bug
        if debug:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _line("error:", "31", f"{where}{exc.strerror or exc} — check the path, free space and permissions")
        sys.exit(1)
    except Exception as exc:  # a bug: still one line unless debugging
        if debug:
            raise
        _line("error:", "31", f"internal error: {type(exc).__name__}: {exc} "
              "(set INTERVIEW_EVAL_DEBUG=1 for the traceback and please report it)")
        sys.exit(1)


if __name__ == "__main__":
    main()
