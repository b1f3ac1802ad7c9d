"""Grade SWE-bench predictions without Docker: one sandboxed virtualenv per instance.

For each instance: the clone at `base_commit` is uploaded into a `LocalSandbox`
(bubblewrap; network on by default, for pip), the prediction is applied, an environment
is built from the `InstanceSpec`, the test patch is applied, the test command runs
on the test patch's files, the log is read by SWE-bench's parser for the repository and
SWE-bench's rule decides. Outcomes: `resolved`, `unresolved` (a patch that does not apply,
an empty patch, failing tests, a timeout) or `error` with a reason for what is not the
patch's fault (missing clone or base commit, no specification, interpreter or install
failure, tests that need the network). The sandboxes share the persistent workspace
`<home>/swebench`, whose `pip-cache` makes later gradings fast; each instance's directory
there is removed after it.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from codehelm.errors import CodehelmError
from codehelm.evals.swebench.instances import SWEInstance, clone_problem
from codehelm.evals.swebench.predictions import Prediction
from codehelm.evals.swebench.specs import InstanceSpec, SpecError, test_directives, upstream_spec
from codehelm.evals.swebench.upstream import TestSpec, Upstream, load_upstream
from codehelm.tools.repo.environment import (
    EnvironmentFailure,
    PatchApplyError,
    RepoEnvironment,
    find_interpreter,
    interpreter_prefix,
    upload_repository,
)
from codehelm.tools.sandbox.limits import ResourceLimits
from codehelm.tools.sandbox.local import LocalSandbox

Outcome = Literal["resolved", "unresolved", "error"]
LOG_TAIL = 4000
NEEDS_NETWORK = re.compile(
    r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"Max retries exceeded with url|Failed to establish a new connection"
)
LIMITS = ResourceLimits(cpu_seconds=None, memory_mb=None, max_processes=1024, tmp_mb=1024)


class InstanceGrade(BaseModel):
    """One instance's outcome, why, and SWE-bench's per-test report."""

    model_config = ConfigDict(frozen=True)

    instance_id: str
    outcome: Outcome
    reason: str = ""
    tests: dict[str, dict[str, list[str]]] = {}  # FAIL_TO_PASS/PASS_TO_PASS: success/failure
    duration_s: float = 0.0
    log: str = ""  # the tail of the test output


class GradeReport(BaseModel):
    """Every graded instance, by outcome, with the details."""

    resolved: list[str] = []
    unresolved: list[str] = []
    error: dict[str, str] = {}
    instances: list[InstanceGrade] = []

    @classmethod
    def of(cls, grades: Sequence[InstanceGrade]) -> GradeReport:
        ordered = sorted(grades, key=lambda g: g.instance_id)
        return cls(
            resolved=[g.instance_id for g in ordered if g.outcome == "resolved"],
            unresolved=[g.instance_id for g in ordered if g.outcome == "unresolved"],
            error={g.instance_id: g.reason for g in ordered if g.outcome == "error"},
            instances=ordered,
        )

    def summary(self) -> dict[str, object]:
        """{"resolved": [ids], "unresolved": [ids], "error": {id: reason}}."""
        return {"resolved": self.resolved, "unresolved": self.unresolved, "error": self.error}


class GradeConfig(BaseModel):
    """Where clones are, where to work, and how."""

    model_config = ConfigDict(frozen=True)

    repos: Path  # one clone per repository: <repos>/<owner>__<name>
    home: Path  # the persistent workspace is <home>/swebench
    workers: int = 2
    network: bool = True
    specs: dict[str, InstanceSpec] = {}  # by instance id or by repository ("owner/name")
    build_timeout: float = 1800.0
    test_timeout: float = 1800.0


class _Verdict(Exception):
    def __init__(self, outcome: Outcome, reason: str) -> None:
        self.outcome, self.reason = outcome, reason


async def grade(
    instances: Sequence[SWEInstance],
    predictions: Mapping[str, Prediction],
    config: GradeConfig,
    *,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[InstanceGrade], None] | None = None,
) -> GradeReport:
    """Grade the prediction of every instance that has one, `config.workers` at a time.
    Predictions for ids not among `instances` are errors."""
    upstream = load_upstream()
    known = {i.instance_id: i for i in instances}
    grades = [
        InstanceGrade(instance_id=i, outcome="error", reason="not in the instances file")
        for i in predictions
        if i not in known
    ]
    slots = asyncio.Semaphore(max(1, config.workers))

    async def one(instance: SWEInstance) -> InstanceGrade:
        async with slots:
            if on_start is not None:
                on_start(instance.instance_id)
            result = await grade_instance(
                instance, predictions[instance.instance_id], config, upstream
            )
            if on_done is not None:
                on_done(result)
            return result

    todo = [known[i] for i in predictions if i in known]
    grades += await asyncio.gather(*(one(i) for i in todo))
    return GradeReport.of(grades)


def spec_for(
    instance: SWEInstance, config: GradeConfig, upstream: Upstream, clone: Path
) -> InstanceSpec:
    """The caller's spec for the instance or its repository, else SWE-bench's."""
    given = config.specs.get(instance.instance_id) or config.specs.get(instance.repo)
    return given or upstream_spec(instance, upstream, clone)


async def grade_instance(
    instance: SWEInstance, prediction: Prediction, config: GradeConfig, upstream: Upstream
) -> InstanceGrade:
    """Grade one prediction (see the module doc); never raises for the instance's problems."""
    started = time.perf_counter()
    log = ""
    try:
        tests, log = await _grade(instance, prediction, config, upstream)
        outcome, reason = "resolved", ""
    except _Verdict as verdict:
        tests, outcome, reason = {}, verdict.outcome, verdict.reason
        if verdict.outcome == "unresolved" and isinstance(verdict.__cause__, _Tested):
            tests, log = verdict.__cause__.tests, verdict.__cause__.log
    except CodehelmError as exc:
        tests, outcome, reason = {}, "error", str(exc)
    return InstanceGrade(
        instance_id=instance.instance_id,
        outcome=outcome,
        reason=reason,
        tests=tests,
        duration_s=time.perf_counter() - started,
        log=log[-LOG_TAIL:],
    )


