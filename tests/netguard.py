"""A network guard for tests: run a command in a subprocess where any non-loopback contact fails and is recorded.

Interview recordings are personal data: nothing may be contacted but the configured LLM endpoint
(in tests, the stub on 127.0.0.1). Two layers, both active in the child process:

- Python: a `sitecustomize` on PYTHONPATH patches `socket.getaddrinfo`, `socket.create_connection`
  and `socket.socket.connect`/`connect_ex`; a lookup of anything but localhost, or a connect to
  anything but 127.0.0.0/8 and ::1, raises and is recorded with the Python caller.
- Native: an LD_PRELOAD library (compiled here with the system C compiler) wraps libc's
  `getaddrinfo`, `gethostbyname`, `connect`, `sendto` and `sendmsg`, so lookups made by C/C++
  libraries (onnxruntime's telemetry, ...) are refused and recorded too. Without a compiler only the
  Python layer is active (`native_guard_available()` says which).

    result = run_guarded([sys.executable, "-m", "evaluator.cli", "transcribe", ...], env=..., linger_s=12)
    assert result.attempts == []

`linger_s` keeps the child alive until that many seconds after its start, so background threads
that phone home after a delay (onnxruntime does so ~10 s after it is imported) are caught.
Nothing is ever sent: every blocked call fails before it reaches the network.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV_LOG = "NETGUARD_LOG"
ENV_LINGER = "NETGUARD_LINGER_S"

_SITECUSTOMIZE = r'''
"""Network guard (tests/netguard.py): refuse and record non-loopback lookups and connections."""
import atexit, errno, ipaddress, os, socket, sys, time, traceback

_LOG = os.environ.get("NETGUARD_LOG")
_START = time.monotonic()
_LOOPBACK_NAMES = {None, "", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback_host(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _caller():
    for frame in reversed(traceback.extract_stack()[:-3]):
        if "socket.py" not in frame.filename and "sitecustomize" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}"
    return "?"


def _refuse(what, target):
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(f"python {what} {target} pid={os.getpid()} at {_caller()}\n")
    raise OSError(errno.ENETUNREACH, f"netguard: {what} {target} refused (tests allow loopback only)")


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if not _is_loopback_host(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


_create_connection = socket.create_connection


def create_connection(address, *args, **kwargs):
    if not _is_loopback_host(address[0]):
        _refuse("create_connection", f"{address[0]}:{address[1]}")
    return _create_connection(address, *args, **kwargs)


def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback_host(address[0]):
        _refuse("connect", f"{address[0]}:{address[1]}")


_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def connect(self, address):
    _check(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


socket.getaddrinfo, socket.create_connection = getaddrinfo, create_connection
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex

_linger = float(os.environ.get("NETGUARD_LINGER_S") or 0)
if _linger:
    atexit.register(lambda: time.sleep(max(0.0, _linger - (time.monotonic() - _START))))
'''

_SHIM_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void note(const char *what, const char *target) {
    const char *path = getenv("NETGUARD_LOG");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[600];
    int n = snprintf(line, sizeof line, "native %s %.400s pid=%d\n", what, target ? target : "(null)", (int)getpid());
    if (n > 0) { ssize_t ignored = write(fd, line, (size_t)n); (void)ignored; }
    close(fd);
}

static int loopback_name(const char *node) {
    if (node == NULL || !strcmp(node, "localhost") || !strcmp(node, "localhost.localdomain")
        || !strcmp(node, "ip6-localhost") || !strcmp(node, "ip6-loopback")) return 1;
    struct in_addr a4; struct in6_addr a6;
    if (inet_pton(AF_INET, node, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, node, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* 1 when the address is loopback or not an internet address (AF_UNIX, netlink, ...). */
static int loopback_addr(const struct sockaddr *sa, char *out, size_t outlen) {
    if (sa == NULL) return 1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, out, (socklen_t)outlen);
        snprintf(out + strlen(out), outlen - strlen(out), ":%d", ntohs(s->sin_port));
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, out, (socklen_t)outlen);
        snprintf(out + strlen(out), outlen - strlen(out), ":%d", ntohs(s->sin6_port));
        return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr)
            || (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && s->sin6_addr.s6_addr[12] == 127);
    }
    return 1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (!loopback_name(node)) { note("getaddrinfo", node); return EAI_NONAME; }
    if (!real) real = dlsym(RTLD_NEXT, "getaddrinfo");
    return real(node, service, hints, res);
}

struct hostent *gethostbyname(const char *name) {
    static struct hostent *(*real)(const char *);
    if (!loopback_name(name)) { note("gethostbyname", name); h_errno = HOST_NOT_FOUND; return NULL; }
    if (!real) real = dlsym(RTLD_NEXT, "gethostbyname");
    return real(name);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    char target[128] = "";
    if (!loopback_addr(addr, target, sizeof target)) { note("connect", target); errno = ENETUNREACH; return -1; }
    if (!real) real = dlsym(RTLD_NEXT, "connect");
    return real(fd, addr, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    char target[128] = "";
    if (!loopback_addr(addr, target, sizeof target)) { note("sendto", target); errno = ENETUNREACH; return -1; }
    if (!real) real = dlsym(RTLD_NEXT, "sendto");
    return real(fd, buf, n, flags, addr, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    static ssize_t (*real)(int, const struct msghdr *, int);
    char target[128] = "";
    if (msg && !loopback_addr((const struct sockaddr *)msg->msg_name, target, sizeof target)) {
        note("sendmsg", target); errno = ENETUNREACH; return -1;
    }
    if (!real) real = dlsym(RTLD_NEXT, "sendmsg");
    return real(fd, msg, flags);
}
"""


