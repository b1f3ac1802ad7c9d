"""The solve graph: plan, steer each step to code or text, verify, revise, answer.

    planner ─┬─ code ─> coder ─> [approver] ─> executor ─┬─> verifier ─> [steerer] ─> advance
             └─ text ─> reasoner ───────────────────────┘       fail: revise │      next step
                                       coder / reasoner / planner <───────────┘   or finish
    every route: over the budget ─> finish

`create_solve_graph` returns the uncompiled `StateGraph`, so you can add nodes, edges,
interrupts or a store before compiling; `build_solve_graph` compiles it as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, StateGraph
from langgraph.graph.state import CompiledStateGraph

from codehelm.agents.approver import Approver
from codehelm.agents.base import Node
from codehelm.agents.coder import Coder
from codehelm.agents.executor import Executor
from codehelm.agents.planner import Planner
from codehelm.agents.reasoner import Reasoner
from codehelm.agents.sampler import Sampler
from codehelm.agents.steerer import Steerer
from codehelm.agents.verifier import Verifier
from codehelm.config import Settings
from codehelm.graphs.budget import budget_exceeded
from codehelm.graphs.compose import (
    FINISH,
    Route,
    add_route,
    add_start,
    agent_node,
    by_mode,
    choose_answer,
    served_schemas,
    stop_early,
    to,
)
from codehelm.messages import Budget, Verdict
from codehelm.models import ModelClient
from codehelm.policy import POLICIES, Selector, SteeringPolicy
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import Sandbox

AGENTS = ("planner", "coder", "approver", "reasoner", "executor", "verifier", "steerer")
REVISE = ["coder", "reasoner", "planner"]  # where a failed attempt can go next

SolveGraph = StateGraph[SolveState, None, SolveState, SolveState]


async def advance(state: SolveState) -> dict[str, Any]:
    """Accept the step's answer, chosen from all its attempts (`choose_answer`), and move on."""
    step = state.step
    assert step is not None and state.candidate is not None
    chosen = choose_answer(state, step.id)
    candidate, verdict = chosen if chosen else (state.candidate, state.verdict)
    return {
        "step_index": state.step_index + 1,
        "results": {**state.results, step.id: candidate.content},
        "candidate": candidate,
        "verdict": verdict,
        "attempts": [],
        "action": None,
        "execution": None,
        "program_tests": None,
    }


async def finish(state: SolveState) -> dict[str, Any]:
    """Settle the final answer and say why the run stopped: `verified` when an independent
    check confirmed it, `reproduced` when its program ran twice alike and nothing more,
    else `unverified`."""
    if state.plan is not None and state.step is None and state.candidate is not None:
        answer = state.candidate.model_copy(update={"usage": state.usage})
        return {"answer": answer, "stop_reason": label(state.verdict)}
    return stop_early(state, budget_exceeded(state.task.budget, state) or _give_up_reason(state))


def label(verdict: Verdict | None) -> str:
    """What a finished run calls its answer, from the answer's verdict."""
    if verdict is not None and verdict.outcome == "pass":
        return "verified"
    passed = {c.name for c in verdict.checks if c.passed} if verdict else set()
    return "reproduced" if "reproduces" in passed else "unverified"


def _give_up_reason(state: SolveState) -> str:
    tries = len(state.attempts)
    last = state.attempts[-1].feedback if state.attempts else "no candidate passed"
    return f"gave up after {tries} failed attempts: {last}"


class SolveOptions(TypedDict, total=False):
    """Keyword options of `create_solve_graph` (and so of `build_solve_graph`)."""

    policy: SteeringPolicy
    self_check: bool | None
    exec_timeout: float
    max_revisions: int
    max_replans: int
    snapshots: Path | None
    approve: bool
    candidates: int
    selector: Selector
    budget: Budget | None
    nodes: Mapping[str, Node] | None
    served: bool


def solve_options(settings: Settings) -> SolveOptions:
    """The options of `create_solve_graph` that `settings` decide, for graphs of your own
    built on the solve graph: `create_solve_graph(model, sandbox, **solve_options(s))`."""
    return SolveOptions(
        policy=settings.steer,
        exec_timeout=settings.exec_timeout,
        max_revisions=settings.max_revisions,
        max_replans=settings.max_replans,
        snapshots=settings.snapshot_dir if settings.snapshots else None,
        approve=settings.approve,
        candidates=settings.candidates,
        selector=settings.selector,
    )


