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
    from evaluator.guide import load_guide, render_guide_markdown

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
            from evaluator.formats import format_for_path

            format_for_path(output)  # an unsupported -o extension fails before minutes of transcription
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
    """Question texts of a guide or one stage, for role inference."""
    if stage and not guide:
        raise UsageError("--stage needs --guide", hint="add --guide NAME_OR_PATH (see `guides list`)")
    if not guide:
        return None
    from evaluator.guide import load_guide

    g = load_guide(guide)
    stages = [g.stage(stage)] if stage else g.stages
    return [q.text for st in stages for q in st.questions]


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
        out_fmt = normalize_format(to_fmt) if to_fmt else format_for_path(dst)  # fail before reading
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


def _expand_inputs(inputs: list[str]) -> list[Path]:
    """Files named directly, every interview file in a folder, or a glob pattern."""
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
    return out


def _interview(path: Path, guide, stage_ref, fmt, interviewer, candidate, model=None, channels=None, rttm=None):
    """Load one interview with roles; pick the stage (given, or detected)."""
    from evaluator.align import detect_stage
    from evaluator.inputs import load_interview

    from evaluator.formats import is_audio_path

    stage = guide.stage(stage_ref) if stage_ref else None
    with _transcribe_progress(active=fmt is None and is_audio_path(path)) as update:
        t = load_interview(path, fmt=fmt, guide=guide, stage=stage, interviewer=interviewer, candidate=candidate,
                           model=model, channels=channels, rttm=rttm, progress=update)
    detection = None
    if stage is None:
        detection = detect_stage(t, guide)
        if detection.scores.get(detection.stage_id, 0) < 0.12:
            raise UsageError(f"{path}: {detection.reason}",
                             hint="valid stages: " + ", ".join(s.id for s in guide.stages))
        stage = guide.stage(detection.stage_id)
    return t, stage, detection


def _write_report(output: Path, text: str) -> None:
    from evaluator.files import atomic_write

    atomic_write(output, text)
    info(f"wrote {output}")


def _each_interview(inputs: list[str], guide, stage, load: tuple, make, what: str):
    """Run `make(transcript, stage, detection)` on every interview named: (single, results, failures).
    A batch goes on past a file it cannot read (and lists it); a single interview fails with its error."""
    paths = _expand_inputs(inputs)
    single = len(paths) == 1 and len(inputs) == 1 and not Path(inputs[0]).is_dir()
    results, failures = [], []
    for p in paths:
        try:
            t, st, det = _interview(p, guide, stage, *load)
            results.append(make(t, st, det))
        except EvalError as exc:
            if single:
                raise
            failures.append((str(p), exc.one_line()))
            warn(exc.one_line())
    if not results:
        raise EvalError(f"none of the {len(paths)} interviews could be {what}", hint="see the warnings above")
    return single, results, failures


