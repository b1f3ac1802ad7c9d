"""Executor: `CodeAction` -> `Execution`, through the injected sandbox."""

from __future__ import annotations

from typing import Any

from codehelm.state import SolveState
from codehelm.tools.sandbox.base import Sandbox


class Executor:
    name = "executor"

    def __init__(self, sandbox: Sandbox, *, timeout: float = 10.0) -> None:
        self.sandbox = sandbox
        self.timeout = timeout

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        action = state.action
        assert action is not None, "the executor runs only after the coder produced code"
        result = await self.sandbox.run_code(action.code, timeout=self.timeout)
        execution = result.model_copy(
            update={
                "action_id": action.id,
                "parent_id": action.id,
                "run_id": state.task.run_id,
                "sender": self.name,
            }
        )
        return {"execution": execution, "messages": [execution]}
