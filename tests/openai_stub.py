"""A scriptable, OpenAI-compatible chat server on 127.0.0.1 for tests (real HTTP, real `openai` client).

    with OpenAIStub() as server:
        server.enqueue({"score": 3}, raw("{not json"), status(500), refusal("no"))
        settings = LLMSettings(base_url=server.base_url, api_key="sk-test", ...)

What the server answers, per request to POST /v1/chat/completions (or /chat/completions):
1. when the request's `response_format` type is in `unsupported_formats` (type -> action): that action,
   without consuming the queue. `json_schema_supported=False` is shorthand for
   `{"json_schema": json_schema_unsupported()}` (the 400 JSON-mode-only servers give); emulate old
   llama.cpp with `{"json_schema": llama_cpp_error(...)}` (its HTTP 500 "server_error" body);
2. else the next queued action, if any;
3. else `handler(request_json)`, if set;
4. else a 400 "no scripted response" error (so a test that under-scripts fails loudly, never hangs).

An action is one of: a dict / list / pydantic model (returned as JSON content), a `str` or `raw(text)`
(content as is, e.g. malformed JSON), `status(code, ...)`, `rate_limited(retry_after)`,
`server_error()`, `json_schema_unsupported()`, `llama_cpp_error(message)`, `delay(seconds, then)`,
`refusal(text)`, `reply(content=..., refusal=..., finish_reason=..., usage=..., chunked=...)`, or a
callable(request_json) -> action.

Fast retries: the `openai` client does the retrying and honours `retry-after-ms`, so every error answer
that does not set a positive Retry-After / retry-after-ms of its own carries `retry-after-ms: 1`
(`fast_retries=False` turns that off, to see the client's own backoff). Timeouts and refused
connections have no answer to carry it: they wait the client's backoff (0.5 s, then doubling).

Every request is recorded (`server.requests`: path, headers, body; with `.messages`,
`.response_format`, `.temperature`, `.max_tokens`), and `server.max_in_flight` is the most requests
handled at once. `latency_s` makes every call sleep that long first (for concurrency checks and benchmarks).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

__all__ = [
    "OpenAIStub",
    "RecordedRequest",
    "Reply",
    "Status",
    "Delay",
    "raw",
    "reply",
    "refusal",
    "status",
    "rate_limited",
    "server_error",
    "json_schema_unsupported",
    "llama_cpp_error",
    "delay",
]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up on purpose (an answer refused for its size) is not an error worth a traceback."""

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


# --- actions ---------------------------------------------------------------------------------


@dataclass
class Reply:
    """A 200 answer. `content` None with a `refusal` emulates OpenAI's refusal message."""

    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (no Content-Length)


@dataclass
class Status:
    """An HTTP error answer with an OpenAI-style error body."""

    code: int
    message: str = "error"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    err_type: str = "server_error"
    param: str | None = None


@dataclass
class Delay:
    """Sleep `seconds`, then answer with `then` (the next action rules apply if None)."""

    seconds: float
    then: Any = None


def raw(text: str) -> Reply:
    """Content returned exactly as given (e.g. malformed JSON)."""
    return Reply(content=text)


def reply(content: Any = None, *, refusal: str | None = None, finish_reason: str = "stop",
          usage: dict[str, int] | None = None, chunked: bool = False) -> Reply:
    """A full answer; `content` that is not a str is JSON-encoded."""
    return Reply(content=_as_content(content) if content is not None else None, refusal=refusal,
                 finish_reason=finish_reason, usage=usage, chunked=chunked)


def refusal(text: str = "I'm sorry, I can't help with that.") -> Reply:
    """The model declines (message.refusal set, content null)."""
    return Reply(content=None, refusal=text)


def status(code: int, message: str = "error", *, headers: dict[str, str] | None = None, **kw: Any) -> Status:
    """Any HTTP error status."""
    return Status(code=code, message=message, headers=dict(headers or {}), **kw)


def rate_limited(retry_after: float | str = 0) -> Status:
    """HTTP 429 with a Retry-After header."""
    return Status(code=429, message="Rate limit reached. Please try again later.",
                  headers={"Retry-After": str(retry_after)}, err_type="rate_limit_error")


def server_error(code: int = 500) -> Status:
    """HTTP 500 (or another 5xx)."""
    return Status(code=code, message="The server had an error while processing your request.")