@dataclass
class GuardedRun:
    """What a guarded command did: exit code, output, and every refused non-loopback attempt."""

    returncode: int
    stdout: str
    stderr: str
    attempts: list[str]
    native: bool


@functools.lru_cache(maxsize=1)
def _shim() -> Path | None:
    """The compiled LD_PRELOAD library (cached by source hash in the temp dir), or None without a compiler."""
    if not sys.platform.startswith("linux"):
        return None
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    digest = hashlib.sha256(_SHIM_C.encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"interview-eval-netguard-{digest}" / "libnetguard.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.parent / "netguard.c"
    src.write_text(_SHIM_C)
    tmp = out.with_name(f".libnetguard.{os.getpid()}.so")
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(tmp), str(src), "-ldl"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    os.replace(tmp, out)
    return out


def native_guard_available() -> bool:
    """True when native (C library) lookups are guarded too, not just Python's socket module."""
    return _shim() is not None


def guard_env(workdir: Path, env: dict | None = None, *, linger_s: float = 0.0) -> tuple[dict, Path]:
    """An environment that runs Python children under the guard; returns (env, attempts log path)."""
    workdir.mkdir(parents=True, exist_ok=True)
    site = workdir / "netguard-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    log = workdir / "netguard.log"
    log.write_text("")
    full = dict(os.environ if env is None else env)
    full["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [full.get("PYTHONPATH")])])
    full[ENV_LOG] = str(log)
    if linger_s:
        full[ENV_LINGER] = str(linger_s)
    shim = _shim()
    if shim is not None:
        full["LD_PRELOAD"] = " ".join([str(shim), *filter(None, [full.get("LD_PRELOAD")])])
    return full, log


def run_guarded(cmd: list, *, workdir: Path, env: dict | None = None, linger_s: float = 0.0,
                timeout: float = 600, cwd: Path | None = None) -> GuardedRun:
    """Run `cmd` under the guard (see the module docstring)."""
    full, log = guard_env(workdir, env, linger_s=linger_s)
    proc = subprocess.run([str(c) for c in cmd], env=full, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    attempts = [line for line in log.read_text().splitlines() if line.strip()]
    return GuardedRun(proc.returncode, proc.stdout, proc.stderr, attempts, native="LD_PRELOAD" in full)
