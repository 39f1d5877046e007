"""The LLM client through the real `openai` client over real HTTP, against tests/openai_stub.py on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from evaluator.errors import LLMError
from evaluator.llm import (
    Completer,
    Completion,
    LLMClient,
    LLMJob,
    LLMSettings,
    Usage,
    cache_key,
    endpoint_host,
    is_configured,
    settings_from,
    strict_json_schema,
    total_usage,
)
from openai_stub import (
    OpenAIStub,
    delay,
    json_schema_unsupported,
    llama_cpp_error,
    rate_limited,
    raw,
    refusal,
    reply,
    server_error,
    status,
)

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
    """LLMClient pointed at the stub, with a private cache (the stub's `retry-after-ms: 1` keeps retries fast)."""

    def make(**kw) -> LLMClient:
        values = dict(model="stub-model", base_url=llm_server.base_url, api_key=SECRET,
                      cache_dir=tmp_path / "cache")
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
    assert req.headers["accept-encoding"] == "identity"  # so the byte limit is on what is decoded
    assert req.body["max_tokens"] == 1024
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
    complete(make_client())
    first, second = llm_server.requests
    assert second.received_at - first.received_at >= 0.29


def test_retry_after_longer_than_the_limit_gives_up_at_once(llm_server, make_client):
    llm_server.enqueue(rate_limited(3600), GOOD)
    with pytest.raises(LLMError, match="asked to wait 3600 s"):
        complete(make_client(max_retry_after_s=60))
    assert llm_server.request_count == 1


def test_persistent_server_errors_give_up_after_max_retries(llm_server, make_client):
    llm_server.enqueue(*[server_error(502)] * 3)
    with pytest.raises(LLMError, match=r"kept failing \(HTTP 502 after 3 requests\)"):
        complete(make_client(max_retries=2, mode="json_schema"))
    assert llm_server.request_count == 3


def test_retries_are_made_by_the_openai_client(llm_server, make_client):
    llm_server.enqueue(server_error(503), rate_limited(0), GOOD)
    complete(make_client(mode="json_schema"))
    # The openai client numbers its own retries of one request; a hand-rolled loop would send 0, 0, 0.
    assert [r.headers.get("x-stainless-retry-count") for r in llm_server.requests] == ["0", "1", "2"]


def test_retry_after_beyond_what_the_openai_client_waits_fails_at_once(llm_server, make_client):
    # The openai client never waits more than 120 s; a longer Retry-After ends the call at once.
    llm_server.enqueue(rate_limited(150), GOOD)
    with pytest.raises(LLMError, match="asked to wait 150 s"):
        complete(make_client(max_retry_after_s=600))
    assert llm_server.request_count == 1


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
                                   max_retries=1))
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


LLAMA_CPP_OLD = 'response_format type must be one of "text" or "json_object", but got: json_schema'


@pytest.mark.parametrize("message", [LLAMA_CPP_OLD, "Unknown Exception"])
def test_llama_cpp_500_on_json_schema_steps_down_to_json_mode_without_spending_retries(llm_server, make_client,
                                                                                      message):
    llm_server.unsupported_formats = {"json_schema": llama_cpp_error(message)}
    llm_server.handler = lambda body: GOOD
    client = make_client(max_retries=4)
    first = complete(client, text="first")
    assert first.mode == "json_object" and first.requests == 2
    assert [r.response_format["type"] for r in llm_server.requests] == ["json_schema", "json_object"]
    # Remembered for this endpoint and model: later calls (a new client too) go straight to JSON mode.
    assert complete(make_client(), text="second").requests == 1
    assert llm_server.requests[-1].response_format == {"type": "json_object"}


def test_endpoint_without_json_schema_or_json_mode_gets_plain_json_with_the_schema_in_a_system_message(
        llm_server, make_client):
    llm_server.unsupported_formats = {
        "json_schema": json_schema_unsupported(),
        "json_object": status(400, "'response_format.type' must be 'json_schema' or 'text'",
                              err_type="invalid_request_error")}
    llm_server.handler = lambda body: raw("<think>They said {score}.</think>\nHere you go:\n" + json.dumps(GOOD))
    result = complete(make_client())
    assert result.value == Score(**GOOD) and result.mode == "plain" and result.requests == 3
    last = llm_server.requests[-1]
    assert "response_format" not in last.body
    assert last.messages[0] == ask()[0]
    assert last.messages[1]["role"] == "system" and '"reason"' in last.messages[1]["content"]