class _Tested(Exception):
    """The tests ran: their report and log, carried by an `unresolved` verdict."""

    def __init__(self, tests: dict[str, dict[str, list[str]]], log: str) -> None:
        self.tests, self.log = tests, log


async def _grade(
    instance: SWEInstance, prediction: Prediction, config: GradeConfig, upstream: Upstream
) -> tuple[dict[str, dict[str, list[str]]], str]:
    patch = prediction.model_patch or ""
    if not patch.strip():
        raise _Verdict("unresolved", "empty patch")
    problem = await asyncio.to_thread(clone_problem, instance, config.repos)
    if problem is not None:
        raise _Verdict("error", problem)
    clone = instance.clone_path(config.repos)
    try:
        spec = await asyncio.to_thread(spec_for, instance, config, upstream, clone)
    except SpecError as exc:
        raise _Verdict("error", str(exc)) from None
    parser = upstream.parser(instance.repo, spec.parser)
    if parser is None:
        raise _Verdict("error", f"no SWE-bench log parser {spec.parser or instance.repo!r}")
    host = find_interpreter(spec.environment.python)
    workspace = config.home / "swebench"
    run = f"runs/{instance.instance_id}-{uuid.uuid4().hex[:8]}"
    sandbox = LocalSandbox(
        workspace=workspace,
        timeout=config.test_timeout,
        network=config.network,
        env={"PIP_CACHE_DIR": str(workspace / "pip-cache")},
        limits=LIMITS,
        read_only_paths=[interpreter_prefix(host)] if host else [],
    )
    try:
        await upload_repository(sandbox, clone, f"{run}/repo", commit=instance.base_commit)
        env = RepoEnvironment(sandbox, f"{run}/repo", spec.environment, venv_dir=f"{run}/venv")
        try:  # before the build: a patch that does not apply costs no install
            await env.apply_patch(patch)
        except PatchApplyError as exc:
            raise _Verdict("unresolved", str(exc)) from None
        built = await env.build(timeout=config.build_timeout)
        if not built.ok:
            raise _Verdict("error", built.error or "environment error")
        return await _run_tests(instance, env, spec, config, upstream, parser)
    except EnvironmentFailure as exc:
        raise _Verdict("error", str(exc)) from None
    finally:
        await sandbox.close()
        await asyncio.to_thread(shutil.rmtree, workspace / run, True)


async def _run_tests(
    instance: SWEInstance,
    env: RepoEnvironment,
    spec: InstanceSpec,
    config: GradeConfig,
    upstream: Upstream,
    parser: Callable[[str, TestSpec], dict[str, str]],
) -> tuple[dict[str, dict[str, list[str]]], str]:
    files = " ".join(shlex.quote(f) for f in instance.test_files())
    if files:  # the test files as at the base commit, whatever the prediction did to them
        await env.run(f'for f in {files}; do git checkout -q HEAD -- "$f" || rm -f "$f"; done')
    try:
        await env.apply_patch(instance.test_patch)
    except PatchApplyError as exc:
        raise _Verdict("error", f"the test patch does not apply: {exc}") from None
    command = " ".join([spec.environment.test_cmd, *map(shlex.quote, test_directives(instance))])
    result = await env.run("\n".join([*spec.eval_commands, command]), timeout=config.test_timeout)
    log = result.stdout + result.stderr
    if result.timed_out:
        raise _Verdict("unresolved", f"the tests timed out after {config.test_timeout:.0f}s")
    status = parser(log, TestSpec(instance.instance_id, instance.repo, instance.version))
    resolved, tests = upstream.evaluate(
        instance.repo, status, instance.FAIL_TO_PASS, instance.PASS_TO_PASS
    )
    if resolved:
        return tests, log
    network = NEEDS_NETWORK.search(log)
    if network:
        raise _Verdict("error", f"environment error: the tests need the network ({network[0]})")
    failing = tests["FAIL_TO_PASS"]["failure"] + tests["PASS_TO_PASS"]["failure"]
    reason = f"{len(failing)} required tests fail: {', '.join(failing[:5])}"
    raise _Verdict("unresolved", reason) from _Tested(tests, log)
