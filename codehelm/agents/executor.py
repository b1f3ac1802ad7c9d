"""Executor: `CodeAction` -> `Execution`, through the injected sandbox.

With a `snapshots` folder it also saves the sandbox's state after each
execution, and the checkpoint refers to that snapshot, so a resumed run gets
its variables and files back (`codehelm.tools.sandbox.snapshot`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codehelm.errors import SandboxError
from codehelm.messages import ErrorReport
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.sandbox.snapshot import take_snapshot


class Executor:
    name = "executor"

    def __init__(
        self, sandbox: Sandbox, *, timeout: float = 10.0, snapshots: Path | None = None
    ) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.snapshots = snapshots

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        action = state.action
        assert action is not None, "the executor runs only after the coder produced code"
        result = await self.sandbox.run_code(action.code, timeout=self.timeout)
        stamp = {"run_id": state.task.run_id, "sender": self.name}
        execution = result.model_copy(
            update={"action_id": action.id, "parent_id": action.id, **stamp}
        )
        update: dict[str, Any] = {"execution": execution, "messages": [execution]}
        if self.snapshots is not None:
            path = self.snapshots / state.task.run_id / f"{action.id}.tar.gz"
            try:
                update["snapshot"] = await take_snapshot(self.sandbox, path)
            except SandboxError as exc:
                update["messages"].append(
                    ErrorReport(error="could not snapshot the sandbox", detail=str(exc), **stamp)
                )
        return update
