"""The fix graph: an issue in a repository -> a unified diff, tested before it is offered.

    environment ─► localise ─► reproduce ─► edit (K candidates) ─► test ─► select ─► finish
    every route: over the budget ─► finish (with the best candidate so far, if any)

`environment` copies the repository (the user's checkout is never edited), builds an isolated
virtualenv for it inside the sandbox and runs its tests once for a baseline; a failing build is
an environment error, reported as such, and the run goes on without tests. `localise` ranks
files with the repo map and lets the model choose the functions to change (recorded in the
mind map). `reproduce` writes a test and keeps it only if it fails on the base commit. `edit`
makes K candidates, each in its own copy. `test` runs the reproduction and the baseline's
tests against each. `select` keeps the fewest regressions, then what passes the reproduction,
then the majority of equal patches; the verifier model only breaks remaining ties. A patch is
"verified" only when a reproduction test that failed before passes and nothing regressed.
"""

from __future__ import annotations

import asyncio
import shlex
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

from langgraph.graph import END, StateGraph
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from codehelm.agents.localiser import Localisation, Localiser, Location
from codehelm.agents.mindmap import MindMap, MindMapData, Provenance
from codehelm.agents.repairer import Candidate, Repairer
from codehelm.agents.reproducer import TEST_FILE, Reproducer
from codehelm.config import Settings
from codehelm.errors import CodehelmError, ConfigError, ModelOutputError
from codehelm.graphs.budget import budget_exceeded
from codehelm.graphs.compose import (
    FINISH,
    add_route,
    add_start,
    agent_node,
    served_schemas,
    to,
)
from codehelm.messages import Answer, Budget, Check, ErrorReport, Evidence, Usage, Verdict
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.selection.patches import PatchOutcome, distinct, ranked_groups
from codehelm.state import SolveState
from codehelm.tools.repo import copies
from codehelm.tools.repo.environment import EnvironmentSpec, RepoEnvironment, upload_repository
from codehelm.tools.sandbox.base import Sandbox

REPO_DIR = "repo"
"""Where the repository lies in the sandbox's workspace."""
FAILING = ("failed", "error")


class Reproduction(BaseModel):
    """A test that fails on the base commit: its code and the node ids that failed there."""

    code: str
    failing: list[str]


class FixState(SolveState):
    """The solve state plus what fixing adds. The task's `inputs` hold `repo` (the
    repository's path) and optionally `test_cmd`; `answer` holds the chosen patch."""

    environment_error: str | None = None
    baseline: dict[str, str] | None = None  # test node id -> outcome before any edit
    localisation: Localisation | None = None
    reproduction: Reproduction | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    outcomes: list[PatchOutcome] = Field(default_factory=list)
    selected: str | None = None
    mindmap: MindMapData = Field(default_factory=MindMapData)


FixGraph = StateGraph[FixState, None, FixState, FixState]
FIX_TYPES = (FixState, Localisation, Location, Reproduction, Candidate, PatchOutcome)
"""The types a fix run's checkpoints hold besides messages and the mind map."""


class Pick(BaseModel):
    best: int = Field(ge=1)


class Workbench:
    """The run's copies of the repository and its environment in the sandbox, made on first
    use in this process (so a resumed run, with a new sandbox, makes them again)."""

    def __init__(self, sandbox: Sandbox, workdir: Path | None) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self._environments: dict[str, RepoEnvironment | None] = {}
        self.build_error: str | None = None

    def folder(self, state: FixState) -> Path:
        root = self.workdir or Path(tempfile.gettempdir()) / "codehelm-fix"
        return root / state.task.run_id

    async def base(self, state: FixState) -> Path:
        """The snapshot of the user's working tree all candidates start from."""
        base = self.folder(state) / "base"
        if not await asyncio.to_thread((base / ".git").is_dir):
            if "repo" not in state.task.inputs:
                raise ConfigError(
                    "the fix graph needs the repository in the task's inputs: use"
                    " codehelm.fix(repo, issue), or solve(..., inputs={'repo': PATH})"
                )
            await copies.snapshot(Path(state.task.inputs["repo"]), base)
        return base

    async def environment(self, state: FixState) -> RepoEnvironment | None:
        """The repository's environment in the sandbox, or None when it cannot be built."""
        run = state.task.run_id
        if run not in self._environments:
            spec = EnvironmentSpec(**state.task.inputs.get("environment", {}))
            environment = RepoEnvironment(self.sandbox, REPO_DIR, spec)
            await upload_repository(self.sandbox, await self.base(state), REPO_DIR)
            report = await environment.build()
            built = report.ok
            if not built:
                self.build_error = report.error or "the environment could not be built"
            self._environments[run] = environment if built else None
        return self._environments[run]


