"""The OpenAI-compatible LLM client: structured output, re-asks, limits, concurrency, cache, token use.

This is the only module that talks to an LLM endpoint. The interface is narrow (after `simonw/llm`):
`LLMClient(settings).complete(messages, ResponseModel, prompt_id=..., prompt_version=...)` returns a
`Completion` holding a validated pydantic instance; `map_complete(jobs)` runs many at once. Callers type
against the `Completer` protocol. Invalid output is re-asked with the validation error (after
`instructor`), each re-ask a little warmer so a deterministic server does not repeat itself.

Structured output is asked for down a ladder, best first: `json_schema`, then JSON mode
(`json_object`), then plain JSON with the schema stated in a system message. An endpoint that refuses a
rung (a 400/422 naming the response format, or a 5xx that only the structured request gets, as
llama.cpp's server gives) is asked one rung lower, and that is remembered per endpoint and model for
the rest of the process. Transport retries (timeouts, connection errors, 408/409/429/5xx) are the
`openai` client's own; this module counts the requests and turns the final failure into one clear
line. Answers are capped: `max_tokens` is sent, and a body over `max_response_bytes` is refused unread.

`openai` is imported inside methods only, so `--help` stays instant; `LLMClient.warm_up()` imports it
ahead of time. Configuration is resolved by `settings_from()`: flag > environment variable > default,
and the environment is read only when it is called. The API key is a `SecretStr`: never logged, never
written to a cache file or any output, masked in server messages that echo it; `endpoint_host()` is
what outputs record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Generic, Iterable, Literal, Mapping, Protocol, Sequence, TypeVar,
                    runtime_checkable)
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from evaluator.errors import LLMError
from evaluator.files import atomic_write
from evaluator.scorecard import Usage

if TYPE_CHECKING:  # pragma: no cover - typing only
    import openai

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the openai client insists on one.
PLACEHOLDER_API_KEY = "not-needed"
# Bumped when the cache file layout or the key recipe changes, so old entries simply miss.
CACHE_FORMAT = 2

ENV_API_KEY = "OPENAI_API_KEY"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_MODEL = "INTERVIEW_EVAL_MODEL"
ENV_TIMEOUT = "INTERVIEW_EVAL_TIMEOUT"
ENV_CACHE_DIR = "INTERVIEW_EVAL_CACHE_DIR"
ENV_MAX_OUTPUT_TOKENS = "INTERVIEW_EVAL_MAX_OUTPUT_TOKENS"

Mode = Literal["auto", "json_schema", "json_object", "plain"]
# How structured output is asked for, best first; mode "auto" steps down it as an endpoint refuses a rung.
LADDER: tuple[str, ...] = ("json_schema", "json_object", "plain")
# The openai client never waits longer than this for a Retry-After (its MAX_RETRY_AFTER_DELAY): past it,
# it gives up at once. 1.x clients stop honouring it at 60 s and back off 0.5-8 s instead; see
# `_honoured_retry_after_s`.
OPENAI_MAX_RETRY_AFTER_S = 120.0
# Re-asks warm up to this temperature (or stay at a higher configured one).
REASK_TEMPERATURE_CAP = 1.0
# How much of an invalid answer is sent back with a re-ask: enough to correct, not a 1 MB echo.
REASK_ECHO_CHARS = 4000
_RETRYABLE = (408, 409, 429)


def _protocol(name: str, **values: str) -> str:
    """Protocol text (a re-ask, the JSON-mode instruction) from its prompt file in prompts/."""
    from evaluator.prompts import load_prompt

    return load_prompt(name).text(**values)


def _default_cache_dir() -> Path:
    """Root cache folder (`evaluator.files.cache_dir`), read when settings are built."""
    from evaluator.files import cache_dir

    return cache_dir()


class LLMSettings(BaseModel):
    """How to reach the LLM endpoint, how hard to try and how much to accept. Build it with `settings_from()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0, description="retries by the openai client of timeouts, connection errors, "
                                                  "408/409/429 and 5xx (waits 0.5 s doubling to 8 s, or Retry-After)")
    max_reasks: int = Field(2, ge=0, description="re-asks after invalid JSON, a schema violation or an oversized answer")
    concurrency: int = Field(4, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    reask_temperature_step: float = Field(0.3, ge=0.0, le=1.0, description="added per re-ask, up to 1.0, so a "
                                          "deterministic server does not return the same answer again")
    max_output_tokens: int = Field(1024, ge=16, description="max_tokens sent with every request")
    max_response_bytes: int = Field(1_000_000, ge=1024, description="an answer body larger than this is refused "
                                    "unread and re-asked (a server that ignores max_tokens)")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="root cache folder; LLM answers go in llm/")
    use_cache: bool = Field(True, description="serve cached answers; False asks again (and refreshes the cache)")
    mode: Mode = "auto"
    max_retry_after_s: float = Field(OPENAI_MAX_RETRY_AFTER_S, ge=0.0, description="give up at once when a server "
                                     "asks to wait longer; capped at what the openai client honours (120 s)")

    @property
    def llm_cache_dir(self) -> Path:
        """The folder holding cached LLM answers."""
        return Path(self.cache_dir) / "llm"


def _from_env(env: Mapping[str, str], name: str, convert: Callable[[str], Any], what: str, hint: str) -> Any:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return convert(raw.strip())
    except ValueError:
        raise LLMError(f"{name}={raw!r} is not {what}", hint=hint) from None


def settings_from(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    timeout_s: float | None = None,
    cache_dir: str | Path | None = None,
    max_output_tokens: int | None = None,
    **overrides: Any,
) -> LLMSettings:
    """Resolve settings: explicit argument > environment variable > default (environment read now, not at import).

    Environment: OPENAI_API_KEY, OPENAI_BASE_URL, INTERVIEW_EVAL_MODEL, INTERVIEW_EVAL_TIMEOUT,
    INTERVIEW_EVAL_CACHE_DIR, INTERVIEW_EVAL_MAX_OUTPUT_TOKENS. Other `LLMSettings` fields (max_retries,
    concurrency, ...) pass through `overrides`; a value of None means "not given".
    """
    env = os.environ
    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    values["model"] = model or env.get(ENV_MODEL) or DEFAULT_MODEL
    resolved_url = base_url or env.get(ENV_BASE_URL) or None
    if resolved_url:
        values["base_url"] = resolved_url.strip()
    key = api_key or env.get(ENV_API_KEY) or None
    if key:
        values["api_key"] = SecretStr(key.strip())
    if timeout_s is None:
        timeout_s = _from_env(env, ENV_TIMEOUT, float, "a number of seconds",
                              f"set {ENV_TIMEOUT} to e.g. 120, or pass --timeout")
    if timeout_s is not None:
        values["timeout_s"] = timeout_s
    if max_output_tokens is None:
        max_output_tokens = _from_env(env, ENV_MAX_OUTPUT_TOKENS, int, "a whole number",
                                      f"set {ENV_MAX_OUTPUT_TOKENS} to e.g. 2048 (tokens per answer)")
    if max_output_tokens is not None:
        values["max_output_tokens"] = max_output_tokens
    if cache_dir is not None:
        values["cache_dir"] = Path(cache_dir).expanduser()
    try:
        return LLMSettings(**values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise LLMError(f"LLM setting {where}: {first['msg']}",
                       hint=f"check the --model/--timeout/--concurrency options and {ENV_MAX_OUTPUT_TOKENS}") from None


def is_configured(settings: LLMSettings) -> bool:
    """True when an API key or a base URL is set (a local server needs no real key)."""
    return bool((settings.api_key and settings.api_key.get_secret_value()) or settings.base_url)


def endpoint_host(settings: LLMSettings) -> str:
    """The endpoint's host (and port when given), for recording in outputs; never a key, path or query."""
    parts = urlsplit(settings.base_url or DEFAULT_BASE_URL)
    host = parts.hostname or (settings.base_url or "unknown")
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def total_usage(results: Iterable[Any]) -> Usage:
    """Sum the usage of completions (anything else in `results`, such as an LLMError, counts as zero)."""
    total = Usage()
    for r in results:
        if isinstance(r, Completion):
            total = total + r.usage
        elif isinstance(r, Usage):
            total = total + r
    return total


@dataclass(frozen=True)
class Attempt:
    """One answer asked of the model: how it was asked, and why it was not used (`error` None: it was)."""

    mode: str
    temperature: float | None  # None when the endpoint takes no temperature
    requests: int
    error: str | None = None


@dataclass(frozen=True)
class Completion(Generic[T]):
    """One validated answer: `value` is the response model instance.

    `attempts` counts the answers asked of the model (1 + re-asks; 0 when cached) and `history` holds
    one `Attempt` for each; `requests` counts HTTP requests including the openai client's retries and
    steps down the structured-output ladder. `mode` is how the answer was asked for ("cache" when served
    from the cache).
    """

    value: T
    usage: Usage
    cached: bool
    attempts: int
    model: str
    prompt_id: str
    prompt_version: str
    mode: str = "json_schema"
    requests: int = 0
    history: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class LLMJob:
    """One completion to run in `LLMClient.map_complete`; `cache_salt` as in `LLMClient.complete`."""

    messages: Sequence[Mapping[str, Any]]
    response_model: type[BaseModel]
    prompt_id: str
    prompt_version: str
    cache_salt: Mapping[str, Any] | None = None


@runtime_checkable
class Completer(Protocol):
    """What scoring, the areas-to-cover judge and the web app need from an LLM. `LLMClient` is the real one."""

    def complete(self, messages: Sequence[Mapping[str, Any]], response_model: type[T], *, prompt_id: str,
                 prompt_version: str, cache_salt: Mapping[str, Any] | None = None) -> Completion[T]:
        """One validated answer, or LLMError."""
        ...

    def map_complete(self, jobs: Sequence[LLMJob], *,
                     on_done: Callable[[int, Completion[Any] | LLMError], None] | None = None,
                     ) -> list[Completion[Any] | LLMError]:
        """Many answers, in job order; a failed job is its LLMError."""
        ...


# --- structured output helpers ---------------------------------------------------------------


def strict_json_schema(response_model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    """The model's JSON Schema made compatible with OpenAI strict mode, and whether strict mode is possible.

    Strict mode wants every object closed (`additionalProperties: false`) with every property required,
    no `default`s, and `$ref` without sibling keys. Free-form maps (`dict[str, X]`) cannot be strict, so
    for those the schema is still sent but with `strict: false`.
    """
    schema = response_model.model_json_schema()
    defs = schema.get("$defs", {})
    strict_ok = True

    def walk(node: Any) -> Any:
        nonlocal strict_ok
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if "$ref" in node and len(node) > 1:
            # Strict mode rejects "$ref" with siblings (pydantic adds "description"): inline the target.
            ref = node.pop("$ref")
            target = defs.get(ref.rsplit("/", 1)[-1], {})
            node = {**target, **node}
        node.pop("default", None)
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in ("properties", "$defs", "definitions", "patternProperties"):
                out[k] = {name: walk(sub) for name, sub in v.items()} if isinstance(v, dict) else v
            elif k in ("enum", "const", "examples", "required"):
                out[k] = v
            else:
                out[k] = walk(v)
        if out.get("type") == "object" or "properties" in out:
            extra = out.get("additionalProperties")
            if extra not in (None, False):
                strict_ok = False
            else:
                out["additionalProperties"] = False
                out["required"] = list(out.get("properties", {}))
        return out

    return walk(schema), strict_ok


def _schema_name(response_model: type[BaseModel]) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", response_model.__name__)[:64]
    return name or "response"



@lru_cache(maxsize=512)
def _schemas(response_model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(JSON Schema, strict-mode schema, strict possible) of a response model, computed once per model."""
    return (response_model.model_json_schema(), *strict_json_schema(response_model))


_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```[a-zA-Z0-9]*\s*(.*?)\s*```", re.DOTALL)


def _json_text(text: str) -> str:
    """The JSON object in an answer. JSON-mode and plain answers from local models may lead with a
    <think> block, wrap the object in a Markdown fence or put a sentence around it."""
    t = _THINK.sub("", text, count=1).strip()
    m = _FENCE.fullmatch(t)
    if m:
        return m.group(1)
    if not t.startswith(("{", "[")):
        first, last = t.find("{"), t.rfind("}")
        if 0 <= first < last:
            return t[first:last + 1]
    return t


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:8]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        msg = str(err.get("msg"))
        if err.get("type") == "string_too_long" and isinstance(err.get("input"), str):
            msg += f" (got {len(err['input'])})"
        parts.append(f"{loc}: {msg}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def _echo(content: str) -> str:
    """An invalid answer as sent back with the re-ask, shortened so a huge answer is not paid for twice."""
    if len(content) <= REASK_ECHO_CHARS:
        return content
    return content[:REASK_ECHO_CHARS] + f" [... {len(content) - REASK_ECHO_CHARS} more characters]"


def _normal_endpoint(base_url: str | None) -> str:
    """The endpoint as one canonical string: scheme, host and port lower-cased and explicit, path without a
    trailing slash; never the user-info or query (where credentials can hide)."""
    parts = urlsplit((base_url or DEFAULT_BASE_URL).strip())
    scheme = (parts.scheme or "http").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


@lru_cache(maxsize=1)
def _protocol_versions() -> dict[str, str]:
    """Versions of the client's own prompts (re-ask, schema note): an answer may come from them."""
    from evaluator.prompts import load_prompt

    return {name: load_prompt(name).version for name in ("reask", "json_mode")}


def cache_key(
    *,
    endpoint: str | None,
    model: str,
    prompt_id: str,
    prompt_version: str,
    messages: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any],
    temperature: float,
    max_output_tokens: int,
    mode: str,
    salt: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 over everything that determines an answer: the endpoint (normalised base URL, never its key),
    model, prompt and version, exact messages, response schema, decoding settings, and the caller's `salt`."""
    payload = {
        "format": CACHE_FORMAT,
        "endpoint": _normal_endpoint(endpoint),
        "model": model,
        "prompt_id": prompt_id,
        "prompt_version": prompt_version,
        "protocol": _protocol_versions(),
        "messages": [dict(m) for m in messages],
        "schema": schema,
        "temperature": float(temperature),
        "max_output_tokens": int(max_output_tokens),
        "mode": mode,
        "salt": dict(salt or {}),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- what each endpoint accepts ----------------------------------------------------------------


@dataclass
class _Capabilities:
    """What one (endpoint, model) turned out to accept in this process. Changed under `_CAPS_LOCK`."""

    rung: str = LADDER[0]  # the best structured-output rung not refused
    confirmed: set[str] = field(default_factory=set)  # rungs that have answered
    token_param: str = "max_tokens"  # OpenAI's reasoning models want max_completion_tokens
    temperature: bool = True  # some models take only their default temperature


_CAPABILITIES: dict[tuple[str, str], _Capabilities] = {}
_CAPS_LOCK = threading.Lock()

# A 400/422 naming one of these refuses the way structured output was asked for.
_FORMAT_REFUSED = re.compile(r"response_format|json_schema|json_object|grammar|structured output|strict",
                             re.IGNORECASE)
_UNSUPPORTED = re.compile(r"unsupported|not supported|does not support|instead|only the default", re.IGNORECASE)


def _capabilities(endpoint: str, model: str) -> _Capabilities:
    with _CAPS_LOCK:
        return _CAPABILITIES.setdefault((endpoint, model), _Capabilities())


# --- transport helpers -------------------------------------------------------------------------


class _TooLarge(Exception):
    """The answer body went past `max_response_bytes`; raised while it is being read."""

    def __init__(self, seen: int):
        super().__init__(seen)
        self.seen = seen


class _ProbeFailed(Exception):
    """A 5xx to a structured-output rung not yet known to work, stopped before the openai client retries it."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status = status
        self.message = message


class _WaitTooLong(Exception):
    """A server asked to wait longer than `max_retry_after_s` before retrying."""

    def __init__(self, seconds: float, status: int):
        super().__init__(seconds, status)
        self.seconds = seconds
        self.status = status


def _retry_after_s(headers: Any) -> float | None:
    """Seconds a server asks us to wait (Retry-After-Ms, or Retry-After in seconds or as a date), if it says."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) / divisor)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(raw)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None


@lru_cache(maxsize=1)
def _honoured_retry_after_s() -> float:
    """The longest Retry-After the installed openai client waits for. Current clients: MAX_RETRY_AFTER_DELAY
    (120 s), refusing to retry beyond it. 1.x clients: 60 s, hard-coded, and beyond it they retry after
    their own short backoff, so a longer wait must end the call here instead of hammering the server."""
    from openai import _constants

    return float(getattr(_constants, "MAX_RETRY_AFTER_DELAY", 60.0))


@lru_cache(maxsize=None)
def _limited_stream_type(base: type) -> type:
    """A subclass of the HTTP library's SyncByteStream (httpx or httpx2, whichever the openai client uses)
    that stops reading once the body passes the limit."""

    class LimitedStream(base):  # type: ignore[misc, valid-type]
        def __init__(self, inner: Any, limit: int):
            self._inner, self._limit, self._seen = inner, limit, 0

        def __iter__(self):
            for chunk in self._inner:
                self._seen += len(chunk)
                if self._seen > self._limit:
                    raise _TooLarge(self._seen)
                yield chunk

        def close(self) -> None:
            self._inner.close()

    return LimitedStream


def _limit_body(response: Any, limit: int) -> None:
    """Refuse an answer body over `limit` bytes: at once when Content-Length says so, else while reading."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge(int(length))
    base = next((c for c in type(response.stream).__mro__ if c.__name__ == "SyncByteStream"), None)
    if base is not None:  # else the decoded text is still measured before it is parsed
        response.stream = _limited_stream_type(base)(response.stream, limit)


@dataclass
class _Reply:
    """One answer as received: its text (empty when `oversize`), how it was asked for, what it cost."""

    mode: str
    temperature: float | None
    requests: int
    content: str = ""
    refusal: str | None = None
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    oversize: int = 0  # bytes seen of an answer refused for its size




class LLMClient:
    """Structured completions from an OpenAI-compatible endpoint. Thread-safe; use one per run."""

    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.host = endpoint_host(settings)
        self.endpoint = _normal_endpoint(settings.base_url)
        self._caps = _capabilities(self.endpoint, settings.model)
        self._client: openai.OpenAI | None = None
        self._variants: dict[int, openai.OpenAI] = {}  # the same client with other max_retries
        self._client_lock = threading.Lock()
        self._local = threading.local()  # HTTP requests sent by this thread (the sync client sends on it)

    # -- public ---------------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        response_model: type[T],
        *,
        prompt_id: str,
        prompt_version: str,
        cache_salt: Mapping[str, Any] | None = None,
    ) -> Completion[T]:
        """Ask for one answer validated as `response_model`; from the cache when exactly this was asked before.

        `cache_salt` is folded into the cache key for what changes an answer without changing the
        messages (e.g. `{"redaction": "on"}`). With `use_cache=False` the cache is not read, and the
        fresh answer replaces any old one. Raises LLMError when the endpoint is not configured or
        unreachable, keeps failing, refuses, or gives no valid answer within `max_reasks` re-asks.
        """
        s = self.settings
        key = self._key(messages, response_model, prompt_id, prompt_version, cache_salt)
        hit = self._cached(key, response_model, prompt_id, prompt_version)
        if hit is not None:
            return hit
        if not is_configured(s):
            raise LLMError("no LLM endpoint is configured",
                           hint=f"set {ENV_API_KEY} (OpenAI) or {ENV_BASE_URL} (a local server such as Ollama)")

        conversation: list[dict[str, Any]] = [dict(m) for m in messages]
        usage = Usage()
        history: list[Attempt] = []
        start = self._requests()
        last_error, cut_off = "", False
        for attempt in range(1, s.max_reasks + 2):
            got = self._send(conversation, response_model, self._temperature(attempt))
            usage = usage + got.usage
            if got.refusal or got.finish_reason == "content_filter":
                reason = got.refusal or "the endpoint's content filter stopped the answer"
                raise LLMError(f"model refused: {self._scrub(str(reason))} ({prompt_id})",
                               hint="check the input text; a refusal is not retried")
            if got.oversize:
                last_error = (f"the answer was larger than the {s.max_response_bytes}-byte limit "
                              f"({got.oversize}+ bytes) and was not read; give a much shorter answer")
                # Nothing of it goes back: the re-ask alone says what was wrong.
                conversation.append({"role": "user", "content": _protocol("reask", error=last_error)})
            else:
                try:
                    value = response_model.model_validate_json(_json_text(got.content))
                except ValidationError as exc:
                    last_error = _validation_message(exc)
                    cut_off = got.finish_reason == "length"
                    if cut_off:
                        last_error = f"the answer was cut off at the {s.max_output_tokens}-token limit ({last_error})"
                    conversation.append({"role": "assistant", "content": _echo(got.content)})
                    conversation.append({"role": "user", "content": _protocol("reask", error=last_error)})
                else:
                    history.append(Attempt(got.mode, got.temperature, got.requests))
                    self._cache_put(key, value, prompt_id=prompt_id, prompt_version=prompt_version, usage=usage)
                    return Completion(value=value, usage=usage, cached=False, attempts=attempt, model=s.model,
                                      prompt_id=prompt_id, prompt_version=prompt_version, mode=got.mode,
                                      requests=self._requests() - start, history=tuple(history))
            history.append(Attempt(got.mode, got.temperature, got.requests, self._scrub(last_error)))
            log.debug("invalid answer to %s (attempt %d, %s, temperature %s): %s", prompt_id, attempt, got.mode,
                      got.temperature, self._scrub(last_error))
        temps = ", ".join(f"{a.temperature:g}" for a in history if a.temperature is not None)
        hint = "try a stronger model (--model) or allow more re-asks"
        if cut_off:
            hint = (f"raise the answer limit with {ENV_MAX_OUTPUT_TOKENS} (now {s.max_output_tokens} tokens), "
                    "or try a stronger model (--model)")
        raise LLMError(
            f"{s.model} at {self.host} gave no valid {response_model.__name__} for {prompt_id} "
            f"after {len(history)} answers" + (f" (temperature {temps})" if temps else "") +
            f": {self._scrub(last_error)}",
            hint=hint,
        )

    def map_complete(
        self,
        jobs: Sequence[LLMJob],
        *,
        on_done: Callable[[int, Completion[Any] | LLMError], None] | None = None,
    ) -> list[Completion[Any] | LLMError]:
        """Run many completions with at most `settings.concurrency` in flight; results in job order.

        Each result is a Completion or the LLMError that job ended with: one failed job never sinks
        the others. Cached answers are served first, on the calling thread, without importing `openai`;
        the client for the rest is built before the worker threads start. `on_done(index, result)` is
        called as each finishes (e.g. to advance a progress bar), on a worker thread for asked answers.
        """
        results: list[Completion[Any] | LLMError | None] = [None] * len(jobs)

        def finish(i: int, result: Completion[Any] | LLMError) -> None:
            results[i] = result
            if on_done is not None:
                on_done(i, result)

        def run(i: int) -> None:
            job = jobs[i]
            try:
                result: Completion[Any] | LLMError = self.complete(
                    job.messages, job.response_model, prompt_id=job.prompt_id, prompt_version=job.prompt_version,
                    cache_salt=job.cache_salt)
            except LLMError as exc:
                result = exc
            except Exception as exc:  # a bug in one job must not lose the others' answers
                log.debug("job %d (%s) failed", i, job.prompt_id, exc_info=True)
                result = LLMError(f"{job.prompt_id}: unexpected {type(exc).__name__}: {self._scrub(str(exc))}",
                                  hint="re-run with INTERVIEW_EVAL_DEBUG=1 for the traceback")
            finish(i, result)

        todo = []
        for i, job in enumerate(jobs):
            key = self._key(job.messages, job.response_model, job.prompt_id, job.prompt_version, job.cache_salt)
            hit = self._cached(key, job.response_model, job.prompt_id, job.prompt_version)
            if hit is not None:
                finish(i, hit)
            else:
                todo.append(i)
        if not todo:
            return list(results)  # type: ignore[arg-type]
        # Import openai and build the client here: in the first worker, every other worker would wait on it.
        self.warm_up()
        # Daemon workers, not a ThreadPoolExecutor: after Ctrl-C the process must not wait at exit for requests
        # in flight (up to the request timeout each), and a second Ctrl-C must not print a traceback.
        pending = deque(todo)
        stop = threading.Event()

        def worker() -> None:
            while not stop.is_set():
                try:
                    i = pending.popleft()
                except IndexError:
                    return
                run(i)

        threads = [threading.Thread(target=worker, name=f"llm-{k}", daemon=True)
                   for k in range(min(self.settings.concurrency, len(todo)))]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        except BaseException:
            stop.set()  # no new request starts; answers already received are in the cache
            raise
        return list(results)  # type: ignore[arg-type]

    def warm_up(self) -> None:
        """Import `openai` and build the HTTP client now (e.g. on a background thread while alignment runs),
        so the first LLM calls do not wait for it. Does nothing when no endpoint is configured; never raises
        (a real problem is reported by the first call)."""
        if not is_configured(self.settings):
            return
        try:
            self._openai()
        except Exception:
            log.debug("LLM client warm-up failed; the first call will report it", exc_info=True)

    # -- cache ----------------------------------------------------------------------------------

    def _key(self, messages: Sequence[Mapping[str, Any]], response_model: type[BaseModel], prompt_id: str,
             prompt_version: str, salt: Mapping[str, Any] | None) -> str:
        s = self.settings
        return cache_key(endpoint=s.base_url, model=s.model, prompt_id=prompt_id, prompt_version=prompt_version,
                         messages=messages, schema=_schemas(response_model)[0], temperature=s.temperature,
                         max_output_tokens=s.max_output_tokens, mode=s.mode, salt=salt)

    def _cached(self, key: str, response_model: type[T], prompt_id: str, prompt_version: str) -> Completion[T] | None:
        if not self.settings.use_cache:
            return None
        hit = self._cache_get(key, response_model)
        if hit is None:
            return None
        log.debug("cache hit for %s@%s (%s)", prompt_id, prompt_version, key[:12])
        return Completion(value=hit, usage=Usage(), cached=True, attempts=0, model=self.settings.model,
                          prompt_id=prompt_id, prompt_version=prompt_version, mode="cache", requests=0)

    def _cache_path(self, key: str) -> Path:
        return self.settings.llm_cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str, response_model: type[T]) -> T | None:
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != key:
                raise ValueError("entry is for another key")
            return response_model.model_validate(data["value"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError):
            # A damaged or outdated entry is a miss, never an error: it is rewritten on success.
            log.debug("ignoring unusable cache entry %s", path, exc_info=True)
            return None

    def _cache_put(self, key: str, value: BaseModel, *, prompt_id: str, prompt_version: str,
                   usage: Usage) -> None:
        # Only what is needed to serve the answer again; the endpoint's key is never part of it.
        entry = {
            "format": CACHE_FORMAT,
            "key": key,
            "endpoint_host": self.host,
            "model": self.settings.model,
            "prompt_id": prompt_id,
            "prompt_version": prompt_version,
            "response_model": type(value).__name__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "usage": usage.model_dump(),
            "value": value.model_dump(mode="json"),
        }
        text = self._scrub(json.dumps(entry, ensure_ascii=False, indent=1))
        if len(text) > self.settings.max_response_bytes:
            log.debug("not caching a %d-character answer to %s", len(text), prompt_id)
            return
        try:
            atomic_write(self._cache_path(key), text)
        except OSError as exc:
            log.warning("could not write the LLM cache (%s): %s", self.settings.llm_cache_dir, exc)

    # -- asking ---------------------------------------------------------------------------------

    def _temperature(self, attempt: int) -> float:
        """The first answer at the configured temperature, each re-ask a step warmer (capped)."""
        s = self.settings
        if attempt <= 1:
            return s.temperature
        warmer = s.temperature + s.reask_temperature_step * (attempt - 1)
        return round(min(warmer, max(s.temperature, REASK_TEMPERATURE_CAP)), 3)

    def _request(self, conversation: list[dict[str, Any]], response_model: type[BaseModel], mode: str,
                 temperature: float) -> dict[str, Any]:
        s, caps = self.settings, self._caps
        _, schema, strict = _schemas(response_model)
        messages = conversation
        if mode != "json_schema":
            # JSON mode only promises *some* JSON object, plain promises nothing: state the schema in a system
            # message, placed after the caller's leading system messages so their instructions stay first.
            note = {"role": "system",
                    "content": _protocol("json_mode", schema=json.dumps(schema, ensure_ascii=False))}
            lead = 0
            while lead < len(conversation) and conversation[lead].get("role") == "system":
                lead += 1
            messages = conversation[:lead] + [note] + conversation[lead:]
        request: dict[str, Any] = {"model": s.model, "messages": messages, caps.token_param: s.max_output_tokens}
        if caps.temperature:
            request["temperature"] = temperature
        if mode == "json_schema":
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(response_model), "schema": schema, "strict": strict},
            }
        elif mode == "json_object":
            request["response_format"] = {"type": "json_object"}
        return request

    def _send(self, conversation: list[dict[str, Any]], response_model: type[BaseModel],
              temperature: float) -> _Reply:
        """One answer from the endpoint, stepping down the structured-output ladder as it needs.

        A rung not yet known to work is a probe: its first 5xx is not retried. The next rung is tried
        once instead: if that works, the failure was the structured request (llama.cpp answers an
        unsupported response_format with HTTP 500) and the lower rung is remembered; if it fails too, the
        endpoint is just failing, and the first rung gets the remaining retries. Timeouts and 429s are
        retried by the openai client as usual, probe or not.
        """
        import openai

        s, caps = self.settings, self._caps
        ladder = LADDER[LADDER.index(caps.rung):] if s.mode == "auto" else (s.mode,)
        start = self._requests()
        i, suspect, retries = 0, None, None  # retries None: probing allowed, all retries left
        while True:
            mode = ladder[i]
            lower = i + 1 < len(ladder)
            request = self._request(conversation, response_model, mode, temperature)
            sent_temperature = request.get("temperature")
            self._local.probe = retries is None and (suspect is not None or (lower and mode not in caps.confirmed))
            try:
                response = self._openai(retries).chat.completions.create(**request)
            except _TooLarge as exc:
                return _Reply(mode=mode, temperature=sent_temperature, requests=self._requests() - start,
                              oversize=exc.seen)
            except _WaitTooLong as exc:
                raise self._wait_error(exc.seconds, exc.status) from None
            except _ProbeFailed as exc:
                if suspect is None and lower:
                    suspect, i = i, i + 1  # maybe only the structured request fails: try the next rung once
                    continue
                if s.max_retries == 0:
                    raise self._server_error(exc.status, exc.message, start) from None
                # The lower rung failed too: not about the format. Spend the retries where we started.
                i, retries = suspect if suspect is not None else i, s.max_retries - 1
                continue
            except openai.APIStatusError as exc:
                code = exc.status_code
                if code in (400, 422) and self._adapt(exc):
                    continue
                if lower and code in (400, 422) and _FORMAT_REFUSED.search(self._error_text(exc)):
                    log.info("%s refused %s output for %s (%s); asking with %s", self.host, mode, s.model,
                             self._error_text(exc)[:200], ladder[i + 1])
                    self._step_down(ladder[i + 1])
                    i += 1
                    continue
                raise self._failure(exc, start) from None
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                raise self._failure(exc, start) from None
            finally:
                self._local.probe = False
            self._answered(mode)
            return self._reply_of(response, mode, sent_temperature, self._requests() - start)

    def _reply_of(self, response: Any, mode: str, temperature: float | None, requests: int) -> _Reply:
        if not getattr(response, "choices", None):
            raise LLMError(f"{self.host} returned an answer with no choices",
                           hint="check that the endpoint is OpenAI-compatible (/v1/chat/completions)")
        choice = response.choices[0]
        content = choice.message.content or ""
        got = _Reply(mode=mode, temperature=temperature, requests=requests, content=content,
                     refusal=getattr(choice.message, "refusal", None), finish_reason=choice.finish_reason,
                     usage=self._usage_of(response))
        size = len(content.encode("utf-8"))
        if size > self.settings.max_response_bytes:  # a compressed body passes the byte count on the wire
            got.content, got.oversize = "", size
        return got

    # -- capabilities ---------------------------------------------------------------------------

    def _adapt(self, exc: Any) -> bool:
        """Change a request parameter the model refuses (max_tokens, temperature); False if none applies."""
        text = self._error_text(exc)
        param = _error_field(exc, "param") or ""
        with _CAPS_LOCK:
            caps = self._caps
            if (caps.token_param == "max_tokens" and "max_completion_tokens" in text
                    and (param == "max_tokens" or _UNSUPPORTED.search(text))):
                caps.token_param = "max_completion_tokens"
            elif caps.temperature and "temperature" in (param + text) and (param == "temperature"
                                                                           or _UNSUPPORTED.search(text)):
                caps.temperature = False
            else:
                return False
        log.info("%s: %s does not take %s; adapting the requests (%s)", self.host, self.settings.model,
                 param or "a parameter", text[:200])
        return True

    def _step_down(self, mode: str) -> None:
        with _CAPS_LOCK:
            if LADDER.index(mode) > LADDER.index(self._caps.rung):
                self._caps.rung = mode

    def _answered(self, mode: str) -> None:
        with _CAPS_LOCK:
            self._caps.confirmed.add(mode)
            if self.settings.mode != "auto" or LADDER.index(mode) <= LADDER.index(self._caps.rung):
                return
            self._caps.rung = mode
        log.info("%s answers %s in %s mode (a better rung failed); using it for the rest of the run",
                 self.host, self.settings.model, mode)

    # -- transport ------------------------------------------------------------------------------

    def _openai(self, retries: int | None = None) -> openai.OpenAI:
        """The openai client (built once), or a copy sharing its HTTP client with other `max_retries`."""
        with self._client_lock:
            if self._client is None:
                import openai

                s = self.settings
                key = s.api_key.get_secret_value() if s.api_key else PLACEHOLDER_API_KEY
                # The hooks count requests (retries included) and enforce our limits; the retrying is the
                # client's. "identity" keeps the byte limit a limit on what is decoded, not on gzip.
                http = openai.DefaultHttpxClient(
                    event_hooks={"request": [self._on_request], "response": [self._on_response]})
                self._client = openai.OpenAI(api_key=key, base_url=s.base_url or DEFAULT_BASE_URL,
                                             timeout=s.timeout_s, max_retries=s.max_retries, http_client=http,
                                             default_headers={"Accept-Encoding": "identity"})
                self._client.chat.completions  # noqa: B018 - imports the lazily loaded chat resources now
            if retries is None or retries == self.settings.max_retries:
                return self._client
            if retries not in self._variants:
                self._variants[retries] = self._client.with_options(max_retries=retries)
            return self._variants[retries]

    def _requests(self) -> int:
        return getattr(self._local, "requests", 0)

    def _on_request(self, request: Any) -> None:
        self._local.requests = self._requests() + 1

    def _on_response(self, response: Any) -> None:
        code = response.status_code
        if code >= 500 and getattr(self._local, "probe", False):
            raise _ProbeFailed(code, self._scrub(_body_message(response)))
        if code in _RETRYABLE or code >= 500:
            # Past our limit (or what the openai client honours) the call ends at once, not after a backoff.
            wait = _retry_after_s(response.headers)
            if wait is not None and wait > min(self.settings.max_retry_after_s, _honoured_retry_after_s()):
                raise _WaitTooLong(wait, code)
        elif 200 <= code < 300:
            _limit_body(response, self.settings.max_response_bytes)

    def _wait_error(self, seconds: float, status: int) -> LLMError:
        return LLMError(f"{self.host} asked to wait {seconds:.0f} s before retrying (HTTP {status})",
                        hint="wait and re-run (finished answers are cached), or lower --concurrency")

    def _failure(self, exc: Any, start: int) -> LLMError:
        """The one-line error for what the openai client finally raised (after its retries)."""
        import openai

        s = self.settings
        n = self._requests() - start
        sent = f"{n} request" + ("" if n == 1 else "s")
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"the LLM endpoint {self.host} did not answer within {s.timeout_s:g} s ({sent})",
                hint=f"raise the timeout with --timeout or {ENV_TIMEOUT} (seconds), "
                     "or check that the server is running and not overloaded")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"cannot connect to the LLM endpoint {self.host} ({sent})",
                            hint=f"check {ENV_BASE_URL} / --base-url and that the server is running")
        if not isinstance(exc, openai.APIStatusError):
            return LLMError(f"{self.host}: unexpected {type(exc).__name__}: {self._scrub(str(exc))}",
                            hint="re-run with INTERVIEW_EVAL_DEBUG=1 for the traceback")
        code, text = exc.status_code, self._error_text(exc)
        if code == 401:
            return LLMError(f"{self.host} rejected the API key (HTTP 401)",
                            hint=f"set {ENV_API_KEY} to a valid key for this endpoint")
        if code == 403:
            return LLMError(f"{self.host} refused access (HTTP 403): {text}",
                            hint=f"check that the key in {ENV_API_KEY} may use model {s.model!r}")
        if code == 404:
            return LLMError(f"{self.host} has no model {s.model!r} or no chat endpoint (HTTP 404): {text}",
                            hint=f"check --model / {ENV_MODEL}, and that {ENV_BASE_URL} ends in /v1")
        if code in (400, 422):
            hint = "check --model and the prompt size"
            if _FORMAT_REFUSED.search(text):
                hint = "this endpoint does not take this structured-output mode; use mode auto"
            return LLMError(f"{self.host} rejected the request (HTTP {code}): {text}", hint=hint)
        if code in _RETRYABLE or code >= 500:
            wait = _retry_after_s(exc.response.headers)
            if wait is not None and wait > min(s.max_retry_after_s, _honoured_retry_after_s()):
                return self._wait_error(wait, code)
            if code == 429:
                return LLMError(f"{self.host} kept rate-limiting the requests (HTTP 429 after {sent})",
                                hint="lower --concurrency or wait and re-run; finished answers are cached")
            return self._server_error(code, text, start)
        return LLMError(f"{self.host} answered HTTP {code}: {text}",
                        hint="check --model and the endpoint's documentation")

    def _server_error(self, code: int, text: str, start: int) -> LLMError:
        n = self._requests() - start
        return LLMError(f"{self.host} kept failing (HTTP {code} after {n} request{'' if n == 1 else 's'})"
                        + (f": {text}" if text else ""),
                        hint="the endpoint has a problem; re-run later (finished answers are cached)")

    def _error_text(self, exc: Any) -> str:
        text = _error_field(exc, "message")
        text = text or getattr(exc, "message", None) or str(exc)
        return self._scrub(" ".join(str(text).split()))[:500]

    def _scrub(self, text: str) -> str:
        """Remove the API key from text bound for a message, a log or a file (servers sometimes echo it)."""
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return text.replace(key, "***") if key and len(key) >= 4 else text

    @staticmethod
    def _usage_of(response: Any) -> Usage:
        u = getattr(response, "usage", None)
        if u is None:  # some local servers leave usage out
            return Usage()
        p = int(getattr(u, "prompt_tokens", 0) or 0)
        c = int(getattr(u, "completion_tokens", 0) or 0)
        t = int(getattr(u, "total_tokens", 0) or 0) or p + c
        return Usage(prompt_tokens=p, completion_tokens=c, total_tokens=t)


def _body_message(response: Any) -> str:
    """The message of a small error body read in a response hook ("" when large, absent or not JSON)."""
    length = response.headers.get("content-length", "")
    if not length.isdigit() or int(length) > 65536:
        return ""
    try:
        body = json.loads(response.read() or b"null")
    except ValueError:
        return ""
    text = _error_field(body, "message") or ""
    return " ".join(text.split())[:500]


def _error_field(exc_or_body: Any, name: str) -> str | None:
    """A field (message, param) of an OpenAI-style error body, whether or not it is wrapped in "error"."""
    body = exc_or_body if isinstance(exc_or_body, dict) else getattr(exc_or_body, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            value = inner.get(name)
            return None if value is None else str(value)
        if name == "message":
            return str(inner)
    return None


__all__ = [
    "Attempt",
    "Completer",
    "Completion",
    "LADDER",
    "LLMClient",
    "LLMError",
    "LLMJob",
    "LLMSettings",
    "Usage",
    "cache_key",
    "endpoint_host",
    "is_configured",
    "settings_from",
    "strict_json_schema",
    "total_usage",
]
