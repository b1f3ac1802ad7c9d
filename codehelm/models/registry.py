"""Model clients by name.

A model string is `NAME:TARGET` for a registered name (built in: `scripted:FILE.json`)
and otherwise a litellm model string (`openai/gpt-4o-mini`, or `local/smollm2` for the
embedded model). Backends are imported when first used, so litellm's import (seconds)
is paid only by runs that call it. Add a backend with
`MODELS.register("name", "package.module:factory")`, where `factory(target, **options)`
returns a `ModelGateway`. An `api_base` (an OpenAI-compatible server's URL) applies to
litellm model strings only.
"""

from __future__ import annotations

from typing import Any

from codehelm.config import Settings
from codehelm.errors import ConfigError
from codehelm.models.gateway import ModelGateway
from codehelm.registry import Registry

LITELLM = "litellm"
MODELS = Registry(
    "model backend",
    {
        "scripted": "codehelm.models.scripted:ScriptedModel.from_file",
        LITELLM: "codehelm.models.litellm_backend:litellm_model",
    },
)


def make_model(spec: str, *, api_base: str | None = None, **gateway_options: Any) -> ModelGateway:
    """A client for `spec`. An unknown model or a missing API key fails here, before any work.

    `api_base` points a litellm model (`openai/NAME`) at an OpenAI-compatible server.
    """
    name, colon, target = spec.partition(":")
    if not (colon and name in MODELS):
        name, target = LITELLM, spec
    if api_base is not None:
        if name != LITELLM:
            raise ConfigError(
                f"an API base ({api_base}) applies to litellm model strings such as "
                f"'openai/NAME', not to {spec!r}: unset CODEHELM_API_BASE / --api-base"
            )
        gateway_options["api_base"] = api_base
    gateway: ModelGateway = MODELS.load(name)(target, **gateway_options)
    return gateway


def cost_unenforceable(settings: Settings) -> str | None:
    """Why `settings.max_cost_usd` cannot be enforced for `settings.model`, or None."""
    if settings.max_cost_usd is None:
        return None
    name, colon, _ = settings.model.partition(":")
    if colon and name in MODELS:
        return None  # registered backends report their own cost (scripted: free)
    from codehelm.models.litellm_backend import price_known

    if price_known(settings.model, settings.api_base):
        return None
    return (
        f"the price of {settings.model} is unknown, so max_cost_usd"
        f" (${settings.max_cost_usd:g}) cannot be enforced; limit max_tokens instead"
    )


def create_model(settings: Settings) -> ModelGateway:
    """The client for `settings.model`, with the settings' timeouts, retries and sampling."""
    sampling = {"temperature": settings.temperature, "seed": settings.seed}
    return make_model(
        settings.model,
        api_base=settings.api_base,
        timeout=settings.model_timeout,
        retries=settings.model_retries,
        max_repairs=settings.max_repairs,
        defaults={k: v for k, v in sampling.items() if v is not None},
    )
