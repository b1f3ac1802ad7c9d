"""The litellm backend: any provider litellm knows, plus the embedded `local/...` model.

litellm is imported lazily (its import costs seconds) and told to use its
bundled price map instead of fetching one from the internet.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import Any

from codehelm.chat import ChatMessage
from codehelm.errors import MissingAPIKeyError, ModelCallError, ModelNotFoundError
from codehelm.models.gateway import ModelGateway, RawReply, TransientModelError

LOCAL_PROVIDER = "local"


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


def check_model(model: str) -> None:
    """Fail fast, with one actionable line, on an unknown model or missing credentials."""
    if model.startswith(f"{LOCAL_PROVIDER}/"):
        from codehelm.models.local import check_local_model

        check_local_model(model.split("/", 1)[1])
        return
    litellm = load_litellm()
    try:
        litellm.get_llm_provider(model)
    except Exception as exc:
        raise ModelNotFoundError(
            f"unknown model {model!r}: use a litellm model string such as "
            "'openai/gpt-4o-mini' or 'anthropic/claude-3-5-haiku-latest', 'local/smollm2' "
            "for the embedded offline model, or 'scripted:FILE.json'"
        ) from exc
    env = litellm.validate_environment(model)
    if not env.get("keys_in_environment", True):
        missing = ", ".join(env.get("missing_keys") or ["the provider's API key"])
        raise MissingAPIKeyError(f"model {model!r} needs {missing} set in the environment")


def litellm_model(model: str, **gateway_options: Any) -> ModelGateway:
    """A gateway to `model` through litellm, checked first (see `check_model`)."""
    check_model(model)
    return ModelGateway(LiteLLMBackend(model), **gateway_options)


class LiteLLMBackend:
    """Raw chat calls through `litellm.acompletion`."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.is_local = model.startswith(f"{LOCAL_PROVIDER}/")

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply:
        litellm = load_litellm()
        kwargs = dict(params)
        if json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": json_schema.get("title", "reply"), "schema": json_schema},
            }
        try:
            response = await litellm.acompletion(
                model=self.model, messages=list(messages), num_retries=0, **kwargs
            )
        except (
            litellm.RateLimitError,
            litellm.APIConnectionError,
            litellm.ServiceUnavailableError,
            litellm.InternalServerError,
            litellm.Timeout,
        ) as exc:
            raise TransientModelError(str(exc)) from exc
        except litellm.AuthenticationError as exc:
            raise MissingAPIKeyError(f"{self.model}: the provider refused the API key") from exc
        except litellm.NotFoundError as exc:
            raise ModelNotFoundError(f"{self.model}: the provider does not know it") from exc
        except litellm.APIError as exc:
            raise ModelCallError(f"{self.model}: {exc}") from exc
        usage = getattr(response, "usage", None)
        return RawReply(
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=0.0 if self.is_local else _cost(litellm, response),
        )


def _cost(litellm: ModuleType, response: Any) -> float | None:
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises for models without a known price
        return None
