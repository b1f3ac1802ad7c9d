"""Provider failures over real HTTP: each maps to one codehelm error, retried only if transient.

The server (`fake_openai.py`) answers like OpenAI does when things go wrong; the
model is reached through litellm exactly as `--api-base` users reach theirs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from codehelm.config import Settings
from codehelm.errors import (
    BadInputError,
    ConfigError,
    ContextWindowError,
    MissingAPIKeyError,
    ModelAccessError,
    ModelCallError,
    ModelNotFoundError,
)
from codehelm.models import ChatMessage, create_model, make_model
from codehelm.models.litellm_backend import PLACEHOLDER_KEY
from tests.models.fake_openai import FakeOpenAI

PROMPT: list[ChatMessage] = [{"role": "user", "content": "give me a point"}]


class Point(BaseModel):
    x: int
    y: int


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers at an API base need no key: prove it by having none."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.parametrize(
    ("scenario", "error", "attempts", "words"),
    [
        ("context", ContextWindowError, 1, ["does not fit openai/x's context window", "4096"]),
        ("401", MissingAPIKeyError, 1, ["refused the credentials", "Incorrect API key"]),
        ("403", ModelAccessError, 1, ["denied access (403", "may use this model"]),
        ("404", ModelNotFoundError, 1, ["does not know this model", "check the model name"]),
        ("429", ModelCallError, 3, ["failed after 3 attempts", "rate limited (429)"]),
        ("500", ModelCallError, 3, ["failed after 3 attempts", "server error 500"]),
        ("502", ModelCallError, 3, ["failed after 3 attempts", "server error 502"]),
        ("not-json", ModelCallError, 1, ["not answer with an OpenAI chat completion", "/v1"]),
        (
            "wrong-shape",
            ModelCallError,
            1,
            ["not answer with an OpenAI chat completion", "choices"],
        ),
    ],
)
async def test_each_failure_maps_to_one_error_and_only_transient_ones_are_retried(
    fake_openai: FakeOpenAI,
    scenario: str,
    error: type[Exception],
    attempts: int,
    words: list[str],
) -> None:
    model = make_model("openai/x", api_base=fake_openai.base(scenario), retries=2, backoff=0.01)
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        await model.complete(PROMPT)
    elapsed = time.perf_counter() - start
    message = str(caught.value)
    assert len(fake_openai.seen(scenario)) == attempts
    assert "openai/x" in message and "\n" not in message
    for word in words:
        assert word in message
    if scenario == "429":  # two pauses, each at least the Retry-After of 1 s
        assert elapsed >= 2.0
    assert caught.value.exit_code == (2 if issubclass(error, BadInputError) else 1)  # type: ignore[attr-defined]


async def test_retry_after_is_honoured_and_the_retry_succeeds(fake_openai: FakeOpenAI) -> None:
    model = make_model("openai/x", api_base=fake_openai.base("flaky-429"), backoff=0.01)
    start = time.perf_counter()
    reply = await model.complete(PROMPT)
    assert time.perf_counter() - start >= 1.0
    assert len(fake_openai.seen("flaky-429")) == 2
    assert reply.text == fake_openai.reply and reply.usage.calls == 1


async def test_a_hanging_server_hits_the_gateway_timeout_on_every_attempt(
    fake_openai: FakeOpenAI,
) -> None:
    model = make_model("openai/x", api_base=fake_openai.base("hang"), timeout=0.5, retries=1)
    start = time.perf_counter()
    with pytest.raises(ModelCallError) as caught:
        await model.complete(PROMPT)
    elapsed = time.perf_counter() - start
    assert "openai/x did not answer within 0.5 s (2 attempts" in str(caught.value)
    assert "CODEHELM_MODEL_TIMEOUT" in str(caught.value)
    assert len(fake_openai.seen("hang")) == 2
    assert 1.0 <= elapsed < 15.0  # two 0.5 s timeouts and a backoff, not a hang


async def test_settings_reach_the_server_and_no_key_is_needed(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, model="openai/x", api_base=fake_openai.base("ok"))
    model = create_model(settings)
    reply = await model.complete(PROMPT)
    assert reply.text == fake_openai.reply
    assert reply.usage.prompt_tokens == 7 and reply.usage.completion_tokens == 5
    assert fake_openai.keys == [f"Bearer {PLACEHOLDER_KEY}"]


async def test_a_refused_json_schema_falls_back_to_the_prompt_once_per_model(
    fake_openai: FakeOpenAI,
) -> None:
    model = make_model("openai/x", api_base=fake_openai.base("no-format"), max_repairs=0)
    first = await model.structured(PROMPT, Point)
    assert first.value == Point(x=1, y=2) and first.repairs == 0 and first.usage.calls == 1
    formats = [r.get("response_format", {}).get("type") for r in fake_openai.seen("no-format")]
    assert formats == ["json_schema", "json_object", None]
    asked = fake_openai.seen("no-format")[-1]["messages"][-1]["content"]
    assert asked.startswith("give me a point") and "matches this JSON schema" in asked

    again = make_model("openai/x", api_base=fake_openai.base("no-format"), max_repairs=0)
    second = await again.structured(PROMPT, Point)
    assert second.value == Point(x=1, y=2)
    assert len(fake_openai.seen("no-format")) == 4  # straight to the prompt: one request
    assert "response_format" not in fake_openai.seen("no-format")[-1]


async def test_a_server_without_json_schema_gets_json_object_with_the_schema(
    fake_openai: FakeOpenAI,
) -> None:
    model = make_model("openai/x", api_base=fake_openai.base("no-schema"))
    for _ in range(2):
        assert (await model.structured(PROMPT, Point)).value == Point(x=1, y=2)
    formats = [r["response_format"] for r in fake_openai.seen("no-schema")]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[-1]["schema"]["required"] == ["x", "y"]
    assert "JSON schema" not in fake_openai.seen("no-schema")[-1]["messages"][-1]["content"]


@pytest.mark.parametrize("spec", ["scripted:script.json", "local/smollm2"])
def test_an_api_base_applies_to_served_litellm_models_only(spec: str) -> None:
    with pytest.raises(ConfigError, match="CODEHELM_API_BASE"):
        make_model(spec, api_base="http://127.0.0.1:9/v1")