def json_schema_unsupported() -> Status:
    """The 400 a JSON-mode-only endpoint gives for response_format json_schema."""
    return Status(code=400,
                  message="Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                  err_type="invalid_request_error", param="response_format")


def llama_cpp_error(message: str = "Unknown Exception") -> Status:
    """HTTP 500 as llama.cpp's server gives for any exception in a handler, a rejected response_format included.

    Its handlers turn every C++ exception into `{"error": {"code": 500, "message": e.what(),
    "type": "server_error"}}`; older builds throw for response_format json_schema with the message
    'response_format type must be one of "text" or "json_object", but got: json_schema', and schema to
    grammar conversion failures end the same way.
    """
    return Status(code=500, message=message,
                  body={"error": {"code": 500, "message": message, "type": "server_error"}})


def delay(seconds: float, then: Any = None) -> Delay:
    """Wait before answering (longer than the client's timeout to emulate a hung server)."""
    return Delay(seconds=seconds, then=then)


def _as_content(value: Any) -> str:
    if isinstance(value, str):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    return json.dumps(value)


# --- recording -------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")

    @property
    def temperature(self) -> float | None:
        return self.body.get("temperature")

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def max_tokens(self) -> int | None:
        return self.body.get("max_tokens", self.body.get("max_completion_tokens"))


# --- server ----------------------------------------------------------------------------------


class OpenAIStub:
    """The server. Start/stop with `with OpenAIStub() as s:` or `start()` / `stop()`."""

    def __init__(self, *, handler: Callable[[dict[str, Any]], Any] | None = None,
                 json_schema_supported: bool = True, unsupported_formats: dict[str, Any] | None = None,
                 latency_s: float = 0.0, model: str = "stub-model", fast_retries: bool = True):
        self.handler = handler
        self.json_schema_supported = json_schema_supported
        self.unsupported_formats: dict[str, Any] = dict(unsupported_formats or {})
        self.fast_retries = fast_retries
        self.latency_s = latency_s
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting
    def enqueue(self, *actions: Any) -> OpenAIStub:
        """Queue actions, answered in order by the next requests."""
        with self._lock:
            self._queue.extend(actions)
        return self

    def reset(self) -> None:
        """Forget recorded requests, the in-flight maximum and queued actions."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self.max_in_flight = 0

    @property
    def request_count(self) -> int:
        """How many chat requests arrived."""
        with self._lock:
            return len(self.requests)

    @property
    def pending(self) -> int:
        """Queued actions not yet used."""
        with self._lock:
            return len(self._queue)

    # lifecycle
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The URL to give the openai client (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStub:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        stub = self

        class Handler(_Handler):
            server_stub = stub

        self._stopping.clear()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake sleeping handlers and shut the server down."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # internals used by the handler
    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(path, headers, body, time.monotonic()))

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_action(self, body: dict[str, Any]) -> Any:
        kind = (body.get("response_format") or {}).get("type")
        if kind in self.unsupported_formats:
            return self.unsupported_formats[kind]
        if not self.json_schema_supported and kind == "json_schema":
            return json_schema_unsupported()
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return self.handler(body)
        return Status(code=400, message="openai_stub: no scripted response left for this request",
                      err_type="invalid_request_error")

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_stub: OpenAIStub

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        stub = self.server_stub
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(404, {"error": {"message": f"openai_stub: no route {path}", "type": "not_found"}})
            return
        try:
            body = json.loads(data or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "openai_stub: body is not JSON", "type": "invalid_request_error"}})
            return
        stub._record(path, {k.lower(): v for k, v in self.headers.items()}, body)
        stub._enter()
        try:
            if stub.latency_s:
                stub._sleep(stub.latency_s)
            action = stub._next_action(body)
            while isinstance(action, Delay):
                stub._sleep(action.seconds)
                action = action.then if action.then is not None else stub._next_action(body)
            self._answer(action, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer
        finally:
            stub._leave()

    def _answer(self, action: Any, body: dict[str, Any]) -> None:
        stub = self.server_stub
        if callable(action) and not isinstance(action, (Reply, Status)):
            action = action(body)
        if isinstance(action, Status):
            payload = action.body if action.body is not None else {
                "error": {"message": action.message, "type": action.err_type, "param": action.param, "code": None}}
            headers = dict(action.headers)
            if stub.fast_retries and not _asks_to_wait(headers):
                headers["retry-after-ms"] = "1"
            self._send_json(action.code, payload, headers)
            return
        if not isinstance(action, Reply):
            action = Reply(content=_as_content(action))
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion_tokens = len((action.content or action.refusal or "").split())
        usage = action.usage or {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                 "total_tokens": prompt_tokens + completion_tokens}
        with stub._lock:
            n = len(stub.requests)
        payload = {
            "id": f"chatcmpl-stub-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or stub.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": action.content, "refusal": action.refusal},
                "finish_reason": action.finish_reason,
                "logprobs": None,
            }],
            "usage": usage,
        }
        self._send_json(200, payload, chunked=action.chunked)

    def _send_json(self, code: int, payload: Any, headers: dict[str, str] | None = None, *,
                   chunked: bool = False) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if chunked:
            step = 64 * 1024
            for i in range(0, len(data), step):
                part = data[i:i + step]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)
        self.wfile.flush()


def _asks_to_wait(headers: dict[str, str]) -> bool:
    """True when error headers already name a positive Retry-After (seconds or ms)."""
    for name, value in headers.items():
        if name.lower() in ("retry-after", "retry-after-ms"):
            try:
                if float(value) > 0:
                    return True
            except ValueError:
                return True  # an HTTP date
    return False
