"""Executor: `CodeAction` -> `Execution`, through the injected sandbox.

With a `snapshots` folder it also saves the sandbox's state after each
execution, and the checkpoint refers to that snapshot, so a resumed run gets
its variables and files back (`codehelm.tools.sandbox.snapshot`). The state the
execution started from is kept too (`snapshot_before`; for a run's first execution a
snapshot taken just before it), so the verifier can re-run the program from it in a
separate sandbox. Older snapshots of the run are deleted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from codehelm.agents.base import purpose
from codehelm.errors import SandboxError
from codehelm.messages import ErrorReport
from codehelm.snapshot_ref import SnapshotRef
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
        stamp = {"run_id": state.task.run_id, "sender": self.name}
        notes: list[ErrorReport] = []
        folder = self.snapshots / state.task.run_id if self.snapshots is not None else None
        before = state.snapshot
        if folder is not None and before is None:  # files the sandbox was given, say
            before = await self._save(folder / "start.tar.gz", stamp, notes)
        result = await self.sandbox.run_code(action.code, timeout=self.timeout)
        execution = result.model_copy(
            update={"action_id": action.id, "parent_id": action.id, **stamp}
        )
        update: dict[str, Any] = {"execution": execution}
        if folder is not None:
            after = await self._save(folder / f"{action.id}.tar.gz", stamp, notes)
            update.update(snapshot=after, snapshot_before=before)
            keep = {ref.path for ref in (after, before) if ref is not None}
            await asyncio.to_thread(_prune, folder, keep)
        update["messages"] = [execution, *notes]
        return update

    async def _save(
        self, path: Path, stamp: dict[str, Any], notes: list[ErrorReport]
    ) -> SnapshotRef | None:
        """Snapshot the sandbox to `path`; a failure or a left-out file becomes a note."""
        try:
            with purpose("snapshot"):
                ref = await take_snapshot(self.sandbox, path)
        except SandboxError as exc:
            notes.append(
                ErrorReport(error="could not snapshot the sandbox", detail=str(exc), **stamp)
            )
            return None
        if ref.skipped_files:
            skipped = "; ".join(ref.skipped_files)
            notes.append(
                ErrorReport(error="the snapshot left out some files", detail=skipped, **stamp)
            )
        return ref


def _prune(folder: Path, keep: set[str]) -> None:
    """Delete a run's older snapshots: resume needs the latest, verification the one before."""
    for path in folder.glob("*.tar.gz"):
        if str(path) not in keep:
            path.unlink(missing_ok=True)