async def run_suite(environment: RepoEnvironment, test_cmd: str | None) -> dict[str, str]:
    """Each test's outcome under `test_cmd` (pytest, parsed per test); a command that is not
    pytest counts as one test that passes when it exits 0."""
    words = shlex.split(test_cmd) if test_cmd else []
    if words[:1] == ["pytest"] or words[:3] == ["python", "-m", "pytest"]:
        words = words[1:] if words[0] == "pytest" else words[3:]
    elif words:
        result = await environment.run(test_cmd or "")
        return {test_cmd or "": "passed" if result.exit_code == 0 else "failed"}
    run = await environment.run_tests(words)
    return {case.nodeid: case.outcome for case in run.tests}


def regressions(baseline: dict[str, str], after: dict[str, str]) -> list[str]:
    """Tests that passed before and fail, error or are gone after."""
    return [t for t, o in baseline.items() if o == "passed" and after.get(t, "gone") != "passed"]


def create_fix_graph(
    model: ModelClient,
    sandbox: Sandbox,
    *,
    candidates: int = 3,
    workdir: Path | None = None,
    budget: Budget | None = None,
    served: bool = False,
) -> FixGraph:
    """The fix graph, not yet compiled. `candidates` is K; `workdir` holds the run's copies of
    the repository (default: the temporary directory). `budget` and `served` are as for
    `create_solve_graph`."""
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1, got {candidates}")
    bench = Workbench(sandbox, workdir)
    localiser, reproducer, repairer = Localiser(model), Reproducer(model), Repairer(model)

    async def environment(state: FixState) -> dict[str, Any]:
        env = await bench.environment(state)
        if env is None:
            error = f"environment error: {bench.build_error}"
            note = ErrorReport(error=error, run_id=state.task.run_id, sender="environment")
            return {"environment_error": error, "messages": [note]}
        baseline = await run_suite(env, state.task.inputs.get("test_cmd"))
        return {"baseline": baseline}

    async def localise(state: FixState) -> dict[str, Any]:
        base = await bench.base(state)
        found, usage = await localiser.localise(base, state.task.prompt)
        return {
            "localisation": found,
            "mindmap": _record(state, found),
            "messages": [_issue_evidence(state)],
            "usage": usage,
        }

    async def reproduce(state: FixState) -> dict[str, Any]:
        env = await bench.environment(state)
        if env is None or state.localisation is None or not state.localisation.locations:
            return {}
        code, usage = await reproducer.write(
            await bench.base(state), state.task.prompt, state.localisation
        )
        if code is None:
            return {"usage": usage}
        await env.reset()
        await sandbox.files.write(f"{REPO_DIR}/{TEST_FILE}", code)
        run = await env.run_tests([TEST_FILE])
        await env.reset()
        failing = [t.nodeid for t in run.tests if t.outcome == "failed"]
        if not failing:
            return {"usage": usage}
        return {"reproduction": Reproduction(code=code, failing=failing), "usage": usage}

    async def edit(state: FixState) -> dict[str, Any]:
        if state.localisation is None or not state.localisation.locations:
            return {}
        base = await bench.base(state)
        notes = MindMap.from_data(state.mindmap).query(state.task.prompt, max_tokens=150)
        made, usage = [], Usage()
        for i in range(len(state.candidates), candidates):
            copy = bench.folder(state) / f"candidate-{i + 1}"
            await copies.clone(base, copy)
            candidate, used = await repairer.candidate(
                f"c{i + 1}", copy, state.task.prompt, state.localisation, notes=notes, sample=i > 0
            )
            made.append(candidate)
            usage = usage + used
        return {"candidates": [*state.candidates, *made], "usage": usage}

    async def test(state: FixState) -> dict[str, Any]:
        env = await bench.environment(state)
        outcomes = [await _test_one(env, sandbox, state, c) for c in state.candidates]
        return {"outcomes": outcomes}

    async def select(state: FixState) -> dict[str, Any]:
        groups = ranked_groups(state.outcomes)
        if not groups:
            return {}
        tied = distinct(groups[0])
        if len(tied) == 1:
            return {"selected": tied[0].candidate_id}
        prompt = render(
            "pick_patch", issue=state.task.prompt[:2000], patches=[o.patch[:1500] for o in tied]
        )
        try:
            reply = await model.structured(prompt, Pick, agent="verifier")
        except ModelOutputError as exc:
            return {"selected": tied[0].candidate_id, "usage": exc.usage}
        chosen = tied[min(reply.value.best, len(tied)) - 1]
        return {"selected": chosen.candidate_id, "usage": reply.usage}

    graph: FixGraph = StateGraph(FixState, **served_schemas(served))
    nodes: dict[str, Any] = {
        "environment": environment,
        "localise": localise,
        "reproduce": reproduce,
        "edit": edit,
        "test": test,
        "select": select,
    }
    for name, node in nodes.items():
        graph.add_node(name, agent_node(name, node))
    graph.add_node(FINISH, finish)
    order = list(nodes)
    add_start(graph, FixState, order[0], budget=budget, served=served)
    for here, after in pairwise(order):
        add_route(graph, here, to(after), [after])
    graph.add_edge(order[-1], FINISH)
    graph.add_edge(FINISH, END)
    return graph


