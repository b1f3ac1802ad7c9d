"""Model clients: `make_model("local/smollm2")`, any litellm model string, or a script."""

from __future__ import annotations

from codehelm.chat import ChatMessage
from codehelm.models.gateway import (
    Backend,
    Completion,
    ModelClient,
    ModelGateway,
    RawReply,
    SchemaRejectedError,
    Structured,
    TransientModelError,
)
from codehelm.models.registry import MODELS, cost_unenforceable, create_model, make_model
from codehelm.models.scripted import ScriptedModel
from codehelm.models.simulated import FamilySkill, SimParams, SimTask, SimulatedModel

__all__ = [
    "MODELS",
    "Backend",
    "ChatMessage",
    "Completion",
    "FamilySkill",
    "ModelClient",
    "ModelGateway",
    "RawReply",
    "SchemaRejectedError",
    "ScriptedModel",
    "SimParams",
    "SimTask",
    "SimulatedModel",
    "Structured",
    "TransientModelError",
    "cost_unenforceable",
    "create_model",
    "make_model",
]
