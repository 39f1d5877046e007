"""Nothing but the configured LLM endpoint is contacted: transcribe and evaluate under a network guard.

The guard (tests/netguard.py) refuses and records every non-loopback lookup or connection, from
Python and (with a C compiler) from native libraries. Nothing is ever sent: a refused call fails
before it reaches the network.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from conftest import REPO
from netguard import native_guard_available, run_guarded

SAMPLE = REPO / "samples" / "audio" / "cam-screening.ogg"
# onnxruntime (the VAD) starts its telemetry upload about 10 s after it is imported: keep every
# guarded child alive at least this long so a delayed lookup is seen.
LINGER_S = 12.0

needs_native = pytest.mark.skipif(not native_guard_available(),
                                  reason="no C compiler: the guard cannot see lookups made by native libraries")


def _cli_env(tmp_path, **extra) -> dict:
    import os

    # Not the switches an earlier in-process transcription set in this process: the child must set its own.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "INTERVIEW_EVAL_", "ORT_", "HF_HUB_"))}
    env["INTERVIEW_EVAL_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("XDG_CACHE_HOME", None)
    env["HOME"] = str(tmp_path / "home")  # a library's stray state (telemetry stores) lands here, not in ~
    env.update(extra)
    return env


# ---------------------------------------------------------------- the guard itself


def test_guard_refuses_and_records_python_lookups_and_connects_but_allows_loopback(tmp_path, llm_server):
    code = textwrap.dedent(f"""
        import socket
        for call in (lambda: socket.getaddrinfo("192.0.2.1", 9),
                     lambda: socket.create_connection(("192.0.2.1", 9), timeout=1),
                     lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(("192.0.2.1", 9))):
            try:
                call()
                print("NOT REFUSED")
            except OSError as exc:
                assert "netguard" in str(exc), exc
        socket.create_connection(("127.0.0.1", {llm_server.port}), timeout=5).close()  # loopback works
        print("ok")
    """)
    r = run_guarded([sys.executable, "-c", code], workdir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "NOT REFUSED" not in r.stdout and r.stdout.strip().endswith("ok")
    assert len(r.attempts) == 3 and all("192.0.2.1" in a and a.startswith("python ") for a in r.attempts)


@needs_native
def test_guard_refuses_and_records_native_lookups_and_connects(tmp_path):
    # Numeric addresses and a UDP connect: even an unguarded run would send nothing.
    code = textwrap.dedent("""
        import ctypes, socket, struct
        libc = ctypes.CDLL(None, use_errno=True)
        res = ctypes.c_void_p()
        rc = libc.getaddrinfo(b"192.0.2.1", b"9", None, ctypes.byref(res))
        assert rc != 0, "native getaddrinfo was not refused"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 9) + socket.inet_aton("192.0.2.1") + bytes(8)
        assert libc.connect(s.fileno(), ctypes.c_char_p(addr), 16) == -1, "native connect was not refused"
        assert libc.getaddrinfo(b"localhost", b"9", None, ctypes.byref(res)) == 0
        print("ok")
    """)
    r = run_guarded([sys.executable, "-c", code], workdir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [a.split()[:3] for a in r.attempts] == [["native", "getaddrinfo", "192.0.2.1"],
                                                   ["native", "connect", "192.0.2.1:9"]]


# ---------------------------------------------------------------- the product under the guard


@pytest.mark.slow
@needs_native
def test_transcribe_contacts_no_host(tmp_path):
    out = tmp_path / "t.json"
    r = run_guarded([sys.executable, "-m", "evaluator.cli", "transcribe", SAMPLE, "--no-cache", "-o", out],
                    workdir=tmp_path, env=_cli_env(tmp_path), cwd=REPO, linger_s=LINGER_S)
    assert r.returncode == 0, r.stderr
    assert out.is_file()
    assert r.attempts == []
    assert not (tmp_path / "home" / ".cache" / "Microsoft").exists()  # no onnxruntime telemetry store either


@pytest.mark.slow
@needs_native
def test_evaluate_on_a_recording_contacts_only_the_llm_endpoint(tmp_path, llm_server):
    from test_evaluate import honest

    llm_server.handler = honest
    out = tmp_path / "draft.json"
    env = _cli_env(tmp_path, OPENAI_BASE_URL=llm_server.base_url, OPENAI_API_KEY="sk-test")
    r = run_guarded([sys.executable, "-m", "evaluator.cli", "evaluate", SAMPLE, "-g", "customer-account-manager",
                     "--stage", "screening", "-o", out],
                    workdir=tmp_path, env=env, cwd=REPO, linger_s=LINGER_S)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and llm_server.request_count > 0  # the loopback endpoint was reached
    assert r.attempts == []
