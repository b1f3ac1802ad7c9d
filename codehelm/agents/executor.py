"""Executor: `CodeAction` -> `Execution`, through the injected sandbox.

With a `snapshots` folder it also saves the sandbox's state after each
execution, and the checkpoint refers to that snapshot, so a resumed run gets
its variables and files back (`codehelm.tools.sandbox.snapshot`). Older snapshots
of the run are deleted, but the one this execution started from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from codehelm.agents.base import call_purpose
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
        if self.snapshots is None:
            return update
        folder = self.snapshots / state.task.run_id
        token = call_purpose.set("snapshot")
        try:
            ref = await take_snapshot(self.sandbox, folder / f"{action.id}.tar.gz")
        except SandboxError as exc:
            error = ErrorReport(error="could not snapshot the sandbox", detail=str(exc), **stamp)
            update["messages"].append(error)
            return update
        finally:
            call_purpose.reset(token)
        update["snapshot"] = ref
        if ref.skipped_files:
            skipped = "; ".join(ref.skipped_files)
            warning = ErrorReport(error="the snapshot left out some files", detail=skipped, **stamp)
            update["messages"].append(warning)
        keep = {ref.path, state.snapshot.path if state.snapshot else ""}
        await asyncio.to_thread(_prune, folder, keep)
        return update


def _prune(folder: Path, keep: set[str]) -> None:
    """Delete a run's older snapshots: a resumed run needs only the latest."""
    for path in folder.glob("*.tar.gz"):
        if str(path) not in keep:
            path.unlink(missing_ok=True)
