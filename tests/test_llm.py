"""The LLM client through the real `openai` client over real HTTP, against tests/openai_stub.py on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from evaluator.errors import LLMError
from evaluator.llm import (
    Completion,
    LLMClient,
    LLMJob,
    LLMSettings,
    Usage,
    endpoint_host,
    is_configured,
    settings_from,
    strict_json_schema,
    total_usage,
)
from openai_stub import delay, json_schema_unsupported, rate_limited, raw, refusal, reply, server_error, status

SECRET = "sk-test-DO-NOT-LEAK-7f3a9c"
GOOD = {"score": 3, "reason": "gave a concrete example"}
REPO = Path(__file__).resolve().parent.parent


class Score(BaseModel):
    """The tiny response model the tests ask for."""

    score: int = Field(ge=0, le=4)
    reason: str


def ask(**overrides) -> list[dict]:
    text = overrides.get("text", "Score this answer.")
    return [{"role": "system", "content": "You score interview answers."},
            {"role": "user", "content": text}]


@pytest.fixture
def make_client(llm_server, tmp_path):
    """LLMClient pointed at the stub, with a private cache and tiny backoffs."""

    def make(**kw) -> LLMClient:
        values = dict(model="stub-model", base_url=llm_server.base_url, api_key=SECRET,
                      cache_dir=tmp_path / "cache", backoff_s=0.001, backoff_max_s=0.01)
        values.update(kw)
        return LLMClient(LLMSettings(**values))

    return make


def complete(client: LLMClient, *, text: str = "Score this answer.", version: str = "1") -> Completion[Score]:
    return client.complete(ask(text=text), Score, prompt_id="score-criterion", prompt_version=version)


# --- answers and re-asks -----------------------------------------------------------------------


def test_valid_answer_is_validated_into_the_response_model(llm_server, make_client):
    llm_server.enqueue(GOOD)
    result = complete(make_client())
    assert result.value == Score(**GOOD)
    assert (result.cached, result.attempts, result.requests, result.mode) == (False, 1, 1, "json_schema")
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens > 0
    req = llm_server.requests[0]
    assert req.path == "/v1/chat/completions"
    assert req.model == "stub-model"
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    fmt = req.response_format
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Score" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert fmt["json_schema"]["schema"]["required"] == ["score", "reason"]


def test_temperature_zero_is_sent_by_default(llm_server, make_client):
    llm_server.enqueue(GOOD)
    complete(make_client())
    assert llm_server.requests[0].temperature == 0


def test_malformed_json_is_reasked_with_the_error_then_succeeds(llm_server, make_client):
    llm_server.enqueue(raw('{"score": 3, "reason": '), GOOD)
    result = complete(make_client())
    assert result.value.score == 3
    assert result.attempts == 2 and llm_server.request_count == 2
    second = llm_server.requests[1].messages
    assert second[:2] == ask()
    assert second[2] == {"role": "assistant", "content": '{"score": 3, "reason": '}
    assert second[3]["role"] == "user" and "Invalid JSON" in second[3]["content"]
    # Tokens of the failed answer count too.
    assert result.usage.completion_tokens > 2


def test_schema_violation_is_reasked_naming_the_fields(llm_server, make_client):
    llm_server.enqueue({"score": 9}, GOOD)
    result = complete(make_client())
    assert result.value == Score(**GOOD) and result.attempts == 2
    reask = llm_server.requests[1].messages[-1]["content"]
    assert "score" in reask and "less than or equal to 4" in reask
    assert "reason" in reask and "Field required" in reask


def test_reasks_exhausted_raise_llm_error_with_the_reason(llm_server, make_client):
    llm_server.enqueue({"score": "high"}, {"score": "high"}, {"score": "high"})
    with pytest.raises(LLMError) as err:
        complete(make_client(max_reasks=2))
    assert llm_server.request_count == 3
    text = str(err.value)
    assert "no valid Score" in text and "after 3 answers" in text and "score" in text


def test_fenced_json_from_json_mode_models_is_accepted(llm_server, make_client):
    llm_server.enqueue(raw("```json\n" + json.dumps(GOOD) + "\n```"))
    assert complete(make_client()).value == Score(**GOOD)


def test_refusal_raises_without_reasking(llm_server, make_client):
    llm_server.enqueue(refusal("I can't evaluate people."), GOOD)
    with pytest.raises(LLMError, match="model refused: I can't evaluate people"):
        complete(make_client())
    assert llm_server.request_count == 1


def test_content_filter_finish_reason_is_a_refusal(llm_server, make_client):
    llm_server.enqueue(reply(content="", finish_reason="content_filter"))
    with pytest.raises(LLMError, match="model refused"):
        complete(make_client())
    assert llm_server.request_count == 1


# --- transport failures ------------------------------------------------------------------------


def test_rate_limit_429_is_retried_then_succeeds(llm_server, make_client):
    llm_server.enqueue(rate_limited(0), rate_limited(0), GOOD)
    result = complete(make_client())
    assert result.value == Score(**GOOD)
    assert result.requests == 3 and result.attempts == 1 and llm_server.request_count == 3


def test_server_error_500_is_retried_then_succeeds(llm_server, make_client):
    llm_server.enqueue(server_error(500), server_error(503), GOOD)
    result = complete(make_client())
    assert result.value == Score(**GOOD) and result.requests == 3


def test_retry_after_header_sets_the_wait(llm_server, make_client):
    llm_server.enqueue(rate_limited(0.3), GOOD)
    complete(make_client(backoff_s=0.001))
    first, second = llm_server.requests
    assert second.received_at - first.received_at >= 0.29


def test_retry_after_longer_than_the_limit_gives_up_at_once(llm_server, make_client):
    llm_server.enqueue(rate_limited(3600), GOOD)
    with pytest.raises(LLMError, match="asked to wait 3600 s"):
        complete(make_client(max_retry_after_s=60))
    assert llm_server.request_count == 1


def test_persistent_server_errors_give_up_after_max_retries(llm_server, make_client):
    llm_server.enqueue(*[server_error(502)] * 3)
    with pytest.raises(LLMError, match=r"kept failing \(HTTP 502, 3 tries\)"):
        complete(make_client(max_retries=2))
    assert llm_server.request_count == 3


def test_timeout_is_retried_then_succeeds(llm_server, make_client):
    llm_server.enqueue(delay(2.0, GOOD), GOOD)
    result = complete(make_client(timeout_s=0.5, max_retries=1))
    assert result.value == Score(**GOOD) and result.requests == 2


def test_timeout_exhausted_names_the_host_the_limit_and_the_fix(llm_server, make_client):
    llm_server.enqueue(delay(2.0, GOOD), delay(2.0, GOOD))
    with pytest.raises(LLMError) as err:
        complete(make_client(timeout_s=0.5, max_retries=1))
    assert llm_server.request_count == 2
    text = str(err.value)
    assert f"127.0.0.1:{llm_server.port}" in text
    assert "0.5 s" in text and "--timeout" in text and "INTERVIEW_EVAL_TIMEOUT" in text


def test_auth_error_says_to_set_openai_api_key(llm_server, make_client):
    llm_server.enqueue(status(401, f"Incorrect API key provided: {SECRET}", err_type="invalid_request_error"))
    with pytest.raises(LLMError) as err:
        complete(make_client())
    assert "401" in str(err.value) and "OPENAI_API_KEY" in str(err.value)
    assert SECRET not in str(err.value)
    assert llm_server.request_count == 1


def test_unreachable_endpoint_says_to_check_the_base_url(tmp_path):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LLMClient(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", cache_dir=tmp_path,
                                   max_retries=1, backoff_s=0.001))
    with pytest.raises(LLMError, match="cannot connect.*OPENAI_BASE_URL"):
        complete(client)


# --- json_schema fallback ----------------------------------------------------------------------


def test_json_schema_unsupported_falls_back_to_json_object_and_remembers(llm_server, make_client):
    llm_server.json_schema_supported = False
    llm_server.enqueue(GOOD, {"score": 1, "reason": "vague"})
    client = make_client()
    first = complete(client, text="first answer")
    assert first.value == Score(**GOOD) and first.mode == "json_object"
    rejected, accepted = llm_server.requests
    assert rejected.response_format["type"] == "json_schema"
    assert accepted.response_format == {"type": "json_object"}
    # The schema travels in an added system message, after the caller's own system message.
    assert accepted.messages[0] == ask()[0]
    assert accepted.messages[1]["role"] == "system" and '"reason"' in accepted.messages[1]["content"]
    assert "JSON" in accepted.messages[1]["content"]
    # Later calls go straight to JSON mode.
    second = complete(client, text="second answer")
    assert second.value.score == 1
    assert llm_server.request_count == 3
    assert llm_server.requests[2].response_format == {"type": "json_object"}


def test_explicit_json_schema_mode_does_not_fall_back(llm_server, make_client):
    llm_server.enqueue(json_schema_unsupported(), GOOD)
    with pytest.raises(LLMError, match="HTTP 400.*json_schema"):
        complete(make_client(mode="json_schema", model="other-model"))
    assert llm_server.request_count == 1


# --- cache ---------------------------------------------------------------------------------------


def test_second_identical_call_is_served_from_cache_without_http(llm_server, make_client):
    client = make_client()
    llm_server.enqueue(GOOD)
    first = complete(client)
    second = complete(make_client())  # a new client (a re-run) reads the same cache
    assert llm_server.request_count == 1
    assert second.cached and not first.cached
    assert second.value == first.value
    assert second.usage == Usage() and second.attempts == 0


def test_changed_prompt_version_misses_the_cache(llm_server, make_client):
    client = make_client()
    llm_server.enqueue(GOOD, {"score": 2, "reason": "new prompt"})
    complete(client, version="1")
    result = complete(client, version="2")
    assert not result.cached and result.value.score == 2
    assert llm_server.request_count == 2


def test_use_cache_false_always_asks(llm_server, make_client, tmp_path):
    client = make_client(use_cache=False)
    llm_server.enqueue(GOOD, GOOD)
    complete(client)
    assert not complete(client).cached
    assert llm_server.request_count == 2
    assert not (tmp_path / "cache").exists()


def test_failed_answers_are_not_cached(llm_server, make_client, tmp_path):
    llm_server.enqueue(*[raw("nope")] * 2)
    with pytest.raises(LLMError):
        complete(make_client(max_reasks=1))
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_damaged_cache_entry_is_a_miss(llm_server, make_client, tmp_path):
    llm_server.enqueue(GOOD, GOOD)
    complete(make_client())
    [entry] = (tmp_path / "cache" / "llm").rglob("*.json")
    entry.write_text("{half", encoding="utf-8")
    assert not complete(make_client()).cached
    assert llm_server.request_count == 2


def test_api_key_is_never_written_to_cache_files_or_shown(llm_server, make_client, tmp_path):
    client = make_client()
    llm_server.enqueue(GOOD)
    complete(client)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert SECRET not in path.read_text(encoding="utf-8")
    assert SECRET not in repr(client.settings) and SECRET not in client.settings.model_dump_json()
    assert SECRET not in endpoint_host(client.settings)


# --- concurrency -------------------------------------------------------------------------------


def test_map_complete_keeps_at_most_concurrency_requests_in_flight(llm_server, make_client):
    llm_server.latency_s = 0.3
    llm_server.handler = lambda body: GOOD
    jobs = [LLMJob(ask(text=f"answer {i}"), Score, "score-criterion", "1") for i in range(8)]
    results = make_client(concurrency=4).map_complete(jobs)
    assert all(isinstance(r, Completion) for r in results)
    assert llm_server.request_count == 8
    assert 2 <= llm_server.max_in_flight <= 4


def test_failing_job_in_map_complete_does_not_sink_the_others(llm_server, make_client):
    def answer(body):
        text = body["messages"][-1]["content"]
        if "refuse me" in text:
            return refusal("no")
        return {"score": int(text.split()[-1]), "reason": "ok"}

    llm_server.handler = answer
    jobs = [LLMJob(ask(text=f"answer {i}"), Score, "score-criterion", "1") for i in range(4)]
    jobs.insert(2, LLMJob(ask(text="refuse me"), Score, "score-criterion", "1"))
    done = []
    results = make_client().map_complete(jobs, on_done=lambda i, r: done.append(i))
    assert isinstance(results[2], LLMError) and "refused" in str(results[2])
    assert [r.value.score for r in results if isinstance(r, Completion)] == [0, 1, 2, 3]
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert total_usage(results).total_tokens == sum(r.usage.total_tokens for r in results if isinstance(r, Completion))


# --- settings and helpers ----------------------------------------------------------------------


def test_settings_resolve_flag_over_env_over_default(monkeypatch, tmp_path):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "INTERVIEW_EVAL_MODEL", "INTERVIEW_EVAL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERVIEW_EVAL_CACHE_DIR", str(tmp_path))
    default = settings_from()
    assert default.model == "gpt-4o-mini" and default.timeout_s == 60 and not is_configured(default)
    assert default.max_retries == 4 and default.max_reasks == 2 and default.concurrency == 4
    assert default.llm_cache_dir == tmp_path / "llm"

    monkeypatch.setenv("INTERVIEW_EVAL_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("INTERVIEW_EVAL_TIMEOUT", "90")
    from_env = settings_from()
    assert from_env.model == "env-model" and from_env.timeout_s == 90 and is_configured(from_env)
    assert from_env.api_key.get_secret_value() == SECRET
    flagged = settings_from(model="flag-model", timeout_s=5, concurrency=2)
    assert flagged.model == "flag-model" and flagged.timeout_s == 5 and flagged.concurrency == 2


def test_local_server_without_key_is_configured_and_uses_a_placeholder(llm_server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = settings_from(base_url=llm_server.base_url, cache_dir=tmp_path)
    assert settings.api_key is None and is_configured(settings)
    llm_server.enqueue(GOOD)
    assert complete(LLMClient(settings)).value == Score(**GOOD)
    assert llm_server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_unconfigured_client_says_how_to_configure(tmp_path):
    with pytest.raises(LLMError, match="no LLM endpoint is configured.*OPENAI_API_KEY"):
        complete(LLMClient(LLMSettings(cache_dir=tmp_path)))


def test_endpoint_host_keeps_host_and_port_only():
    s = LLMSettings(base_url="http://user:pw@localhost:11434/v1?key=abc")
    assert endpoint_host(s) == "localhost:11434"
    assert endpoint_host(LLMSettings()) == "api.openai.com"


def test_strict_schema_closes_nested_objects_and_drops_defaults():
    class Quote(BaseModel):
        text: str
        segment_id: str | None = None

    class Proposal(BaseModel):
        score: int = 0
        quotes: list[Quote] = Field(default_factory=list, description="verbatim quotes")
        best: Quote | None = None

    schema, strict = strict_json_schema(Proposal)
    assert strict
    quote = schema["$defs"]["Quote"]
    assert quote["additionalProperties"] is False and quote["required"] == ["text", "segment_id"]
    assert schema["required"] == ["score", "quotes", "best"]
    assert "default" not in json.dumps(schema)

    class Loose(BaseModel):
        tags: dict[str, int]

    assert strict_json_schema(Loose)[1] is False


def test_usage_adds_up():
    a = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12)
    assert a + a == Usage(prompt_tokens=20, completion_tokens=4, total_tokens=24)
    assert sum([a, a, a]) == Usage(prompt_tokens=30, completion_tokens=6, total_tokens=36)


def test_importing_llm_does_not_import_openai():
    code = "import sys, evaluator.llm; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_422_rejecting_response_format_also_falls_back(llm_server, make_client):
    llm_server.enqueue(status(422, "response_format json_schema: unknown variant", err_type="invalid_request_error"),
                       GOOD)
    result = complete(make_client(model="model-422"))
    assert result.value == Score(**GOOD) and result.mode == "json_object" and result.requests == 2
