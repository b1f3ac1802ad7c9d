"""The embedded model through litellm: loads offline, answers, decodes constrained JSON."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import pytest
from pydantic import BaseModel

from codehelm.errors import ContextWindowError, ModelCallError, ModelNotFoundError
from codehelm.models import make_model
from codehelm.models.local import check_local_model

pytestmark = pytest.mark.slow


class Verdict(BaseModel):
    city: str
    country: str


async def test_complete_through_litellm_counts_tokens() -> None:
    model = make_model("local/smollm2")
    reply = await model.complete(
        [{"role": "user", "content": "Write a Python program that prints 2 + 3."}],
        max_tokens=40,
    )
    assert reply.text.strip()
    assert reply.usage.prompt_tokens > 5 and 0 < reply.usage.completion_tokens <= 40
    assert reply.usage.cost_usd == 0.0 and reply.usage.model == "local/smollm2"


async def test_structured_output_is_schema_constrained() -> None:
    model = make_model("local/smollm2", max_repairs=0)
    reply = await model.structured(
        [{"role": "user", "content": "Paris is in which country? Reply in JSON."}],
        Verdict,
        max_tokens=60,
    )
    assert isinstance(reply.value, Verdict) and reply.repairs == 0


async def test_concurrent_calls_share_one_model_safely() -> None:
    model = make_model("local/smollm2")
    prompt = [{"role": "user", "content": "Say hi."}]
    replies = await asyncio.gather(*(model.complete(prompt, max_tokens=8) for _ in range(3)))
    assert len({r.text for r in replies}) == 1  # greedy decoding, same prompt, same reply


def test_unknown_embedded_model_is_a_clear_error() -> None:
    with pytest.raises(ModelNotFoundError, match="unknown embedded model 'local/nope'"):
        check_local_model("nope")


async def timed(call: Awaitable[object]) -> float:
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


def not_waiting_for_600_tokens(short: float) -> float:
    """A bound on a short call's time that holds only if it did not wait behind a 600-token
    generation (~75 times an 8-token call), measured against a short call just made, so a
    loaded machine slows both alike."""
    return 10 * short + 1.0


async def test_a_cancelled_call_frees_the_model_for_the_next() -> None:
    model = make_model("local/smollm2", retries=0)
    hi = [{"role": "user", "content": "Say hi."}]
    await model.complete(hi, max_tokens=8)  # loaded and warm
    short = await timed(model.complete(hi, max_tokens=8))
    long = asyncio.create_task(
        model.complete(
            [{"role": "user", "content": "Repeat the word hello 500 times."}], max_tokens=600
        )
    )  # ~10 s of generation when left to run
    await asyncio.sleep(0.5)
    long.cancel()
    start = time.perf_counter()
    reply = await model.complete(hi, max_tokens=8)
    assert reply.text.strip()
    assert time.perf_counter() - start < not_waiting_for_600_tokens(short)
    with pytest.raises(asyncio.CancelledError):
        await long


async def test_a_timed_out_call_frees_the_model_too() -> None:
    hi = [{"role": "user", "content": "Hi."}]
    await make_model("local/smollm2").complete(hi, max_tokens=8)  # loaded and warm
    short = await timed(make_model("local/smollm2").complete(hi, max_tokens=8))
    model = make_model("local/smollm2", retries=0, timeout=0.5)
    with pytest.raises(ModelCallError, match=r"did not answer within 0\.5 s"):
        await model.complete(
            [{"role": "user", "content": "Repeat the word hello 500 times."}], max_tokens=600
        )
    start = time.perf_counter()
    await make_model("local/smollm2").complete(hi, max_tokens=8)
    assert time.perf_counter() - start < not_waiting_for_600_tokens(short)


async def test_a_prompt_beyond_the_window_fails_before_generating() -> None:
    model = make_model("local/smollm2")
    start = time.perf_counter()
    with pytest.raises(ContextWindowError) as caught:
        await model.complete([{"role": "user", "content": "word " * 8000}], max_tokens=100)
    assert time.perf_counter() - start < 10  # reading a prompt this long takes far more
    message = str(caught.value)
    assert message.startswith("the task does not fit local/smollm2's context window")
    assert "plus 64 for the reply, the model takes 4,096" in message and "\n" not in message