async def _test_one(
    env: RepoEnvironment | None, sandbox: Sandbox, state: FixState, candidate: Candidate
) -> PatchOutcome:
    """Apply `candidate` to the environment's tree, run the suite and the reproduction."""
    outcome = PatchOutcome(candidate_id=candidate.id, patch=candidate.patch, detail=candidate.error)
    if env is None or not outcome.usable:
        return outcome
    await env.reset()
    try:
        await env.apply_patch(candidate.patch)
    except CodehelmError as exc:
        return outcome.model_copy(update={"applies": False, "detail": str(exc)})
    try:
        after = await run_suite(env, state.task.inputs.get("test_cmd"))
        reproduced = None
        if state.reproduction is not None:
            await sandbox.files.write(f"{REPO_DIR}/{TEST_FILE}", state.reproduction.code)
            run = await env.run_tests([TEST_FILE])
            passed = {t.nodeid for t in run.tests if t.outcome == "passed"}
            reproduced = all(t in passed for t in state.reproduction.failing)
    finally:
        await env.reset()
    lost = regressions(state.baseline or {}, after) if state.baseline is not None else None
    return outcome.model_copy(update={"reproduced": reproduced, "regressions": lost})


async def finish(state: FixState) -> dict[str, Any]:
    """The chosen patch as the answer, with a verdict that says what the tests showed."""
    reason = budget_exceeded(state.task.budget, state)
    outcomes = state.outcomes or [
        PatchOutcome(candidate_id=c.id, patch=c.patch, detail=c.error) for c in state.candidates
    ]
    chosen = next((o for o in outcomes if o.candidate_id == state.selected), None)
    if chosen is None:
        groups = ranked_groups(outcomes)
        chosen = groups[0][0] if groups else None
    if chosen is None:
        errors = "; ".join(f"{c.id}: {c.error}" for c in state.candidates if c.error)
        why = reason or "no patch: " + (errors or _missing(state))
        return {"answer": None, "stop_reason": why}
    stamp = {"run_id": state.task.run_id, "sender": "select"}
    answer = Answer(content=chosen.patch, mode="text", usage=state.usage, **stamp)
    verdict = _verdict(state, chosen, answer.id)
    verified = verdict.outcome == "pass"
    why = reason or ("verified" if verified else "unverified")
    return {"answer": answer, "verdict": verdict, "messages": [answer, verdict], "stop_reason": why}


