"""Predictions for SWE-bench instances: the fix graph on each instance's repository at its
base commit, one JSON line per instance as soon as it is done (`predictions.py`), so an
interrupted run resumes with the instances it has not predicted yet."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from codehelm.config import Settings
from codehelm.evals.swebench.instances import SWEInstance, clone_problem
from codehelm.evals.swebench.predictions import Prediction, append_prediction, predicted_ids
from codehelm.evals.swebench.specs import InstanceSpec
from codehelm.models import ModelClient
from codehelm.runtime.fix import FixResult, fix


class PredictReport(BaseModel):
    """What a predictions run did: ids written, ids already in the file, ids it could not
    start (with why; they are not written, so a later run tries them again)."""

    written: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    error: dict[str, str] = Field(default_factory=dict)


async def predict(
    instances: Sequence[SWEInstance],
    repos: Path,
    out: Path,
    *,
    settings: Settings,
    model: ModelClient | None = None,
    specs: Mapping[str, InstanceSpec] | None = None,
    on_start: Callable[[SWEInstance], None] | None = None,
    on_done: Callable[[SWEInstance, FixResult], None] | None = None,
) -> PredictReport:
    """Run the fix graph on every instance not yet in `out` and append its patch ("" when
    the run made none). `specs` (by instance id or repository) give the environment and
    the test command to guard against regressions, as for grading."""
    report = PredictReport()
    done = await asyncio.to_thread(predicted_ids, out)
    for instance in instances:
        if instance.instance_id in done:
            report.skipped.append(instance.instance_id)
            continue
        problem = await asyncio.to_thread(clone_problem, instance, repos)
        if problem is not None:
            report.error[instance.instance_id] = problem
            continue
        if on_start is not None:
            on_start(instance)
        spec = (specs or {}).get(instance.instance_id) or (specs or {}).get(instance.repo)
        with tempfile.TemporaryDirectory(prefix="codehelm-swebench-") as scratch:
            checkout = Path(scratch) / instance.instance_id
            clone = instance.clone_path(repos)
            failed = await asyncio.to_thread(_check_out, clone, instance.base_commit, checkout)
            if failed:
                report.error[instance.instance_id] = failed
                continue
            result = await fix(
                checkout,
                instance.problem_statement,
                test_cmd=spec.environment.test_cmd if spec else None,
                environment=spec.environment.model_dump() if spec else None,
                settings=settings,
                model=model,
            )
        await asyncio.to_thread(
            append_prediction,
            out,
            Prediction(
                instance_id=instance.instance_id,
                model_name_or_path=f"codehelm/{settings.model}",
                model_patch=result.patch or "",
            ),
        )
        report.written.append(instance.instance_id)
        if on_done is not None:
            on_done(instance, result)
    return report


def _check_out(clone: Path, commit: str, dest: Path) -> str | None:
    """A fresh copy of `clone` at `commit` (sharing its objects; the clone is not touched);
    why not, if git refused."""
    for args in (
        ["clone", "-q", "--shared", "--no-checkout", str(clone), str(dest)],
        ["-C", str(dest), "checkout", "-q", "--detach", commit],
    ):
        done = subprocess.run(["git", *args], capture_output=True, text=True)
        if done.returncode != 0:
            return f"git {args[0]} failed: {done.stderr.strip()[:300]}"
    return None
