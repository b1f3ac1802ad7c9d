"""The embedded model through litellm: loads offline, answers, decodes constrained JSON."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from codehelm.errors import ModelNotFoundError
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
    import asyncio

    model = make_model("local/smollm2")
    prompt = [{"role": "user", "content": "Say hi."}]
    replies = await asyncio.gather(*(model.complete(prompt, max_tokens=8) for _ in range(3)))
    assert len({r.text for r in replies}) == 1  # greedy decoding, same prompt, same reply


def test_unknown_embedded_model_is_a_clear_error() -> None:
    with pytest.raises(ModelNotFoundError, match="unknown embedded model 'local/nope'"):
        check_local_model("nope")
