"""One real call to the configured endpoint; runs only when OPENAI_API_KEY is set."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel, Field

from evaluator.llm import LLMClient, settings_from

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set"),
]


class Arithmetic(BaseModel):
    """A tiny structured answer."""

    answer: int = Field(description="the sum as an integer")
    explanation: str


def test_configured_model_answers_a_tiny_structured_question(tmp_path):
    # Model and endpoint come from INTERVIEW_EVAL_MODEL / OPENAI_BASE_URL as a user would set them.
    client = LLMClient(settings_from(cache_dir=tmp_path, use_cache=False, timeout_s=60))
    result = client.complete(
        [{"role": "system", "content": "You answer arithmetic questions as JSON."},
         {"role": "user", "content": "What is 2 + 3? Explain in five words or fewer."}],
        Arithmetic, prompt_id="live-smoke", prompt_version="1",
    )
    assert result.value.answer == 5
    assert not result.cached and result.attempts >= 1
    assert result.usage.total_tokens > 0 or client.settings.base_url  # local servers may omit usage
    # The endpoint took one rung of the structured-output ladder, and the answer respected the cap.
    assert result.mode in ("json_schema", "json_object", "plain") and len(result.history) == result.attempts
    assert result.usage.completion_tokens <= client.settings.max_output_tokens
