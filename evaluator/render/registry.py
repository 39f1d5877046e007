"""The writers registry: one function per (report type, output format), registered with `@writer`.

JSON needs no writer: every report is a pydantic model and its JSON is the model itself.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from evaluator.errors import UsageError

FORMATS = ("md", "html", "csv", "json")
_ALIASES = {"markdown": "md", "htm": "html"}
_WRITERS: dict[tuple[type, str], Callable[..., str]] = {}


def writer(kind: type, fmt: str):
    """Register the decorated function as the `fmt` writer of `kind` (and its subclasses). A writer takes the
    object and returns the text; HTML writers also take `title` (None: the report's own)."""
    if fmt not in FORMATS or fmt == "json":
        raise ValueError(f"no writer can be registered for {fmt!r}")

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        _WRITERS[(kind, fmt)] = fn
        return fn
    return register


def markdown_page(kind: type, title_of: Callable[[object], str]) -> None:
    """Register `kind`'s HTML writer: its Markdown on a self-contained page (markdown-it-py), titled
    `title_of(obj)` unless the caller names the page."""
    markdown = _WRITERS[(kind, "md")]

    def html(obj, title: str | None = None) -> str:
        from evaluator.render.markdown import markdown_to_html

        return markdown_to_html(markdown(obj), title=title or title_of(obj))
    _WRITERS[(kind, "html")] = html


# Which module registers the writers of each report type (by class name, so that naming a type here imports
# nothing): a command loads only the family it writes, not every report's models and templates.
_FAMILIES = {"Draft": "scorecard", "FinalScorecard": "scorecard", "InterviewCoverage": "coverage",
             "BatchCoverage": "coverage", "CoachReport": "coach", "CoachSummary": "coach",
             "DebriefPacket": "debrief", "CalibrationReport": "calibrate", "Guide": "guide"}


def _kind(obj_or_type) -> type:
    kind = obj_or_type if isinstance(obj_or_type, type) else type(obj_or_type)
    for cls in kind.__mro__:
        if cls.__name__ in _FAMILIES:
            importlib.import_module(f"evaluator.render.{_FAMILIES[cls.__name__]}")
    return kind


def formats_for(obj_or_type) -> tuple[str, ...]:
    """The formats a report (or a report type) can be written in, in the order md, html, csv, json."""
    kind = _kind(obj_or_type)
    found = {fmt for (k, fmt) in _WRITERS if issubclass(kind, k)}
    if not found:
        raise TypeError(f"no writers for {kind.__name__}")
    return tuple(f for f in FORMATS if f in found or f == "json")


def _check(fmt: str, allowed: tuple[str, ...], *, path: str | Path | None = None) -> str:
    fmt = _ALIASES.get(fmt.lower(), fmt.lower())
    if fmt in allowed:
        return fmt
    if path is not None:
        raise UsageError(f"{path}: cannot write .{fmt or '(no extension)'} here",
                         hint="use one of: " + ", ".join("." + a for a in allowed))
    raise UsageError(f"format {fmt!r} is not available for this report", hint="use one of: " + ", ".join(allowed))


def resolve_format(obj_or_type, *, fmt: str | None = None, path: str | Path | None = None,
                   default: str = "md") -> str:
    """The format to write: `fmt` if given, else the extension of `path`, else `default`; a UsageError naming
    the allowed formats when the report cannot be written that way."""
    allowed = formats_for(obj_or_type)
    if fmt is not None:
        return _check(fmt, allowed)
    if path is not None:
        return _check(Path(path).suffix.lstrip("."), allowed, path=path)
    return _check(default, allowed)


def render(obj, fmt: str, *, title: str | None = None) -> str:
    """`obj` (a scorecard, coverage audit, coaching report, debrief packet, calibration report or guide) as
    text in `fmt` (md, html, csv, json). `title` names the HTML page (default: the report's own)."""
    fmt = _check(fmt, formats_for(obj))
    if fmt == "json":
        return obj.model_dump_json(indent=2) + "\n"
    fn = next(fn for (k, f), fn in _WRITERS.items() if f == fmt and isinstance(obj, k))
    return fn(obj, title=title) if fmt == "html" else fn(obj)


def write(obj, path: str | Path, fmt: str | None = None, *, title: str | None = None) -> str:
    """Write `obj` to `path` atomically, in `fmt` or the format the extension names; returns the format."""
    from evaluator.files import atomic_write

    fmt = resolve_format(obj, fmt=fmt, path=path)
    atomic_write(path, render(obj, fmt, title=title))
    return fmt