def test_500_on_every_request_is_not_taken_for_a_capability(llm_server, make_client):
    llm_server.unsupported_formats = {}
    llm_server.enqueue(*[llama_cpp_error("model is loading")] * 4)
    with pytest.raises(LLMError, match=r"kept failing \(HTTP 500 after 4 requests\): model is loading"):
        complete(make_client(max_retries=2))
    # json_schema once, json_object once (also 500: not about the format), then json_schema's retries.
    assert [r.response_format["type"] for r in llm_server.requests] == ["json_schema", "json_object",
                                                                         "json_schema", "json_schema"]
    llm_server.enqueue(GOOD)
    assert complete(make_client(), text="later").mode == "json_schema"


def test_transient_500_once_json_schema_has_worked_is_simply_retried(llm_server, make_client):
    client = make_client()
    llm_server.enqueue(GOOD, server_error(500), {"score": 1, "reason": "ok"})
    complete(client, text="one")
    second = complete(client, text="two")
    assert second.mode == "json_schema" and second.requests == 2
    assert all(r.response_format["type"] == "json_schema" for r in llm_server.requests)


def test_max_tokens_unsupported_switches_to_max_completion_tokens(llm_server, make_client):
    llm_server.enqueue(status(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                                   "Use 'max_completion_tokens' instead.", err_type="invalid_request_error",
                              param="max_tokens"), GOOD, GOOD)
    client = make_client()
    assert complete(client, text="one").value == Score(**GOOD)
    complete(client, text="two")
    first, second, third = llm_server.requests
    assert first.body["max_tokens"] == 1024
    assert "max_tokens" not in second.body and second.body["max_completion_tokens"] == 1024
    assert third.body["max_completion_tokens"] == 1024


def test_fixed_temperature_models_get_no_temperature(llm_server, make_client):
    llm_server.enqueue(status(400, "Unsupported value: 'temperature' does not support 0.0 with this model. "
                                   "Only the default (1) value is supported.", err_type="invalid_request_error",
                              param="temperature"), GOOD)
    assert complete(make_client()).value == Score(**GOOD)
    assert "temperature" not in llm_server.requests[1].body


def test_each_reask_differs_from_the_last_and_raises_the_temperature(llm_server, make_client):
    seen: dict[str, object] = {}
    script = iter([{"score": 9, "reason": "x"}, {"score": 9, "reason": "x"}, GOOD])

    def deterministic(body):  # the same request always gets the same bytes, as a seeded server at T=0
        key = json.dumps(body, sort_keys=True)
        if key not in seen:
            seen[key] = next(script)
        return seen[key]

    llm_server.handler = deterministic
    result = complete(make_client(max_reasks=2))
    assert result.value == Score(**GOOD) and result.attempts == 3
    assert [r.temperature for r in llm_server.requests] == [0, 0.3, 0.6]
    assert len(seen) == 3
    assert [(a.temperature, a.error is None) for a in result.history] == [(0, False), (0.3, False), (0.6, True)]
    assert "less than or equal to 4" in result.history[0].error


def test_reask_temperature_is_capped(llm_server, make_client):
    llm_server.enqueue({"score": 9, "reason": "x"}, {"score": 9, "reason": "x"}, GOOD)
    complete(make_client(temperature=0.8))
    assert [r.temperature for r in llm_server.requests] == [0.8, 1.0, 1.0]


def test_explicit_json_schema_mode_does_not_fall_back(llm_server, make_client):
    llm_server.enqueue(json_schema_unsupported(), GOOD)
    with pytest.raises(LLMError, match="HTTP 400.*json_schema"):
        complete(make_client(mode="json_schema", model="other-model"))
    assert llm_server.request_count == 1


# --- limits on model output ------------------------------------------------------------------


def test_max_output_tokens_is_sent(llm_server, make_client):
    llm_server.enqueue(GOOD, GOOD)
    complete(make_client())
    complete(make_client(max_output_tokens=300), text="other")
    assert [r.body["max_tokens"] for r in llm_server.requests] == [1024, 300]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_answer_is_refused_unread_and_reasked(llm_server, make_client, tmp_path, chunked):
    huge = json.dumps({"score": 3, "reason": "blah " * 400_000})  # 2 MB, from a server ignoring max_tokens
    llm_server.enqueue(reply(huge, chunked=chunked), GOOD)
    result = complete(make_client(max_response_bytes=100_000))
    assert result.value == Score(**GOOD) and result.attempts == 2
    assert result.usage.completion_tokens < 100  # the huge answer was never parsed (its usage not even read)
    assert result.history[0].error.startswith("the answer was larger than the 100000-byte limit")
    if chunked:  # no Content-Length to refuse it by: reading stopped soon after the limit
        assert int(re.search(r"\((\d+)\+ bytes\)", result.history[0].error).group(1)) < 300_000
    second = llm_server.requests[1]
    assert len(json.dumps(second.body)) < 10_000  # the huge answer is not sent back
    assert "100000-byte limit" in second.messages[-1]["content"]
    assert all(p.stat().st_size < 10_000 for p in (tmp_path / "cache").rglob("*.json"))


