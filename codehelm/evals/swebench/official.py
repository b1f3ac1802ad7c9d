"""`--harness official`: SWE-bench's own Docker harness, run as a subprocess, unchanged."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

from codehelm.errors import BadInputError
from codehelm.evals.swebench.grader import GradeReport
from codehelm.evals.swebench.predictions import read_predictions
from codehelm.evals.swebench.upstream import load_upstream


class DockerUnavailableError(BadInputError):
    """The official harness needs Docker, which is not usable here."""


async def docker_problem() -> str | None:
    """Why Docker cannot be used (no CLI, no daemon), or None."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    proc = await asyncio.create_subprocess_exec(
        "docker", "info", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        return "the Docker daemon does not answer (docker info timed out)"
    if proc.returncode != 0:
        return f"the Docker daemon is not reachable: {err.decode(errors='replace').strip()}"
    return None


async def run_official(
    instances: Path, predictions: Path, run_id: str, *, workers: int, cwd: Path
) -> GradeReport:
    """Grade with `python -m swebench.harness.run_evaluation` (its output goes to stderr) and
    read the report it writes into `cwd`."""
    problem = await docker_problem()
    if problem is not None:
        raise DockerUnavailableError(
            f"--harness official runs SWE-bench's Docker harness, but {problem}; "
            "use --harness local to grade without Docker"
        )
    load_upstream()  # a clear error when the swebench extra is missing
    cwd.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "swebench.harness.run_evaluation",
        "--dataset_name",
        str(instances.resolve()),
        "--predictions_path",
        str(predictions.resolve()),
        "--run_id",
        run_id,
        "--max_workers",
        str(workers),
    ]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdout=sys.stderr.fileno())
    if await proc.wait() != 0:
        raise DockerUnavailableError(f"SWE-bench's harness exited with code {proc.returncode}")
    models = {p.model_name_or_path for p in read_predictions(predictions).values()}
    report: dict[str, list[str]] = {}
    for model in models:
        path = cwd / f"{model.replace('/', '__')}.{run_id}.json"
        for key, ids in json.loads(path.read_text()).items():
            if key.endswith("_ids") and isinstance(ids, list):
                report.setdefault(key, []).extend(ids)
    return GradeReport(
        resolved=sorted(report.get("resolved_ids", [])),
        unresolved=sorted(report.get("unresolved_ids", []) + report.get("empty_patch_ids", [])),
        error={
            i: "error in SWE-bench's harness: see its logs" for i in report.get("error_ids", [])
        },
    )