class Routes:
    """Where to go after a node, within budget (the graph adds the budget guard)."""

    def __init__(self, *, max_revisions: int, max_replans: int) -> None:
        self.max_revisions = max_revisions
        self.max_replans = max_replans

    def code_to(self, node: str) -> Route:
        """Run the program at `node` if there is one, else revise (no code, or rejected)."""

        def has_code(state: SolveState) -> str:
            return node if state.action is not None else self.revise(state)

        return has_code

    def after_verdict(self, state: SolveState) -> str:
        assert state.verdict is not None
        return self.revise(state) if state.verdict.outcome == "fail" else "advance"

    def after_guidance(self, state: SolveState) -> str:
        assert state.guidance is not None
        return "advance" if state.guidance.action == "answer" else self.revise(state)

    def after_advance(self, state: SolveState) -> str:
        return FINISH if state.step is None else by_mode(state)

    def revise(self, state: SolveState) -> str:
        if len(state.attempts) <= self.max_revisions:
            return by_mode(state)
        if state.replans < self.max_replans:
            return "planner"
        return FINISH


def create_solve_graph(
    model: ModelClient,
    sandbox: Sandbox,
    *,
    policy: SteeringPolicy = "steer",
    self_check: bool | None = None,
    exec_timeout: float = 10.0,
    max_revisions: int = 3,
    max_replans: int = 1,
    snapshots: Path | None = None,
    approve: bool = False,
    candidates: int = 1,
    selector: Selector = "codet",
    budget: Budget | None = None,
    nodes: Mapping[str, Node] | None = None,
    served: bool = False,
) -> SolveGraph:
    """The solve graph, not yet compiled: add nodes, edges or interrupts, then `.compile()`.

    `policy` steers steps between code and text; `self_check` (default: on with
    `steer`) has the verifier check answers with a model-written program.
    `snapshots` is a folder where the sandbox's state is saved after each execution.
    `approve` pauses before each program runs until a person runs, edits or rejects it
    (compile with a checkpointer). `candidates` > 1 has each code step write that many
    programs and as many checks, the program chosen from their pass matrix by `selector`:
    CodeT's dual agreement or B4's Bayesian score (`Sampler`).
    `budget` is for tasks that arrive without one (tasks
    with their own are held to the stricter of both). `nodes` replaces agents by name (any
    of `AGENTS`) with your own async functions of `SolveState`, wrapped with `agent_node`.
    `served` makes it a LangGraph server's graph (`served_schemas`, `start_node`).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown steering policy {policy!r}; choose one of {POLICIES}")
    checking = policy == "steer" if self_check is None else self_check
    agents: dict[str, Node] = {
        "planner": Planner(model, policy=policy),
        "coder": Coder(model),
        "reasoner": Reasoner(model),
        "executor": Executor(sandbox, timeout=exec_timeout, snapshots=snapshots),
        "verifier": Verifier(
            sandbox,
            timeout=exec_timeout,
            self_check_model=model if checking else None,
        ),
    }
    if candidates > 1:
        agents["coder"] = Sampler(
            model, sandbox, k=candidates, selector=selector, timeout=exec_timeout
        )
    if approve:
        agents["approver"] = Approver()
    if policy == "steer":
        agents["steerer"] = Steerer(max_attempts=max_revisions + 1)
    unknown = set(nodes or {}) - set(agents)
    if unknown:
        raise ValueError(f"unknown solve agents {sorted(unknown)}; replaceable: {sorted(agents)}")
    agents.update(nodes or {})

    graph: SolveGraph = StateGraph(SolveState, **served_schemas(served))
    for name, node in agents.items():
        graph.add_node(name, agent_node(name, node))
    graph.add_node("advance", advance)
    graph.add_node(FINISH, finish)

    routes = Routes(max_revisions=max_revisions, max_replans=max_replans)
    add_start(graph, SolveState, "planner", budget=budget, served=served)
    add_route(graph, "planner", by_mode, ["coder", "reasoner"])
    if approve:
        add_route(graph, "coder", routes.code_to("approver"), ["approver", *REVISE])
        add_route(graph, "approver", routes.code_to("executor"), ["executor", *REVISE])
    else:
        add_route(graph, "coder", routes.code_to("executor"), ["executor", *REVISE])
    add_route(graph, "executor", to("verifier"), ["verifier"])
    add_route(graph, "reasoner", to("verifier"), ["verifier"])
    if "steerer" in agents:
        add_route(graph, "verifier", to("steerer"), ["steerer"])
        add_route(graph, "steerer", routes.after_guidance, ["advance", *REVISE])
    else:
        add_route(graph, "verifier", routes.after_verdict, ["advance", *REVISE])
    add_route(graph, "advance", routes.after_advance, ["coder", "reasoner"])
    graph.add_edge(FINISH, END)
    return graph


def build_solve_graph(
    model: ModelClient,
    sandbox: Sandbox,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    **options: Unpack[SolveOptions],
) -> CompiledStateGraph[SolveState, None, SolveState, SolveState]:
    """`create_solve_graph(model, sandbox, **options)`, compiled with `checkpointer`."""
    return create_solve_graph(model, sandbox, **options).compile(checkpointer=checkpointer)