def test_field_length_violations_are_reasked_naming_the_limit_and_the_size(llm_server, make_client):
    class Short(BaseModel):
        """A response model with the kind of limits score.py sets."""

        reason: str = Field(max_length=50)
        quotes: list[str] = Field(max_length=2)

    llm_server.enqueue({"reason": "r" * 5000, "quotes": ["a", "b", "c"]}, {"reason": "ok", "quotes": ["a"]})
    result = make_client().complete(ask(), Short, prompt_id="p", prompt_version="1")
    assert result.value.reason == "ok"
    second = llm_server.requests[1].messages
    reask = second[-1]["content"]
    assert "reason: String should have at most 50 characters (got 5000)" in reask
    assert "quotes: List should have at most 2 items" in reask
    assert len(second[-2]["content"]) < 5000  # the invalid answer is echoed shortened


def test_answers_cut_off_at_the_token_limit_say_how_to_raise_it(llm_server, make_client):
    llm_server.handler = lambda body: reply('{"score": 3, "reason": "and then', finish_reason="length")
    with pytest.raises(LLMError) as err:
        complete(make_client(max_reasks=1, max_output_tokens=64))
    assert "cut off at the 64-token limit" in str(err.value)
    assert "INTERVIEW_EVAL_MAX_OUTPUT_TOKENS" in str(err.value)


def test_max_output_tokens_setting_reads_its_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERVIEW_EVAL_MAX_OUTPUT_TOKENS", "300")
    assert settings_from(cache_dir=tmp_path).max_output_tokens == 300
    assert settings_from(cache_dir=tmp_path, max_output_tokens=500).max_output_tokens == 500
    monkeypatch.setenv("INTERVIEW_EVAL_MAX_OUTPUT_TOKENS", "lots")
    with pytest.raises(LLMError, match="INTERVIEW_EVAL_MAX_OUTPUT_TOKENS='lots' is not a whole number"):
        settings_from(cache_dir=tmp_path)
    monkeypatch.delenv("INTERVIEW_EVAL_MAX_OUTPUT_TOKENS")
    assert settings_from(cache_dir=tmp_path).max_output_tokens == 1024


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


def test_use_cache_false_neither_reads_nor_serves_old_entries_but_refreshes_them(llm_server, make_client):
    llm_server.enqueue(GOOD, {"score": 1, "reason": "fresh"}, {"score": 2, "reason": "fresher"})
    assert complete(make_client()).value.score == 3
    fresh = complete(make_client(use_cache=False))
    assert not fresh.cached and fresh.value.score == 1
    assert complete(make_client(use_cache=False)).value.score == 2
    assert llm_server.request_count == 3
    # The fresh answer replaced the old one: a later cached run serves it, not the stale entry.
    later = complete(make_client())
    assert later.cached and later.value.score == 2 and llm_server.request_count == 3


def test_two_endpoints_never_share_a_cached_answer(llm_server, make_client):
    llm_server.enqueue(GOOD)
    complete(make_client())
    with OpenAIStub() as other:
        other.enqueue({"score": 1, "reason": "other server"})
        result = complete(make_client(base_url=other.base_url))
        assert not result.cached and result.value.score == 1 and other.request_count == 1


def test_two_models_never_share_a_cached_answer(llm_server, make_client):
    llm_server.enqueue(GOOD, {"score": 1, "reason": "other model"})
    complete(make_client(model="model-a"))
    result = complete(make_client(model="model-b"))
    assert not result.cached and result.value.score == 1
    assert [r.model for r in llm_server.requests] == ["model-a", "model-b"]


def test_changed_prompt_id_or_message_misses_the_cache(llm_server, make_client):
    llm_server.handler = lambda body: GOOD
    client = make_client()
    complete(client, text="the answer")
    assert complete(client, text="the answer").cached
    assert not complete(client, text="the answer.").cached
    assert not client.complete(ask(text="the answer"), Score, prompt_id="other-prompt", prompt_version="1").cached
    assert llm_server.request_count == 3


def test_cache_salt_separates_calls_whose_messages_are_equal(llm_server, make_client):
    llm_server.handler = lambda body: GOOD
    client = make_client()
    plain = client.complete(ask(), Score, prompt_id="p", prompt_version="1")
    salted = client.complete(ask(), Score, prompt_id="p", prompt_version="1", cache_salt={"redaction": "on"})
    again = client.complete(ask(), Score, prompt_id="p", prompt_version="1", cache_salt={"redaction": "on"})
    assert not plain.cached and not salted.cached and again.cached
    [job] = client.map_complete([LLMJob(ask(), Score, "p", "1", cache_salt={"redaction": "off"})])
    assert not job.cached and llm_server.request_count == 3