def _emit(result, md, *, json_out: bool, output: Optional[Path], warnings: list[str]) -> None:
    """Warnings on stderr; then one JSON document, or Markdown unless the report went to a file."""
    for w in warnings:
        warn(w)
    if json_out:
        print_json(result)
    elif not output:
        print_markdown(md(result))


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
    areas: Annotated[str, typer.Option(
        "--areas", help="How areas to cover are judged: offline (word matching) or llm (checked against the "
        "transcript like quotes; needs OPENAI_API_KEY or OPENAI_BASE_URL).")] = "offline",
    model: Annotated[Optional[str], typer.Option("--model", help="LLM model for --areas llm.")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="LLM endpoint for --areas llm.")] = None,
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Audit question coverage: which required questions were asked, where, and which areas were probed.

    One interview gives a per-question table; a folder or glob gives a table per interview and per
    interviewer, and the questions most often skipped.
    """
    from evaluator.coverage import BatchFailure, batch_coverage, interview_coverage
    from evaluator.guide import load_guide
    from evaluator.report import output_format, render, render_batch_markdown, render_coverage_markdown

    try:
        out_fmt = output_format(output, ("md", "html", "json")) if output else None
        g = load_guide(guide)
        if stage:
            g.stage(stage)
        if areas not in ("offline", "llm"):
            raise UsageError(f"--areas {areas!r}: expected offline or llm")
        client = None
        if areas == "llm":
            from evaluator.llm import LLMClient, is_configured, settings_from

            settings = settings_from(model=model, base_url=base_url)
            if not is_configured(settings):
                raise UsageError("--areas llm needs an LLM endpoint",
                                 hint="set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server")
            client = LLMClient(settings)
        from evaluator.align import align

        def audit(t, st, det):
            return interview_coverage(t, g, st, detection=det, alignment=align(t, st, guide=g, method=areas,
                                                                                client=client))

        single, items, failed = _each_interview(inputs, g, stage, (fmt, interviewer, candidate, whisper_model,
                                                                    channels, rttm), audit, "audited")
        if single:
            report, md, title = items[0], render_coverage_markdown, f"Coverage: {items[0].source}"
        else:
            failures = [BatchFailure(source=src, error=err) for src, err in failed]
            report, md, title = batch_coverage(g, items, failures), render_batch_markdown, "Coverage audit"
        if output:
            _write_report(output, render(report, out_fmt, markdown=md, title=title))
    except EvalError as exc:
        fail(exc)
    _emit(report, md, json_out=json_out, output=output, warnings=report.warnings if single else [])


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
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Coaching report on the interviewer: talk time, guide structure, question quality, questions that must not
    be asked, and the three things to do differently, each tied to transcript lines.

    A folder or glob gives one row per interviewer.
    """
    from evaluator.coach import coach, load_must_not_ask_rules, render_coach_markdown, render_summary_markdown, summarize
    from evaluator.guide import load_guide
    from evaluator.report import output_format, render

    try:
        out_fmt = output_format(output, ("md", "html", "json")) if output else None
        g = load_guide(guide)
        if stage:
            g.stage(stage)
        rule_set = load_must_not_ask_rules(rules)
        single, reports, failed = _each_interview(
            inputs, g, stage, (fmt, interviewer, candidate, whisper_model, channels, rttm),
            lambda t, st, det: coach(t, st, guide=g, rules=rule_set), "coached")
        if single:
            result, md, title = reports[0], render_coach_markdown, f"Coaching report: {reports[0].source or ''}"
        else:
            result, md, title = (summarize(reports, [f"{src}: {err}" for src, err in failed]),
                                 render_summary_markdown, "Coaching summary")
        if output:
            _write_report(output, render(result, out_fmt, markdown=md, title=title))
    except EvalError as exc:
        fail(exc)
    _emit(result, md, json_out=json_out, output=output, warnings=result.warnings if single else [])


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
    fmt: FormatOpt = None,
    interviewer: InterviewerOpt = None,
    candidate: CandidateOpt = None,
    whisper_model: ModelOpt = None,
    channels: ChannelsOpt = None,
    rttm: RttmOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Draft a scorecard: transcribe if needed, align to the stage, propose a score per criterion with
    verified verbatim quotes. Without an LLM it still collects evidence and says scores need a reviewer.

    The LLM is any OpenAI-compatible endpoint: OPENAI_API_KEY, OPENAI_BASE_URL, --model. Answers are
    cached, so re-running costs nothing and fills in only criteria whose calls failed.
    """
    from evaluator.align import align
    from evaluator.files import atomic_write
    from evaluator.guide import load_guide
    from evaluator.report import render_scorecard_markdown
    from evaluator.score import EvaluateOptions, evaluate
    from evaluator.scorecard import Draft

    try:
        if output is not None and output.suffix.lower() != ".json":
            raise UsageError(f"{output}: the draft is written as JSON", hint="use -o draft.json; render it with "
                             "`interview-eval report draft.json --format md|html|csv`")
        g = load_guide(guide)
        t, st, det = _interview(input, g, stage, fmt, interviewer, candidate, whisper_model, channels, rttm)
        if det is not None:
            info(f"stage: {det.reason}")
        al = align(t, st, guide=g)
        client, llm_info = None, {}
        if not no_llm:
            from evaluator.llm import LLMClient, endpoint_host, is_configured, settings_from

            settings = settings_from(model=model, base_url=base_url, timeout_s=timeout, concurrency=concurrency,
                                     use_cache=not no_cache)
            if is_configured(settings):
                client = LLMClient(settings)
                llm_info = {"model": settings.model, "endpoint_host": endpoint_host(settings)}
        previous = None
        if output is not None and output.exists() and client is not None:
            try:
                prev = Draft.model_validate_json(output.read_text(encoding="utf-8"))
                if (prev.source.transcript_content_sha256 == t.content_sha256() and prev.source.stage_id == st.id
                        and prev.source.guide_sha256 == g.content_sha256() and prev.llm_configured):
                    previous = prev
            except Exception:
                previous = None
        draft = evaluate(t, g, st, al, client=client, opts=EvaluateOptions(redact=redact, budget_tokens=budget),
                         llm_info=llm_info, previous=previous)
        if output is not None:
            atomic_write(output, draft.model_dump_json(indent=2) + "\n")
    except EvalError as exc:
        fail(exc)
    for s in draft.scores:
        if s.status == "failed":
            warn(f"{s.criterion_id}: {s.error}")
    if json_out:
        print_json(draft)
        return
    print_markdown(render_scorecard_markdown(draft))
    if output is not None:
        info(f"wrote {output}")
    if any(s.status == "failed" for s in draft.scores):
        raise typer.Exit(1)


# ---------------------------------------------------------------- review


def _review_interactive(card, draft_path: Path, state, reviewer: str, transcript):
    """Walk through every undecided criterion; each decision is saved the moment it is made."""
    from rich.console import Console
    from rich.markdown import Markdown

    from evaluator import review as rv
    from evaluator.report import criterion_markdown

    con = Console(highlight=False)
    todo = rv.remaining(card, state)
    for i, cid in enumerate(todo, 1):
        p = card.score_for(cid)
        con.rule(f"criterion {i} of {len(todo)} still to decide")
        con.print(Markdown(criterion_markdown(p)))
        scale = ", ".join(f"{k}={v}" for k, v in sorted(p.anchors.items()))
        while True:
            default = "c" if p.score is not None else "o"
            choice = typer.prompt("[c]onfirm, [o]verride, add [q]uote, add [n]ote, [s]kip for later, "
                                  "[x] save and quit", default=default).strip().lower()[:1]
            try:
                if choice == "c":
                    state = rv.confirm(state, p, reviewer)
                elif choice == "o":
                    score = typer.prompt(f"score ({scale})")
                    rv.check_score(p, score)
                    reason = typer.prompt("reason for the override (required)")
                    state = rv.override(state, p, score, reason, reviewer)
                elif choice == "q":
                    text = typer.prompt("the candidate's words, copied from the transcript")
                    state = rv.add_quote(state, p, text, transcript, reviewer)
                    q = state.criteria[cid].added_quotes[-1]
                    from evaluator.text import fmt_time

                    con.print(f"added: \u201c{q.quote}\u201d ({fmt_time(q.start_s)}, {q.segment_id})")
                elif choice == "n":
                    state = rv.add_note(state, p, typer.prompt("note"), reviewer)
                elif choice == "s":
                    break
                elif choice == "x":
                    return state
                else:
                    warn(f"unknown choice {choice!r}")
                    continue
            except EvalError as exc:
                warn(exc.one_line())
                continue
            rv.save_state(draft_path, state, reviewer)
            if choice in ("c", "o"):
                break
    return state


@app.command("review")
def review_cmd(
    scorecard: Annotated[Path, typer.Argument(help="A draft (from `evaluate -o draft.json`) or a final scorecard.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name; recorded with every decision.")],
    transcript: Annotated[Optional[Path], typer.Option(
        "--transcript", help="The transcript the evidence points into (a draft JSON or transcript file); "
        "needed to add quotes to a final scorecard. Accepted only if its content hash matches "
        "source.transcript_content_sha256.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Where to write the final scorecard (default DRAFT.final.json; for a revision "
        "FINAL.r2.json, .r3...). Never overwrites.")] = None,
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

    Every decision is saved at once to DRAFT.review.<reviewer>.json, so an interrupted review resumes where it
    stopped; two reviewers of one draft keep separate reviews (and finals) for calibration.
    The final scorecard (DRAFT.final.json) is written only when every criterion is decided; until then the
    criteria left are listed (exit 0). There is no accept-all: each criterion needs its own --confirm or --set.

    A final scorecard is never edited in place: `review FINAL.json --reviewer NAME --set ID=SCORE --reason TEXT`
    writes a new revision FINAL.r2.json (revision + 1, previous_sha256 = hash of FINAL.json).

    Examples: review draft.json --reviewer "Dana" --confirm relevant-experience --set overall-recommendation=3
    --reason "strong on retention"
    """
    from evaluator import review as rv
    from evaluator.files import atomic_write, sha256_file
    from evaluator.scorecard import Draft

    try:
        card = rv.load_scorecard(scorecard)
        sha = sha256_file(scorecard)
        changes = rv.parse_changes(confirm, set_, reason, add_quote, note)
        t = rv.transcript_for_review(transcript, card) if transcript else (
            card.transcript if isinstance(card, Draft) else None)
        if not isinstance(card, Draft):
            state = rv.apply_changes(card, rv.state_from_final(card, sha), changes, reviewer, t)
            new = rv.revise(card, sha, state, reviewer)
            out = output or rv.revision_path(scorecard, new.revision)
            if out.exists():
                raise rv.ReviewError(f"{out}: already exists; a scorecard is never overwritten",
                                     hint="revise the latest revision, or choose another file with -o")
            atomic_write(out, new.model_dump_json(indent=2) + "\n")
            progress = rv.ReviewProgress(draft=str(scorecard), decided=[c.criterion_id for c in new.criteria],
                                         remaining=[], final=str(out), revision=new.revision)
        else:
            out = output or rv.final_path(scorecard, reviewer)
            if out.exists():
                hint = (f"to change it make a revision: review {out} --reviewer NAME --set ID=SCORE --reason TEXT")
                raise rv.ReviewError(f"{out}: a final scorecard already exists; it is never overwritten", hint=hint)
            state = rv.load_state(scorecard, sha, reviewer)
            if changes:
                state = rv.apply_changes(card, state, changes, reviewer, t)
                rv.save_state(scorecard, state, reviewer)
            elif interactive or (interactive is None and sys.stdin.isatty() and sys.stdout.isatty()):
                try:
                    state = _review_interactive(card, scorecard, state, reviewer, t)
                except (KeyboardInterrupt, typer.Abort, EOFError):
                    _line("stopped:", "33", f"every decision so far is saved in {rv.state_path(scorecard, reviewer)}; "
                          "run the same command to resume")
                    raise typer.Exit(130)
            left = rv.remaining(card, state)
            final = None
            if not left:
                final = rv.finalize(card, sha, state, reviewer)
                atomic_write(out, final.model_dump_json(indent=2) + "\n")
            progress = rv.ReviewProgress(draft=str(scorecard), state_file=str(rv.state_path(scorecard, reviewer)),
                                         decided=[p.criterion_id for p in card.scores if p.criterion_id not in left],
                                         remaining=left, final=str(out) if final else None,
                                         revision=1 if final else None)
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
    from evaluator.report import output_format, render_scorecard
    from evaluator.review import load_scorecard

    allowed = ("md", "html", "csv", "json")
    try:
        if fmt is not None:
            fmt = {"markdown": "md", "htm": "html"}.get(fmt.lower(), fmt.lower())
            if fmt not in allowed:
                raise UsageError(f"--format {fmt!r} is not a report format", hint="use one of: " + ", ".join(allowed))
        elif output is not None:
            fmt = output_format(output, allowed)
        else:
            fmt = "md"
        card = load_scorecard(scorecard)
        text = render_scorecard(card, fmt)
        if output is not None:
            _write_report(output, text)
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
    from evaluator.debrief import debrief_files, render_debrief_markdown
    from evaluator.report import output_format, render

    try:
        out_fmt = output_format(output, ("md", "html", "json")) if output else None
        g = None
        if guide:
            from evaluator.guide import load_guide

            g = load_guide(guide)
        packet = debrief_files(scorecards, g)
        if output:
            _write_report(output, render(packet, out_fmt, markdown=render_debrief_markdown,
                                         title=f"Debrief: {packet.candidate}"))
    except EvalError as exc:
        fail(exc)
    _emit(packet, render_debrief_markdown, json_out=json_out, output=output, warnings=packet.warnings)


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
    from evaluator.calibrate import calibrate_files, render_calibration_markdown
    from evaluator.report import output_format, render

    try:
        out_fmt = output_format(output, ("md", "html", "json")) if output else None
        result = calibrate_files(reference, trainee, ai_vs_human)
        if output:
            _write_report(output, render(result, out_fmt, markdown=render_calibration_markdown, title="Calibration"))
    except EvalError as exc:
        fail(exc)
    _emit(result, render_calibration_markdown, json_out=json_out, output=output, warnings=result.warnings)


# ---------------------------------------------------------------- entry point


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
    except Exception as exc:  # a bug: still one line unless debugging
        if debug:
            raise
        _line("error:", "31", f"internal error: {type(exc).__name__}: {exc} "
              "(set INTERVIEW_EVAL_DEBUG=1 for the traceback and please report it)")
        sys.exit(1)


if __name__ == "__main__":
    main()
