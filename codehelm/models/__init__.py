"""Model clients: `make_model("local/smollm2")`, any litellm model string, or a script."""

from __future__ import annotations

from typing import Any

from codehelm.models.gateway import (
    Backend,
    ChatMessage,
    Completion,
    ModelClient,
    ModelGateway,
    RawReply,
    Structured,
    TransientModelError,
)
from codehelm.models.scripted import ScriptedModel

SCRIPTED_PREFIX = "scripted:"

__all__ = [
    "Backend",
    "ChatMessage",
    "Completion",
    "ModelClient",
    "ModelGateway",
    "RawReply",
    "ScriptedModel",
    "Structured",
    "TransientModelError",
    "make_model",
]


def make_model(spec: str, *, check: bool = True, **gateway_options: Any) -> ModelGateway:
    """A client for `spec`: a litellm model string, `local/smollm2`, or `scripted:PATH.json`.

    With `check`, an unknown model or a missing API key fails here, before any work starts.
    """
    if spec.startswith(SCRIPTED_PREFIX):
        return ScriptedModel.from_file(spec.removeprefix(SCRIPTED_PREFIX), **gateway_options)
    from codehelm.models.litellm_backend import LiteLLMBackend, check_model

    if check:
        check_model(spec)
    return ModelGateway(LiteLLMBackend(spec), **gateway_options)
