"""Reading user files with clear errors, hashing, and atomic writes (no half-written output)."""

from __future__ import annotations

import contextlib
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


# UTF-32 first: its little-endian mark starts with UTF-16's
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


# Far above any real interview (a 3-hour call is about 0.5 MB of WebVTT); beyond it a file is refused before it
# is read, instead of minutes of parsing.
MAX_TEXT_BYTES = 32 * 1024 * 1024


def read_text(path: str | Path, *, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 (or BOM'd UTF-16/32) text file, refusing missing, empty, oversized, binary and undecodable
    files with a clear error."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such {what}", hint="check the path")
    if p.is_dir():
        raise InputFileError(f"{p}: is a directory, expected a {what}", hint="name a file inside it")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputFileError(f"{p}: {size / 1e6:.1f} MB is more than the {max_bytes / 1e6:.0f} MB a {what} may be",
                             hint="is it the right file? split a very long recording's transcript into sessions")
    data = p.read_bytes()
    if not data.strip():
        raise InputFileError(f"{p}: the {what} is empty", hint=f"give a {what} with content")
    bom = next((enc for sig, enc in _BOMS if data.startswith(sig)), None)
    if bom:  # Windows tools save "Unicode" text as UTF-16 with a byte-order mark
        try:
            text = data.decode(bom)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{p}: starts with a {bom.upper()} byte-order mark but is not valid {bom.upper()} "
                                 f"(byte {exc.start})", hint=f"re-save the {what} as UTF-8") from None
        if not text.strip():
            raise InputFileError(f"{p}: the {what} is empty", hint=f"give a {what} with content")
        return text.replace("\r\n", "\n").replace("\r", "\n")
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


def _temp_beside(p: Path, data: bytes) -> str:
    """Write `data` to a new temp file beside `p` (normal permissions, flushed to disk); return its path."""
    p.parent.mkdir(parents=True, exist_ok=True)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: str | Path, content: str | bytes) -> Path:
    """Write to a temp file beside `path` and rename it into place, so no reader sees half a file."""
    p = Path(path)
    tmp = _temp_beside(p, content.encode("utf-8") if isinstance(content, str) else content)
    try:
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return p


def write_new(path: str | Path, content: str | bytes) -> Path:
    """Create `path` atomically and only if it does not exist yet (FileExistsError otherwise): the whole file
    appears at once or not at all, and nothing already there is ever replaced."""
    p = Path(path)
    if p.exists():
        raise FileExistsError(str(p))
    tmp = _temp_beside(p, content.encode("utf-8") if isinstance(content, str) else content)
    try:
        os.link(tmp, p)  # unlike rename, fails if `p` appeared meanwhile
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return p
