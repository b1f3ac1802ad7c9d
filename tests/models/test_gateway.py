"""The gateway's parsing, repair, retry and usage accounting, over scripted and failing backends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, Field

from codehelm.errors import ContextWindowError, ModelCallError, ModelOutputError
from codehelm.models import (
    ChatMessage,
    ModelGateway,
    RawReply,
    SchemaRejectedError,
    ScriptedModel,
    TransientModelError,
)

PROMPT: list[ChatMessage] = [{"role": "user", "content": "give me a point"}]


class Point(BaseModel):
    x: int
    y: int = Field(ge=0)


async def test_structured_parses_valid_json() -> None:
    model = ScriptedModel({"a": ['{"x": 1, "y": 2}']})
    reply = await model.structured(PROMPT, Point, agent="a")
    assert reply.value == Point(x=1, y=2)
    assert reply.repairs == 0
    assert reply.usage.calls == 1
    assert reply.usage.prompt_tokens == 4 and reply.usage.completion_tokens == 4


@pytest.mark.parametrize(
    "bad",
    ["not json at all", '{"x": "one", "y": 2}', '{"x": 1, "y": -3}', "", '{"x": 1'],
    ids=["prose", "wrong-type", "constraint", "empty", "truncated"],
)
async def test_structured_repairs_with_the_error_fed_back(bad: str) -> None:
    model = ScriptedModel({"a": [bad, '{"x": 1, "y": 2}']})
    reply = await model.structured(PROMPT, Point, agent="a")
    assert reply.value == Point(x=1, y=2)
    assert reply.repairs == 1
    assert reply.usage.calls == 2
    _, repair_prompt = model.calls[1]
    assert repair_prompt[-2] == {"role": "assistant", "content": bad}
    assert "not valid" in repair_prompt[-1]["content"]


async def test_structured_gives_up_with_a_clear_error_and_counts_usage() -> None:
    model = ScriptedModel({"a": ['{"x": "nope"}']}, max_repairs=2)
    with pytest.raises(ModelOutputError) as caught:
        await model.structured(PROMPT, Point, agent="a")
    message = str(caught.value)
    assert "no valid Point after 3 attempts" in message and "x:" in message
    assert caught.value.usage.calls == 3
    assert len(model.calls) == 3


class FlakyBackend:
    """Fails `failures` times with `error` (a transient one by default), then answers `reply`.

    With `refuse_schema`, every call asking for JSON-schema output is refused.
    """

    model = "flaky"

    def __init__(
        self,
        failures: int,
        *,
        delay: float = 0.0,
        error: Exception | None = None,
        reply: str = "fine",
        refuse_schema: bool = False,
    ) -> None:
        self.failures = failures
        self.delay = delay
        self.error = error or TransientModelError("503 overloaded")
        self.reply = reply
        self.refuse_schema = refuse_schema
        self.attempts = 0
        self.times: list[float] = []
        self.calls: list[tuple[list[ChatMessage], dict[str, Any] | None]] = []

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply:
        self.attempts += 1
        self.times.append(time.perf_counter())
        self.calls.append((list(messages), json_schema))
        await asyncio.sleep(self.delay)
        if self.attempts <= self.failures:
            raise self.error
        if self.refuse_schema and json_schema is not None:
            raise SchemaRejectedError("no response_format here")
        return RawReply(text=self.reply, prompt_tokens=1, completion_tokens=1, cost_usd=None)


async def test_transient_errors_are_retried_with_backoff() -> None:
    backend = FlakyBackend(failures=2)
    gateway = ModelGateway(backend, retries=3, backoff=0.001)
    reply = await gateway.complete(PROMPT)
    assert reply.text == "fine"
    assert backend.attempts == 3
    assert reply.usage.cost_usd is None


async def test_retries_run_out_with_a_clear_error() -> None:
    backend = FlakyBackend(failures=10)
    gateway = ModelGateway(backend, retries=2, backoff=0.001)
    with pytest.raises(ModelCallError, match="failed after 3 attempts: 503 overloaded"):
        await gateway.complete(PROMPT)
    assert backend.attempts == 3


async def test_a_slow_model_times_out_on_each_attempt() -> None:
    backend = FlakyBackend(failures=0, delay=1.0)
    gateway = ModelGateway(backend, timeout=0.05, retries=1, backoff=0.001)
    with pytest.raises(ModelCallError, match=r"did not answer within 0\.05 s \(2 attempts"):
        await gateway.complete(PROMPT)
    assert backend.attempts == 2


async def test_retry_after_sets_the_least_pause_between_attempts() -> None:
    backend = FlakyBackend(failures=1, error=TransientModelError("429", retry_after=0.3))
    gateway = ModelGateway(backend, retries=1, backoff=0.001)
    assert (await gateway.complete(PROMPT)).text == "fine"
    assert backend.times[1] - backend.times[0] >= 0.3


async def test_backoff_grows_between_attempts() -> None:
    backend = FlakyBackend(failures=3)
    gateway = ModelGateway(backend, retries=3, backoff=0.05)
    await gateway.complete(PROMPT)
    pauses = [b - a for a, b in zip(backend.times, backend.times[1:], strict=False)]
    # 0.05 * 2**n plus up to 0.05 of jitter
    for n, pause in enumerate(pauses):
        assert 0.05 * 2**n <= pause < 0.05 * 2**n + 0.05 + 0.5  # generous: a busy machine


async def test_final_errors_are_not_retried() -> None:
    backend = FlakyBackend(failures=5, error=ContextWindowError("too long"))
    gateway = ModelGateway(backend, retries=3, backoff=0.001)
    with pytest.raises(ContextWindowError, match="too long"):
        await gateway.complete(PROMPT)
    assert backend.attempts == 1


async def test_a_refused_schema_moves_into_the_prompt_and_repairs_keep_it() -> None:
    backend = FlakyBackend(0, reply='{"x": 1, "y": -1}', refuse_schema=True)
    gateway = ModelGateway(backend, max_repairs=1)
    with pytest.raises(ModelOutputError, match="no valid Point after 2 attempts"):
        await gateway.structured(PROMPT, Point)
    constrained = [schema is not None for _, schema in backend.calls]
    assert constrained == [True, False, False]  # refused once, then prompt + one repair
    first_prompt = backend.calls[1][0][0]["content"]
    assert first_prompt.startswith("give me a point") and '"required":["x","y"]' in first_prompt
    assert backend.calls[2][0][0] == backend.calls[1][0][0]  # the repair keeps the schema


async def test_scripted_model_replies_per_agent_and_turn() -> None:
    model = ScriptedModel({"a": ["a0", "a1"], "*": ["other"]})
    texts = [(await model.complete(PROMPT, agent=agent)).text for agent in ["a", "b", "a", "a"]]
    assert texts == ["a0", "other", "a1", "a1"]


async def test_scripted_model_without_a_reply_for_an_agent_says_so() -> None:
    model = ScriptedModel({"a": ["x"]})
    with pytest.raises(ModelOutputError, match="no replies for agent 'b'"):
        await model.complete(PROMPT, agent="b")


async def test_scripted_model_replies_by_prompt_text() -> None:
    model = ScriptedModel({"a": {"apples": "red", "sky": "blue", "*": "unknown"}})
    ask = [{"role": "user", "content": "What colour is the sky?"}]
    assert (await model.complete(ask, agent="a")).text == "blue"
    other = [{"role": "user", "content": "And grass?"}]
    assert (await model.complete(other, agent="a")).text == "unknown"
    strict = ScriptedModel({"a": {"apples": "red"}})
    with pytest.raises(ModelOutputError, match="no reply for agent 'a' matching"):
        await strict.complete(other, agent="a")