def _verdict(state: FixState, chosen: PatchOutcome, answer_id: str) -> Verdict:
    checks = [
        Check(
            name="reproduction",
            passed=chosen.reproduced,
            detail=_reproduction_detail(state, chosen),
        ),
        Check(
            name="regressions",
            passed=None if chosen.regressions is None else not chosen.regressions,
            detail=_regression_detail(state, chosen),
        ),
    ]
    if all(c.passed for c in checks):
        outcome = "pass"
    elif any(c.passed is False for c in checks):
        outcome = "fail"
    else:
        outcome = "uncertain"
    reasons = [c.detail for c in checks if not c.passed]
    return Verdict(
        target_id=answer_id,
        outcome=outcome,
        checks=checks,
        reasons=reasons,
        run_id=state.task.run_id,
        sender="verifier",
    )


def _reproduction_detail(state: FixState, chosen: PatchOutcome) -> str:
    if chosen.reproduced is None or state.reproduction is None:
        return "no reproduction test failed on the base commit"
    failing = len(state.reproduction.failing)
    return f"{failing} failing test(s) {'now pass' if chosen.reproduced else 'still fail'}"


def _regression_detail(state: FixState, chosen: PatchOutcome) -> str:
    if chosen.regressions is None:
        return state.environment_error or "the baseline's tests did not run"
    passing = sum(outcome == "passed" for outcome in (state.baseline or {}).values())
    lost = f"{len(chosen.regressions)} of the baseline's {passing} passing tests fail"
    return lost + (": " + ", ".join(chosen.regressions[:5]) if chosen.regressions else "")


def _missing(state: FixState) -> str:
    if state.localisation is None or not state.localisation.files:
        return "localisation found no source file for the issue"
    return "no candidate changed the code"


def _issue_evidence(state: FixState) -> Evidence:
    return Evidence(
        id=f"issue-{state.task.run_id}",
        source="issue",
        quote=state.task.prompt[:1000],
        run_id=state.task.run_id,
        sender="localiser",
    )


def _record(state: FixState, found: Localisation) -> MindMapData:
    """Put what localisation found into the mind map: a claim per file and definition,
    supported by the issue text, about the file or definition it names."""
    mind = MindMap.from_data(state.mindmap)
    issue = mind.add_evidence(_issue_evidence(state))
    for rank, path in enumerate(found.files, 1):
        stated = f"{path} is the repo map's file number {rank} for the issue"
        _claim(mind, issue.id, stated, path, "repo map")
    for location in found.locations:
        stated = (
            f"The fix belongs in {location.key}, lines {location.start}-{location.end}"
            f" (chosen by {found.chosen_by})"
        )
        _claim(mind, issue.id, stated, location.key, location.path)
    return mind.data()


def _claim(mind: MindMap, evidence: str, text: str, entity: str, source: str) -> None:
    provenance = Provenance(agent="localiser", source=source)
    claim = mind.add_claim(text)
    mind.relate(evidence, "supports", claim.id, provenance)
    mind.relate(claim.id, "about", mind.add_entity(entity).id, provenance)


def build_fix_graph(
    model: ModelClient, sandbox: Sandbox, **options: Any
) -> CompiledStateGraph[FixState, None, FixState, FixState]:
    return create_fix_graph(model, sandbox, **options).compile()


def fix_graph(model: ModelClient, sandbox: Sandbox, settings: Settings, **options: Any) -> FixGraph:
    """The fix graph configured by `settings` (a `GraphFactory` for the runner), with
    `options` of `create_fix_graph`."""
    return create_fix_graph(
        model,
        sandbox,
        candidates=settings.fix_candidates,
        workdir=settings.home / "fix",
        **options,
    )
