"""litellm custom provider `local`: `litellm.acompletion(model="local/smollm2", ...)`.

Imported only by `load_litellm`, after litellm has been told to stay offline. A
cancelled `acompletion` (its caller gave up or timed out) tells the worker thread
to stop, so the model is not kept busy generating a reply nobody will read.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from litellm import CustomLLM, ModelResponse
from litellm.types.utils import Usage as LiteLLMUsage

from codehelm.models.local import DEFAULT_MAX_TOKENS, EmbeddedModel


class LocalProvider(CustomLLM):
    """Serves `local/<name>` from the process-wide `EmbeddedModel`."""

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._complete(model, messages, kwargs.get("optional_params") or {}, None)

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        optional_params = kwargs.get("optional_params") or {}
        cancel = threading.Event()
        try:
            return await asyncio.to_thread(self._complete, model, messages, optional_params, cancel)
        except asyncio.CancelledError:
            cancel.set()
            raise

    def _complete(
        self,
        model: str,
        messages: list,
        optional_params: dict[str, Any],
        cancel: threading.Event | None,
    ) -> ModelResponse:
        name = model.split("/", 1)[-1]
        start = time.perf_counter()
        result = EmbeddedModel.get(name).chat(
            [{"role": m["role"], "content": m.get("content") or ""} for m in messages],
            max_tokens=optional_params.get("max_tokens") or DEFAULT_MAX_TOKENS,
            temperature=optional_params.get("temperature", 0.0),
            seed=optional_params.get("seed"),
            json_schema=_schema_of(optional_params.get("response_format")),
            stop=optional_params.get("stop"),
            cancel=cancel,
        )
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return ModelResponse(
            model=f"local/{name}",
            choices=[
                {
                    "index": 0,
                    "finish_reason": choice.get("finish_reason") or "stop",
                    "message": {"role": "assistant", "content": choice["message"]["content"]},
                }
            ],
            usage=LiteLLMUsage(
                prompt_tokens=usage.get("prompt_tokens", 0),
                completion_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
            response_ms=(time.perf_counter() - start) * 1000,
        )


def _schema_of(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        schema: dict[str, Any] = response_format.get("json_schema", {}).get("schema") or {}
        return schema
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None
