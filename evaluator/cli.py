"""The `interview-eval` command line. Thin: parse, call the core, print. Only this module prints."""

from __future__ import annotations

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


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


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
