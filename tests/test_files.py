"""Output files (evaluator.files): checked before long work, written atomically, failures in one line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evaluator import files
from evaluator.errors import EvalError, OutputFileError
from evaluator.files import atomic_write, check_writable, remove_stale_temps

from conftest import REPO


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and isinstance(exc.value, EvalError)
    return msg


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".probe")))


# ---------------------------------------------------------------- check_writable


def test_writable_new_file_in_new_folders_passes_and_creates_nothing(tmp_path):
    out = tmp_path / "a" / "b" / "draft.json"
    assert check_writable(out) == out
    assert list(tmp_path.iterdir()) == []


def test_output_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(OutputFileError) as exc:
        check_writable(tmp_path)
    assert f"{tmp_path}: is a directory, expected an output file" in one_line(exc)


def test_output_that_is_the_input_is_refused(tmp_path):
    src = tmp_path / "interview.vtt"
    src.write_text("WEBVTT\n")
    (tmp_path / "link.vtt").symlink_to(src)
    for out in (src, tmp_path / "link.vtt"):
        with pytest.raises(OutputFileError) as exc:
            check_writable(out, inputs=[src])
        assert "would destroy the input" in one_line(exc)
    assert src.read_text() == "WEBVTT\n"
    check_writable(tmp_path / "other.vtt", inputs=[src])


def test_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "reports").write_text("not a folder")
    with pytest.raises(OutputFileError) as exc:
        check_writable(tmp_path / "reports" / "x" / "draft.json")
    assert "reports is a file, not a folder" in one_line(exc)


def test_folder_nobody_can_write_is_refused():
    # Tests run as root, for whom chmod does not make a folder read-only; sysfs refuses even root.
    target = Path("/sys/interview-eval-draft.json")
    if not Path("/sys").is_dir() or _can_create(Path("/sys")):
        pytest.skip("no folder here that refuses writes")
    with pytest.raises(OutputFileError) as exc:
        check_writable(target)
    assert one_line(exc).startswith(f"{target}: cannot write: ")


def _can_create(folder: Path) -> bool:
    try:
        fd = os.open(folder / ".probe-interview-eval", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except OSError:
        return False
    os.close(fd)
    os.unlink(folder / ".probe-interview-eval")
    return True


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.EACCES, "permission denied")])
def test_read_only_or_forbidden_folder_is_refused(tmp_path, monkeypatch, code, words):
    real_open = os.open

    def refuse(path, flags, *a, **k):
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputFileError) as exc:
        check_writable(tmp_path / "draft.json")
    assert f"{tmp_path / 'draft.json'}: cannot write: " in one_line(exc) and words in one_line(exc)


def test_full_disk_is_refused_before_work(tmp_path, monkeypatch):
    monkeypatch.setattr(files.shutil, "disk_usage", lambda p: type("U", (), {"free": 4096})())
    with pytest.raises(OutputFileError) as exc:
        check_writable(tmp_path / "draft.json")
    assert "no space left on the disk" in one_line(exc) and "-o" in one_line(exc)


# ---------------------------------------------------------------- atomic_write failures


def test_full_disk_during_write_is_one_line_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    out = tmp_path / "draft.json"
    out.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputFileError) as exc:
        atomic_write(out, "new")
    assert one_line(exc).startswith(f"{out}: cannot write: no space left on the disk")
    assert isinstance(exc.value, OSError) and exc.value.errno == errno.ENOSPC  # cache writers may tolerate it
    assert out.read_text() == "old" and temps(tmp_path) == []


def test_rename_refused_is_one_line_and_leaves_no_temp(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputFileError) as exc:
        atomic_write(tmp_path / "x.md", "text")
    assert "read-only" in one_line(exc) and temps(tmp_path) == []


def test_writing_onto_a_directory_is_one_line(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputFileError) as exc:
        atomic_write(tmp_path / "out", "text")
    assert "cannot write: it is a directory" in one_line(exc) and temps(tmp_path) == []


def test_written_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "a.json", "{}")
    finally:
        os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- leftovers of a killed writer


def test_a_writer_killed_mid_write_leaves_nothing_after_the_next_write(tmp_path):
    out = tmp_path / "draft.json"
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from evaluator import files

        def hang(fd):
            print("writing", flush=True)
            time.sleep(120)

        os.fsync = hang
        files.atomic_write({str(out)!r}, "x" * 100_000)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        left = temps(tmp_path)
        assert len(left) == 1 and left[0].startswith(f".draft.json.{proc.pid}-")
        proc.kill()  # SIGKILL: no cleanup handler runs
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert temps(tmp_path) == left  # kill -9 left the temp behind
    atomic_write(out, "a fresh write")  # too soon: a temp under a minute old is left alone
    assert temps(tmp_path) == left
    old = time.time() - 2 * files.STALE_TEMP_S  # ... a while later
    os.utime(tmp_path / left[0], (old, old))
    atomic_write(out, "the next write")
    assert temps(tmp_path) == [] and out.read_text() == "the next write"


def test_temps_of_live_writers_and_of_other_files_are_kept(tmp_path):
    out = tmp_path / "draft.json"
    old = time.time() - 3 * files.STALE_TEMP_S
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [tmp_path / f".draft.json.{sleeper.pid}-ab12cd34.tmp",  # its writer still runs
                tmp_path / ".draft.json.backup.999999999-ab12cd34.tmp",  # another file's temp
                tmp_path / ".draft.json.1a2b3c4d"]  # not a temp name
        for k in keep:
            k.write_text("partial")
            os.utime(k, (old, old))
        gone = tmp_path / ".draft.json.999999999-ab12cd34.tmp"  # pid far above pid_max: surely gone
        gone.write_text("partial")
        os.utime(gone, (old, old))
        assert remove_stale_temps(out) == [gone]
        assert all(k.exists() for k in keep)
    finally:
        sleeper.kill()
        sleeper.wait()
