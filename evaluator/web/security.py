"""What keeps the review desk private: who may use it, CSRF tokens, response headers, host and upload limits.

- Reviewers identify themselves once per browser session (a signed, SameSite=Strict, HttpOnly cookie). With
  `--auth token` a shared token is needed first (or `Authorization: Bearer TOKEN`); with `--auth basic` the
  browser's HTTP basic login is checked against a users file and the user name is the reviewer.
- Every POST carries the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`).
- Pages may load only from the desk itself (Content-Security-Policy), so nothing is fetched from elsewhere.
- A Host header that is not the desk's own is refused (a web page elsewhere cannot reach a localhost desk by
  DNS rebinding), and request bodies larger than the upload limit are cut off with 413.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.errors import UsageError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# The printable reports are self-contained pages with an inline <style> and no scripts.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class AuthConfig:
    """How people get in: 'none' (a name is enough; loopback only), 'token' or 'basic'."""

    mode: str = "none"
    token: str = ""
    users: dict[str, str] = field(default_factory=dict)  # name -> "sha256:<hex>" or plain password

    def check_token(self, given: str) -> bool:
        """True when `given` is the shared token (constant-time)."""
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def check_basic(self, header: str | None) -> str | None:
        """The user name of a valid `Authorization: Basic` header, else None."""
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        want = self.users.get(user)
        if want is None:
            hmac.compare_digest(b"x", b"y")
            return None
        if want.startswith("sha256:"):
            got = "sha256:" + hashlib.sha256(password.encode("utf-8")).hexdigest()
            return user if hmac.compare_digest(got.encode(), want.encode()) else None
        return user if hmac.compare_digest(password.encode("utf-8"), want.encode("utf-8")) else None


def read_users(path: str | Path) -> dict[str, str]:
    """A users file for `--auth basic`: one `name:password` or `name:sha256:<hex>` a line; # comments."""
    from evaluator.files import read_text

    users = {}
    for n, line in enumerate(read_text(path, what="users file").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, secret = line.partition(":")
        if not sep or not name.strip() or not secret:
            raise UsageError(f"{path}, line {n}: expected name:password or name:sha256:<hex>",
                             hint="one user a line, e.g. dana:sha256:$(printf %s 'pw' | sha256sum)")
        users[name.strip()] = secret
    if not users:
        raise UsageError(f"{path}: no users", hint="add lines of name:password")
    return users


def new_token() -> str:
    """A random token (CSRF, or a shared access token)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach."""
    return host in LOOPBACK or host.startswith("127.")


def workspace_secret(workspace: Path) -> str:
    """The key that signs session cookies: made once per workspace (private file), so sessions survive a
    restart of the server."""
    import os

    p = workspace / ".session-key"
    if p.exists():
        return p.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, *, default: str = "upload") -> str:
    """An uploaded file's name reduced to letters, digits, `.`, `_` and `-`: no folders, no leading dot, at most
    100 characters, the extension kept in lower case."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _SAFE.sub("-", stem).strip(".-_")[:80] or default
    ext = _SAFE.sub("", ext).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


class ASGIGuard:
    """Pure ASGI middleware: refuse foreign Host headers, cap request bodies, add security headers."""

    def __init__(self, app, *, allowed_hosts: set[str] | None, max_body_bytes: int):
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if self.allowed_hosts is not None and hostname not in self.allowed_hosts:
            return await _plain(send, 400, f"Host {hostname!r} is not this review desk's address")
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            return await _plain(send, 413, f"upload too large: the limit is {self.max_body_bytes // 2**20} MB")
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _TooLarge()
            return message

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                hs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hs}
                extra = {b"x-content-type-options": b"nosniff", b"referrer-policy": b"no-referrer",
                         b"x-frame-options": b"DENY", b"content-security-policy": CSP.encode(),
                         b"cross-origin-opener-policy": b"same-origin"}
                hs += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": hs}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await _plain(send, 413, f"upload too large: the limit is {self.max_body_bytes // 2**20} MB")


class _TooLarge(Exception):
    pass


async def _plain(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
