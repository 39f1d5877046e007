"""Reading user files with clear errors, hashing, and atomic writes (no half-written output)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from evaluator.errors import EvalError, InputFileError


ENV_CACHE_DIR = "INTERVIEW_EVAL_CACHE_DIR"


def cache_dir(override: str | Path | None = None) -> Path:
    """The one cache root: the option, else $INTERVIEW_EVAL_CACHE_DIR, else $XDG_CACHE_HOME (or ~/.cache)/interview-eval.

    Read when called, never at import. Transcripts go in `transcripts/`, LLM answers in `llm/`."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "interview-eval"


def read_text(path: str | Path, *, what: str = "file") -> str:
    """Read a UTF-8 text file, refusing missing, empty, binary and non-UTF-8 files with a clear error."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such {what}", hint="check the path")
    if p.is_dir():
        raise InputFileError(f"{p}: is a directory, expected a {what}", hint="name a file inside it")
    data = p.read_bytes()
    if not data.strip():
        raise InputFileError(f"{p}: the {what} is empty", hint=f"give a {what} with content")
    if b"\x00" in data[:8192]:
        raise InputFileError(f"{p}: looks like a binary file, expected a text {what}",
                             hint="give a UTF-8 text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{p}, line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            hint=f"re-save the {what} as UTF-8, e.g. `iconv -f cp1252 -t utf-8 {p.name}`",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def yaml_syntax_error(exc: Exception, source: str, error: type[EvalError], hint: str) -> EvalError:
    """A YAML parse error as one of our errors, naming the file and line."""
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}" if mark else ""
    return error(f"{source}{where}: not valid YAML ({getattr(exc, 'problem', exc)})", hint=hint)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: str | Path, content: str | bytes) -> Path:
    """Write to a temp file beside `path` and rename it into place, so no reader sees half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        # mkstemp makes the file private (0600); give it the permissions a normal write would
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p
