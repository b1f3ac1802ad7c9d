"""Fix an issue in a repository: the fix graph through the runner (checkpoints, trace,
budget, resume), then the chosen patch and what its tests showed."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from codehelm.agents.localiser import Localisation
from codehelm.config import Settings
from codehelm.errors import ConfigError
from codehelm.graphs.fix import FixState, fix_graph
from codehelm.messages import Check, Usage
from codehelm.models import ModelClient
from codehelm.runtime.runner import OnUpdate, checkpointed_state, solve
from codehelm.runtime.trace import RunStatus
from codehelm.selection.patches import PatchOutcome
from codehelm.tools.sandbox.base import Sandbox


class FixResult(BaseModel):
    """How a fix run ended. `patch` is the chosen unified diff (None: no candidate changed
    the code). `verdict` is "pass" only when a reproduction test that failed on the base
    commit passes with the patch and none of the baseline's passing tests fails."""

    run_id: str
    status: RunStatus
    patch: str | None
    verdict: Literal["pass", "fail", "uncertain"] | None
    checks: list[Check]
    stop_reason: str | None
    environment_error: str | None
    localisation: Localisation | None
    reproduced: bool  # a reproduction test failed on the base commit
    candidates: list[PatchOutcome]
    selected: str | None
    usage: Usage
    steps: int
    wall_s: float


async def fix(
    repo: str | Path,
    issue: str,
    *,
    test_cmd: str | None = None,
    environment: dict[str, Any] | None = None,
    settings: Settings | None = None,
    model: ModelClient | None = None,
    sandbox: Sandbox | None = None,
    run_id: str | None = None,
    on_update: OnUpdate | None = None,
) -> FixResult:
    """Solve `issue` in the repository at `repo`: a tested patch, never an edit of `repo`.

    `test_cmd` is the suite to guard against regressions (default: pytest over the whole
    repository); `environment` holds `EnvironmentSpec` fields (e.g. `{"python": "3.10"}`).
    """
    root = await asyncio.to_thread(_repository_root, repo)
    inputs: dict[str, Any] = {"repo": str(root), "environment": environment or {}}
    if test_cmd:
        inputs["test_cmd"] = test_cmd
    run = await solve(
        issue,
        settings=settings,
        model=model,
        sandbox=sandbox,
        run_id=run_id,
        graph=fix_graph,
        inputs=inputs,
        on_update=on_update,
    )
    settings = settings or Settings()
    if run.status in ("done", "stopped"):  # the copies served their run; a paused one keeps them
        await asyncio.to_thread(shutil.rmtree, settings.home / "fix" / run.run_id, True)
    return await fix_result(settings, run.run_id, run.status, run.wall_s)


def _repository_root(repo: str | Path) -> Path:
    root = Path(repo).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"not a directory: {repo}; give the repository's root with --repo")
    return root


async def fix_result(
    settings: Settings, run_id: str, status: RunStatus, wall_s: float
) -> FixResult:
    """The `FixResult` of a fix run, from its last checkpoint."""
    state = await checkpointed_state(settings, run_id, FixState)
    return FixResult(
        run_id=run_id,
        status=status,
        patch=state.answer.content if state.answer else None,
        verdict=state.verdict.outcome if state.answer and state.verdict else None,
        checks=state.verdict.checks if state.answer and state.verdict else [],
        stop_reason=state.stop_reason,
        environment_error=state.environment_error,
        localisation=state.localisation,
        reproduced=state.reproduction is not None,
        candidates=state.outcomes,
        selected=state.selected,
        usage=state.usage,
        steps=state.steps,
        wall_s=wall_s,
    )
