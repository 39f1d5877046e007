"""Reading user files with clear errors, hashing, and atomic writes (no half-written output)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import time
from pathlib import Path

from evaluator.errors import EvalError, InputFileError, OutputFileError


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

def bom_encoding(data: bytes) -> str | None:
    """The codec of text that starts with a UTF-16/32 byte-order mark (decoding with it drops the mark), or None.
    Windows tools save "Unicode" text as UTF-16 with one."""
    return next((enc for sig, enc in _BOMS if data.startswith(sig)), None)


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
    bom = bom_encoding(data)
    if bom:
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


def yaml_loader():
    """The fastest safe YAML loader here: libyaml's CSafeLoader when installed, else the pure-Python one."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


# Why a write failed, in words (the rest use the OS's own strerror).
_WRITE_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a folder in its path is a file",
}
_WRITE_HINTS = {
    errno.ENOSPC: "free some space or write elsewhere with -o",
    errno.EDQUOT: "free some space or write elsewhere with -o",
    errno.EROFS: "write to a writable folder with -o",
    errno.EACCES: "write to a folder you can write to with -o, or fix its permissions",
    errno.EPERM: "write to a folder you can write to with -o, or fix its permissions",
}
_MIN_FREE_BYTES = 1 << 20  # less than this free and even a small report will not fit


def _write_error(p: Path, exc: OSError) -> OutputFileError:
    reason = _WRITE_REASONS.get(exc.errno) or exc.strerror or str(exc)
    err = OutputFileError(f"{p}: cannot write: {reason}",
                          hint=_WRITE_HINTS.get(exc.errno, "choose another output path with -o"))
    err.errno, err.strerror, err.filename = exc.errno, reason, str(p)
    return err


def check_writable(path: str | Path, *, inputs: tuple[str | Path, ...] | list = ()) -> Path:
    """Refuse, before any long work, an output that cannot be written: a directory, the same file as an
    input, a parent that is a file or cannot be created, a read-only or full disk. Creates nothing."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise OutputFileError(f"{p}: is a directory, expected an output file",
                              hint=f"name a file inside it, e.g. {p / 'out'}{p.suffix or '.json'}")
    for src in inputs:
        try:
            same = p.exists() and Path(src).exists() and os.path.samefile(p, src)
        except OSError:
            same = False
        if same:
            raise OutputFileError(f"{p}: is the input file {src}; writing it would destroy the input",
                                  hint="choose another output path with -o")
    parent = p.parent
    while not parent.exists():  # atomic_write creates missing folders: check the nearest existing one
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise OutputFileError(f"{p}: cannot write: {parent} is a file, not a folder",
                              hint="choose another output path with -o")
    try:  # a real probe: os.access says yes to root on a folder it may still not write (read-only mounts)
        probe = parent / f".{p.name}.{os.getpid()}-{os.urandom(4).hex()}.probe"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise _write_error(p, exc) from None
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        free = None
    if free is not None and free < _MIN_FREE_BYTES:
        raise _write_error(p, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    return p


# Temp names carry the writer's pid, so a leftover (kill -9, power loss) can be told from a write in
# progress: `.<name>.<pid>-<random>.tmp`.
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[\w-]+\.tmp$")
STALE_TEMP_S = 60.0  # a leftover this old whose writer is gone is removed by the next write of its file


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def remove_stale_temps(path: str | Path, *, older_than_s: float = STALE_TEMP_S) -> list[Path]:
    """Delete `.<name>.*.tmp` leftovers of `path` whose writer is gone and which are older than `older_than_s`.

    Temps without a pid (older versions) count as stale after an hour."""
    p = Path(path)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(p.parent))
    except OSError:
        return removed
    prefix = f".{p.name}."
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        m = _TEMP_RE.match(entry.name)
        if not m or m.group("name") != p.name:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = int(m.group("pid")) if m.group("pid") else None
        stale = age > 3600 if pid is None else (age > older_than_s and not _pid_alive(pid))
        if stale and pid != os.getpid():
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def atomic_write(path: str | Path, content: str | bytes) -> Path:
    """Write to a temp file beside `path` and rename it into place, so no reader sees half a file.

    A failure (full or read-only disk, permissions, a folder in the way) removes the temp file and is
    an OutputFileError with one line saying why. Stale temps a killed writer left are removed."""
    p = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = p.parent / f".{p.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    fd = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(p))
        # the permissions a normal write would give (umask applied by open)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fd = None
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputFileError):
            raise _write_error(p, exc) from None
        raise
    remove_stale_temps(p)
    return p


def write_new(path: str | Path, content: str | bytes) -> Path:
    """Create `path` atomically and only if it does not exist yet (FileExistsError otherwise): the whole file
    appears at once or not at all, and nothing already there is ever replaced."""
    p = Path(path)
    if p.exists():
        raise FileExistsError(str(p))
    tmp = atomic_write(p.parent / f".{p.name}.{os.getpid()}-{os.urandom(4).hex()}.new", content)
    try:
        os.link(tmp, p)  # unlike rename, fails if `p` appeared meanwhile
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return p
