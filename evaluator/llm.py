"""The OpenAI-compatible LLM client: structured output, retries, re-asks, concurrency, cache, token use.

This is the only module that talks to an LLM endpoint. The interface is narrow (after `simonw/llm`):
`LLMClient(settings).complete(messages, ResponseModel, prompt_id=..., prompt_version=...)` returns a
`Completion` holding a validated pydantic instance. Invalid output is re-asked with the validation
error (after `instructor`). `openai` is imported inside methods only, so `--help` stays instant.

Configuration is resolved by `settings_from()`: flag > environment variable > default, and the
environment is read only when it is called. The API key is a `SecretStr`: never logged, never written
to a cache file or any output; `endpoint_host()` is what outputs record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Literal, Mapping, Sequence, TypeVar
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
CACHE_FORMAT = 1

ENV_API_KEY = "OPENAI_API_KEY"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_MODEL = "INTERVIEW_EVAL_MODEL"
ENV_TIMEOUT = "INTERVIEW_EVAL_TIMEOUT"
ENV_CACHE_DIR = "INTERVIEW_EVAL_CACHE_DIR"

Mode = Literal["auto", "json_schema", "json_object"]

def _protocol(name: str, **values: str) -> str:
    """Protocol text (a re-ask, the JSON-mode instruction) from its prompt file in prompts/."""
    from evaluator.prompts import load_prompt

    return load_prompt(name).text(**values)


def _default_cache_dir() -> Path:
    """Root cache folder (`evaluator.files.cache_dir`), read when settings are built."""
    from evaluator.files import cache_dir

    return cache_dir()


class LLMSettings(BaseModel):
    """How to reach the LLM endpoint and how hard to try. Build it with `settings_from()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0, description="retries of timeouts, connection errors, 408/409/429/5xx")
    max_reasks: int = Field(2, ge=0, description="re-asks after invalid JSON or a schema violation")
    concurrency: int = Field(4, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="root cache folder; LLM answers go in llm/")
    use_cache: bool = True
    mode: Mode = "auto"
    backoff_s: float = Field(0.5, ge=0.0, description="first retry wait; doubles on each retry, with jitter")
    backoff_max_s: float = Field(8.0, ge=0.0)
    max_retry_after_s: float = Field(120.0, ge=0.0, description="give up when a server asks to wait longer")

    @property
    def llm_cache_dir(self) -> Path:
        """The folder holding cached LLM answers."""
        return Path(self.cache_dir) / "llm"


def settings_from(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    timeout_s: float | None = None,
    cache_dir: str | Path | None = None,
    **overrides: Any,
) -> LLMSettings:
    """Resolve settings: explicit argument > environment variable > default (environment read now, not at import).

    Environment: OPENAI_API_KEY, OPENAI_BASE_URL, INTERVIEW_EVAL_MODEL, INTERVIEW_EVAL_TIMEOUT,
    INTERVIEW_EVAL_CACHE_DIR. Other `LLMSettings` fields (max_retries, concurrency, ...) pass through
    `overrides`; a value of None means "not given".
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
    if timeout_s is None and env.get(ENV_TIMEOUT):
        raw = env[ENV_TIMEOUT]
        try:
            timeout_s = float(raw)
        except ValueError:
            raise LLMError(f"{ENV_TIMEOUT}={raw!r} is not a number of seconds",
                           hint=f"set {ENV_TIMEOUT} to e.g. 120, or pass --timeout") from None
    if timeout_s is not None:
        values["timeout_s"] = timeout_s
    if cache_dir is not None:
        values["cache_dir"] = Path(cache_dir).expanduser()
    try:
        return LLMSettings(**values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise LLMError(f"LLM setting {where}: {first['msg']}",
                       hint="check the --model/--timeout/--concurrency options") from None


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
class Completion(Generic[T]):
    """One validated answer: `value` is the response model instance.

    `attempts` counts the answers asked of the model (1 + re-asks; 0 when cached); `requests` counts HTTP
    requests including transport retries and a json_schema -> json_object fallback. `mode` is how the
    structured output was requested.
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


@dataclass(frozen=True)
class LLMJob:
    """One completion to run in `LLMClient.map_complete`."""

    messages: Sequence[Mapping[str, Any]]
    response_model: type[BaseModel]
    prompt_id: str
    prompt_version: str


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


def _strip_fences(text: str) -> str:
    # JSON-mode local models sometimes wrap the object in a Markdown code fence.
    t = text.strip()
    m = re.fullmatch(r"```[a-zA-Z0-9]*\s*(.*?)\s*```", t, re.DOTALL)
    return m.group(1) if m else t


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:8]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg')}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def cache_key(
    *,
    model: str,
    prompt_id: str,
    prompt_version: str,
    messages: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any],
    temperature: float,
) -> str:
    """SHA-256 over everything that determines an answer (never the endpoint's key)."""
    payload = {
        "format": CACHE_FORMAT,
        "model": model,
        "prompt_id": prompt_id,
        "prompt_version": prompt_version,
        "messages": [dict(m) for m in messages],
        "schema": schema,
        "temperature": float(temperature),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# Endpoints (base_url, model) that rejected json_schema during this run: ask them in JSON mode directly.
_JSON_OBJECT_ONLY: set[tuple[str, str]] = set()
_FALLBACK_LOCK = threading.Lock()

_SCHEMA_UNSUPPORTED = re.compile(r"response_format|json_schema|structured output|strict", re.IGNORECASE)


class _Transient(Exception):
    """A retryable transport failure, carrying what the final error message needs."""

    def __init__(self, kind: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


def _retry_after_s(headers: Any) -> float | None:
    """Seconds a server asks us to wait (Retry-After-Ms or Retry-After in seconds), if it says."""
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


class LLMClient:
    """Structured completions from an OpenAI-compatible endpoint. Thread-safe; use one per run."""

    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.host = endpoint_host(settings)
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()
        self._fallback_key = (settings.base_url or DEFAULT_BASE_URL, settings.model)

    # -- public ---------------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        response_model: type[T],
        *,
        prompt_id: str,
        prompt_version: str,
    ) -> Completion[T]:
        """Ask for one answer validated as `response_model`; from the cache when the same question was asked.

        Raises LLMError when the endpoint is not configured or unreachable, keeps failing, refuses, or
        gives no valid answer within `max_reasks` re-asks.
        """
        s = self.settings
        key = cache_key(model=s.model, prompt_id=prompt_id, prompt_version=prompt_version, messages=messages,
                        schema=response_model.model_json_schema(), temperature=s.temperature)
        if s.use_cache:
            hit = self._cache_get(key, response_model)
            if hit is not None:
                log.debug("cache hit for %s@%s (%s)", prompt_id, prompt_version, key[:12])
                return Completion(value=hit, usage=Usage(), cached=True, attempts=0, model=s.model,
                                  prompt_id=prompt_id, prompt_version=prompt_version, mode="cache", requests=0)
        if not is_configured(s):
            raise LLMError("no LLM endpoint is configured",
                           hint=f"set {ENV_API_KEY} (OpenAI) or {ENV_BASE_URL} (a local server such as Ollama)")

        conversation: list[dict[str, Any]] = [dict(m) for m in messages]
        usage = Usage()
        requests = 0
        last_error = ""
        for attempt in range(1, s.max_reasks + 2):
            response, mode, n = self._send(conversation, response_model)
            requests += n
            usage = usage + self._usage_of(response)
            if not getattr(response, "choices", None):
                raise LLMError(f"{self.host} returned an answer with no choices",
                               hint="check that the endpoint is OpenAI-compatible (/v1/chat/completions)")
            choice = response.choices[0]
            message = choice.message
            refusal = getattr(message, "refusal", None)
            if refusal or choice.finish_reason == "content_filter":
                reason = refusal or "the endpoint's content filter stopped the answer"
                raise LLMError(f"model refused: {self._scrub(str(reason))} ({prompt_id})",
                               hint="check the input text; a refusal is not retried")
            content = message.content or ""
            try:
                value = response_model.model_validate_json(_strip_fences(content))
            except ValidationError as exc:
                last_error = _validation_message(exc)
                if choice.finish_reason == "length":
                    last_error = "the answer was cut off at the token limit (" + last_error + ")"
                log.debug("invalid answer to %s (attempt %d): %s", prompt_id, attempt, last_error)
                conversation.append({"role": "assistant", "content": content})
                conversation.append({"role": "user", "content": _protocol("reask", error=last_error)})
                continue
            if s.use_cache:
                self._cache_put(key, value, prompt_id=prompt_id, prompt_version=prompt_version, usage=usage)
            return Completion(value=value, usage=usage, cached=False, attempts=attempt, model=s.model,
                              prompt_id=prompt_id, prompt_version=prompt_version, mode=mode, requests=requests)
        raise LLMError(
            f"{s.model} at {self.host} gave no valid {response_model.__name__} for {prompt_id} "
            f"after {s.max_reasks + 1} answers: {self._scrub(last_error)}",
            hint="try a stronger model (--model) or allow more re-asks",
        )

    def map_complete(
        self,
        jobs: Sequence[LLMJob],
        *,
        on_done: Callable[[int, Completion[Any] | LLMError], None] | None = None,
    ) -> list[Completion[Any] | LLMError]:
        """Run many completions with at most `settings.concurrency` in flight; results in job order.

        Each result is a Completion or the LLMError that job ended with: one failed job never sinks
        the others. `on_done(index, result)` is called as each finishes (e.g. to advance a progress bar);
        it runs on a worker thread.
        """
        results: list[Completion[Any] | LLMError | None] = [None] * len(jobs)

        def run(i: int) -> None:
            job = jobs[i]
            try:
                result: Completion[Any] | LLMError = self.complete(
                    job.messages, job.response_model, prompt_id=job.prompt_id, prompt_version=job.prompt_version)
            except LLMError as exc:
                result = exc
            except Exception as exc:  # a bug in one job must not lose the others' answers
                log.debug("job %d (%s) failed", i, job.prompt_id, exc_info=True)
                result = LLMError(f"{job.prompt_id}: unexpected {type(exc).__name__}: {self._scrub(str(exc))}",
                                  hint="re-run with INTERVIEW_EVAL_DEBUG=1 for the traceback")
            results[i] = result
            if on_done is not None:
                on_done(i, result)

        if not jobs:
            return []
        pool = ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(jobs)),
                                  thread_name_prefix="llm")
        try:
            futures = [pool.submit(run, i) for i in range(len(jobs))]
            for f in futures:
                f.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [r for r in results]  # type: ignore[misc]

    # -- transport ------------------------------------------------------------------------------

    def _openai(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                import openai

                s = self.settings
                key = s.api_key.get_secret_value() if s.api_key else PLACEHOLDER_API_KEY
                # max_retries=0: retries are ours, so tests can shrink the backoff and attempts are counted.
                self._client = openai.OpenAI(api_key=key, base_url=s.base_url or DEFAULT_BASE_URL,
                                             timeout=s.timeout_s, max_retries=0)
            return self._client

    def _mode(self) -> str:
        if self.settings.mode != "auto":
            return self.settings.mode
        with _FALLBACK_LOCK:
            return "json_object" if self._fallback_key in _JSON_OBJECT_ONLY else "json_schema"

    def _request(self, conversation: list[dict[str, Any]], response_model: type[BaseModel],
                 mode: str) -> dict[str, Any]:
        s = self.settings
        schema, strict = strict_json_schema(response_model)
        if mode == "json_schema":
            messages = conversation
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(response_model), "schema": schema, "strict": strict},
            }
        else:
            # JSON mode only promises *some* JSON object: state the schema in a system message, placed
            # after the caller's leading system messages so their instructions stay first.
            note = {"role": "system",
                    "content": _protocol("json_mode", schema=json.dumps(schema, ensure_ascii=False))}
            lead = 0
            while lead < len(conversation) and conversation[lead].get("role") == "system":
                lead += 1
            messages = conversation[:lead] + [note] + conversation[lead:]
            response_format = {"type": "json_object"}
        return {"model": s.model, "messages": messages, "temperature": s.temperature,
                "response_format": response_format}

    def _send(self, conversation: list[dict[str, Any]],
              response_model: type[BaseModel]) -> tuple[Any, str, int]:
        """One answer from the endpoint: (response, mode used, HTTP requests made)."""
        import openai

        mode = self._mode()
        requests = 0
        while True:
            try:
                response, n = self._create_with_retries(self._request(conversation, response_model, mode))
                return response, mode, requests + n
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                requests += 1
                text = self._error_text(exc)
                if mode == "json_schema" and self.settings.mode == "auto" and _SCHEMA_UNSUPPORTED.search(text):
                    log.info("%s rejected json_schema output (%s); using JSON mode for the rest of the run",
                             self.host, text[:200])
                    with _FALLBACK_LOCK:
                        _JSON_OBJECT_ONLY.add(self._fallback_key)
                    mode = "json_object"
                    continue
                hint = "check --model and the prompt size"
                if mode == "json_schema" and _SCHEMA_UNSUPPORTED.search(text):
                    hint = "this endpoint does not take json_schema output; use mode auto or json_object"
                raise LLMError(f"{self.host} rejected the request (HTTP {exc.status_code}): {text}",
                               hint=hint) from None

    def _create_with_retries(self, request: dict[str, Any]) -> tuple[Any, int]:
        """POST the request, retrying timeouts, connection errors, 408/409/429 and 5xx with backoff."""
        import openai

        s = self.settings
        client = self._openai()
        tries = s.max_retries + 1
        last: _Transient | None = None
        for n in range(1, tries + 1):
            try:
                return client.chat.completions.create(**request), n
            except openai.APITimeoutError:
                last = _Transient("timeout")
            except openai.APIConnectionError:
                last = _Transient("connection")
            except openai.AuthenticationError:
                raise LLMError(f"{self.host} rejected the API key (HTTP 401)",
                               hint=f"set {ENV_API_KEY} to a valid key for this endpoint") from None
            except openai.PermissionDeniedError as exc:
                raise LLMError(f"{self.host} refused access (HTTP 403): {self._error_text(exc)}",
                               hint=f"check that the key in {ENV_API_KEY} may use model {s.model!r}") from None
            except openai.NotFoundError as exc:
                raise LLMError(f"{self.host} has no model {s.model!r} or no chat endpoint (HTTP 404): "
                               f"{self._error_text(exc)}",
                               hint=f"check --model / {ENV_MODEL}, and that {ENV_BASE_URL} ends in /v1") from None
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                raise  # _send decides: maybe a json_schema -> json_object fallback
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in (408, 409, 429) or status >= 500:
                    last = _Transient("status", status, _retry_after_s(exc.response.headers))
                else:
                    raise LLMError(f"{self.host} answered HTTP {status}: {self._error_text(exc)}",
                                   hint="check --model and the endpoint's documentation") from None
            if n == tries:
                break
            wait = self._backoff(n, last.retry_after)
            if wait is None:
                raise LLMError(
                    f"{self.host} asked to wait {last.retry_after:.0f} s before retrying (HTTP {last.status})",
                    hint="wait and re-run (finished answers are cached), or lower --concurrency") from None
            log.info("%s: %s on try %d of %d; retrying in %.2f s", self.host,
                     last.kind if last.status is None else f"HTTP {last.status}", n, tries, wait)
            time.sleep(wait)
        assert last is not None
        raise self._transport_error(last, tries)

    def _backoff(self, n: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try n+1: the server's Retry-After if given, else exponential with jitter."""
        s = self.settings
        if retry_after is not None:
            return None if retry_after > s.max_retry_after_s else retry_after
        base = min(s.backoff_s * (2 ** (n - 1)), s.backoff_max_s)
        return base * (0.5 + random.random() / 2)

    def _transport_error(self, last: _Transient, tries: int) -> LLMError:
        s = self.settings
        if last.kind == "timeout":
            return LLMError(
                f"the LLM endpoint {self.host} did not answer within {s.timeout_s:g} s ({tries} tries)",
                hint=f"raise the timeout with --timeout or {ENV_TIMEOUT} (seconds), "
                     "or check that the server is running and not overloaded")
        if last.kind == "connection":
            return LLMError(f"cannot connect to the LLM endpoint {self.host} ({tries} tries)",
                            hint=f"check {ENV_BASE_URL} / --base-url and that the server is running")
        if last.status == 429:
            return LLMError(f"{self.host} kept rate-limiting the requests (HTTP 429, {tries} tries)",
                            hint="lower --concurrency or wait and re-run; finished answers are cached")
        return LLMError(f"{self.host} kept failing (HTTP {last.status}, {tries} tries)",
                        hint="the endpoint has a problem; re-run later (finished answers are cached)")

    def _error_text(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        text = None
        if isinstance(body, dict):
            inner = body.get("error", body)
            text = inner.get("message") if isinstance(inner, dict) else str(inner)
        text = text or getattr(exc, "message", None) or str(exc)
        return self._scrub(" ".join(str(text).split()))[:500]

    def _scrub(self, text: str) -> str:
        """Remove the API key from text bound for a message (servers sometimes echo it)."""
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

    # -- cache ----------------------------------------------------------------------------------

    def _cache_path(self, key: str) -> Path:
        return self.settings.llm_cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str, response_model: type[T]) -> T | None:
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return response_model.model_validate(data["value"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            # A damaged or outdated entry is a miss, never an error: it is rewritten on success.
            log.debug("ignoring unusable cache entry %s", path, exc_info=True)
            return None

    def _cache_put(self, key: str, value: BaseModel, *, prompt_id: str, prompt_version: str,
                   usage: Usage) -> None:
        # Only what is needed to serve the answer again; the endpoint's key is never part of it.
        entry = {
            "format": CACHE_FORMAT,
            "key": key,
            "model": self.settings.model,
            "prompt_id": prompt_id,
            "prompt_version": prompt_version,
            "response_model": type(value).__name__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "usage": usage.model_dump(),
            "value": value.model_dump(mode="json"),
        }
        try:
            atomic_write(self._cache_path(key), json.dumps(entry, ensure_ascii=False, indent=1))
        except OSError as exc:
            log.warning("could not write the LLM cache (%s): %s", self.settings.llm_cache_dir, exc)


__all__ = [
    "Completion",
    "LLMClient",
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