@pytest.mark.parametrize("change", [{"temperature": 0.5}, {"max_output_tokens": 256}, {"mode": "json_object"}])
def test_decoding_settings_that_change_answers_are_part_of_the_cache_key(llm_server, make_client, change):
    llm_server.handler = lambda body: GOOD
    complete(make_client())
    assert not complete(make_client(**change)).cached
    assert llm_server.request_count == 2


def test_cache_key_normalises_the_base_url_and_never_uses_the_key():
    base = dict(model="m", prompt_id="p", prompt_version="1", messages=ask(), schema={}, temperature=0.0,
                max_output_tokens=1024, mode="auto")
    same = {cache_key(endpoint=u, **base) for u in
            ("http://localhost:11434/v1", "HTTP://LocalHost:11434/v1/", "http://user:pw@localhost:11434/v1")}
    assert len(same) == 1
    assert cache_key(endpoint="http://localhost:11435/v1", **base) not in same
    assert cache_key(endpoint="https://api.openai.com/v1", **base) == cache_key(endpoint="https://api.openai.com:443/v1", **base)


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


def test_api_key_never_reaches_cache_errors_logs_or_results_even_when_the_server_echoes_it(
        llm_server, make_client, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # every logger: ours, openai's, httpx's
    echo = f"invalid key Bearer {SECRET} for this request"
    llm_server.enqueue(
        status(500, echo), status(500, echo), status(500, echo), status(500, echo),  # fails after retries
        json_schema_unsupported(), raw(f'{{"score": 3, "reason": "{SECRET}"'), GOOD,  # fallback, re-ask, ok
        status(403, echo),
        refusal(echo),
    )
    client = make_client(max_retries=2)
    errors, results = [], []
    for text in ("a", "b", "c", "d"):
        try:
            results.append(complete(client, text=text))
        except LLMError as exc:
            errors.append(exc)
    assert len(errors) == 3 and len(results) == 1
    shown = [str(e) for e in errors] + [e.hint or "" for e in errors] + [repr(r) for r in results]
    assert all(SECRET not in text for text in shown), shown
    assert "***" in str(errors[0])  # the echo is kept, the key is masked
    assert SECRET not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8")


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


def test_map_complete_creates_the_openai_client_before_starting_threads(llm_server, make_client, monkeypatch):
    import threading

    made_on = []
    real = LLMClient._openai

    def spy(self, *args, **kw):
        made_on.append(threading.current_thread().name)
        return real(self, *args, **kw)

    monkeypatch.setattr(LLMClient, "_openai", spy)
    llm_server.handler = lambda body: GOOD
    make_client().map_complete([LLMJob(ask(text=f"answer {i}"), Score, "p", "1") for i in range(3)])
    assert made_on and made_on[0] == threading.main_thread().name


def test_map_complete_serves_cached_answers_without_importing_openai(llm_server, make_client, tmp_path):
    llm_server.enqueue(GOOD)
    complete(make_client())
    code = f"""
import sys
from pydantic import BaseModel, Field
from evaluator.llm import LLMClient, LLMJob, LLMSettings
class Score(BaseModel):
    'The tiny response model the tests ask for.'
    score: int = Field(ge=0, le=4)
    reason: str
s = LLMSettings(model="stub-model", base_url={llm_server.base_url!r}, api_key="k", cache_dir={str(tmp_path / "cache")!r})
[r] = LLMClient(s).map_complete([LLMJob({ask()!r}, Score, "score-criterion", "1")])
print(r.cached, "openai" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.split() == ["True", "False"], out.stderr
    assert llm_server.request_count == 1


def test_warm_up_imports_openai_when_configured_and_never_raises(tmp_path):
    code = f"""
import sys
from evaluator.llm import LLMClient, LLMSettings
LLMClient(LLMSettings(cache_dir={str(tmp_path)!r})).warm_up()
print("openai" in sys.modules)
LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1", cache_dir={str(tmp_path)!r})).warm_up()
print("openai" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_llm_client_and_a_test_double_are_completers(tmp_path):
    class Double:
        def complete(self, messages, response_model, *, prompt_id, prompt_version, cache_salt=None):
            raise NotImplementedError

        def map_complete(self, jobs, *, on_done=None):
            return []

    assert isinstance(LLMClient(LLMSettings(cache_dir=tmp_path)), Completer)
    assert isinstance(Double(), Completer)
    assert not isinstance(object(), Completer)


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
