"""Model clients by name.

A model string is `NAME:TARGET` for a registered name (built in: `scripted:FILE.json`)
and otherwise a litellm model string (`openai/gpt-4o-mini`, or `local/smollm2` for the
embedded model). Backends are imported when first used, so litellm's import (seconds)
is paid only by runs that call it. Add a backend with
`MODELS.register("name", "package.module:factory")`, where `factory(target, **options)`
returns a `ModelGateway`.
"""

from __future__ import annotations

from typing import Any

from codehelm.config import Settings
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


def make_model(spec: str, **gateway_options: Any) -> ModelGateway:
    """A client for `spec`. An unknown model or a missing API key fails here, before any work."""
    name, colon, target = spec.partition(":")
    if not (colon and name in MODELS):
        name, target = LITELLM, spec
    gateway: ModelGateway = MODELS.load(name)(target, **gateway_options)
    return gateway


def create_model(settings: Settings) -> ModelGateway:
    """The client for `settings.model`, with the settings' timeouts, retries and sampling."""
    sampling = {"temperature": settings.temperature, "seed": settings.seed}
    return make_model(
        settings.model,
        timeout=settings.model_timeout,
        retries=settings.model_retries,
        max_repairs=settings.max_repairs,
        defaults={k: v for k, v in sampling.items() if v is not None},
    )
