"""The litellm backend: any provider litellm knows, plus the embedded `local/...` model.

litellm is imported lazily (its import costs seconds) and told to use its
bundled price map instead of fetching one from the internet. With an `api_base`
any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server) is reached as
`openai/NAME`; such servers usually need no key, so none is demanded up front.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import Any

from codehelm.chat import ChatMessage
from codehelm.errors import ConfigError, MissingAPIKeyError, ModelNotFoundError
from codehelm.models.context import check_fits
from codehelm.models.gateway import ModelGateway, RawReply, SchemaRejectedError
from codehelm.models.provider_errors import translate

LOCAL_PROVIDER = "local"
PLACEHOLDER_KEY = "sk-no-key-required"
"""Sent to a server at `api_base` when the environment has no key: the OpenAI client
insists on one, and self-hosted servers ignore it."""

JSON_FORMATS = ("json_schema", "json_object")
"""How to ask for schema-shaped JSON, best first. `json_object` with a `schema` is the
llama.cpp server's dialect; after both, the schema goes into the prompt (the gateway)."""

_formats_refused: dict[tuple[str, str | None], int] = {}
"""How many of `JSON_FORMATS` each (model, api_base) refused: learnt once per process."""


@cache
def load_litellm() -> ModuleType:
    """Import litellm offline-safe, with the embedded provider registered."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    from codehelm.models.local_provider import LocalProvider

    litellm.suppress_debug_info = True
    if not any(p.get("provider") == LOCAL_PROVIDER for p in litellm.custom_provider_map):
        litellm.custom_provider_map.append(
            {"provider": LOCAL_PROVIDER, "custom_handler": LocalProvider()}
        )
        litellm.utils.custom_llm_setup()
    return litellm


def check_model(model: str, api_base: str | None = None) -> None:
    """Fail fast, with one actionable line, on an unknown model or missing credentials.

    A model served at `api_base` is not asked for credentials: the server decides.
    """
    if model.startswith(f"{LOCAL_PROVIDER}/"):
        if api_base is not None:
            raise ConfigError(
                f"{model} runs inside codehelm, so an API base ({api_base}) does not apply: "
                "unset CODEHELM_API_BASE / --api-base, or serve the model and use 'openai/NAME'"
            )
        from codehelm.models.local import check_local_model

        check_local_model(model.split("/", 1)[1])
        return
    litellm = load_litellm()
    try:
        litellm.get_llm_provider(model, api_base=api_base)
    except Exception as exc:
        raise ModelNotFoundError(
            f"unknown model {model!r}: use a litellm model string such as "
            "'openai/gpt-4o-mini' or 'anthropic/claude-3-5-haiku-latest', 'local/smollm2' "
            "for the embedded offline model, or 'scripted:FILE.json'"
        ) from exc
    if api_base is None and not _has_keys(litellm, model):
        env = litellm.validate_environment(model)
        missing = ", ".join(env.get("missing_keys") or ["the provider's API key"])
        raise MissingAPIKeyError(f"model {model!r} needs {missing} set in the environment")


def litellm_model(
    model: str, *, api_base: str | None = None, **gateway_options: Any
) -> ModelGateway:
    """A gateway to `model` through litellm, checked first (see `check_model`)."""
    check_model(model, api_base)
    return ModelGateway(LiteLLMBackend(model, api_base=api_base), **gateway_options)


def price_known(model: str, api_base: str | None = None) -> bool:
    """Whether litellm knows what `model` costs, so a dollar budget can be enforced. The
    embedded model is free; a model on a server of your own (`api_base`) has no price."""
    if model.startswith(f"{LOCAL_PROVIDER}/"):
        return True
    if api_base is not None:
        return False
    try:
        info = load_litellm().get_model_info(model)
    except Exception:  # litellm raises for a model missing from its price map
        return False
    return info.get("input_cost_per_token") is not None


def _has_keys(litellm: ModuleType, model: str, api_base: str | None = None) -> bool:
    env = litellm.validate_environment(model, api_base=api_base)
    return bool(env.get("keys_in_environment", True))


class LiteLLMBackend:
    """Raw chat calls through `litellm.acompletion`.

    JSON-schema output is asked for in the first of `JSON_FORMATS` the provider has not
    refused; a refusal is remembered process-wide for the (model, api_base) pair, so a
    provider is asked with a format it refused once only.
    """

    def __init__(self, model: str, *, api_base: str | None = None) -> None:
        self.model = model
        self.api_base = api_base
        self.is_local = model.startswith(f"{LOCAL_PROVIDER}/")
        self.endpoint: dict[str, Any] = {}
        if api_base is not None:
            self.endpoint["api_base"] = api_base
            if not _has_keys(load_litellm(), model, api_base):
                self.endpoint["api_key"] = PLACEHOLDER_KEY

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply:
        litellm = load_litellm()
        if not self.is_local and self.api_base is None:
            check_fits(litellm, self.model, messages)
        if json_schema is None:
            return await self._complete(litellm, messages, params)
        key = (self.model, self.api_base)
        while (refused := _formats_refused.get(key, 0)) < len(JSON_FORMATS):
            response_format = _response_format(JSON_FORMATS[refused], json_schema)
            try:
                return await self._complete(
                    litellm, messages, {**params, "response_format": response_format}
                )
            except SchemaRejectedError:
                _formats_refused[key] = refused + 1
        raise SchemaRejectedError(f"{self.model} refuses every response_format for JSON")

    async def _complete(
        self, litellm: ModuleType, messages: Sequence[ChatMessage], params: dict[str, Any]
    ) -> RawReply:
        try:
            response = await litellm.acompletion(
                model=self.model,
                messages=list(messages),
                num_retries=0,
                **self.endpoint,
                **params,
            )
        except Exception as exc:
            raise translate(
                exc,
                self.model,
                api_base=self.api_base,
                asked_schema="response_format" in params,
                remote=not self.is_local,
            ) from exc
        usage = getattr(response, "usage", None)
        return RawReply(
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=0.0 if self.is_local else _cost(litellm, response),
        )


def _response_format(kind: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    if kind == "json_object":
        return {"type": "json_object", "schema": json_schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": json_schema.get("title", "reply"), "schema": json_schema},
    }


def _cost(litellm: ModuleType, response: Any) -> float | None:
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises for models without a known price
        return None
