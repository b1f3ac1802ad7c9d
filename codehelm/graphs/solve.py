"""The solve graph: plan, steer each step to code or text, verify, revise, answer.

planner -> (code) coder -> executor -> verifier -> advance -> ... -> finish
        -> (text) reasoner ------------^   | fail: revise (coder/reasoner), then replan
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from codehelm.agents.coder import Coder
from codehelm.agents.executor import Executor
from codehelm.agents.planner import Planner
from codehelm.agents.reasoner import Reasoner
from codehelm.agents.steerer import POLICIES, Steerer, SteeringPolicy
from codehelm.agents.verifier import Verifier
from codehelm.graphs.compose import Node, agent_node, best_answer, by_mode
from codehelm.messages import Answer
from codehelm.models import ModelClient
from codehelm.runtime.budget import budget_exceeded
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import Sandbox

AGENTS = ("planner", "coder", "reasoner", "executor", "verifier", "steerer")


async def advance(state: SolveState) -> dict[str, Any]:
    """Accept the current step's candidate and move to the next step."""
    step, candidate = state.step, state.candidate
    assert step is not None and candidate is not None
    return {
        "step_index": state.step_index + 1,
        "results": {**state.results, step.id: candidate.content},
        "attempts": [],
        "action": None,
        "execution": None,
    }


async def finish(state: SolveState) -> dict[str, Any]:
    """Settle the final answer and say why the run stopped."""
    answer: Answer | None
    if state.plan is not None and state.step is None and state.candidate is not None:
        verified = state.verdict is not None and state.verdict.outcome == "pass"
        answer, reason = state.candidate, "verified" if verified else "unverified"
    else:
        answer = best_answer(state)
        reason = budget_exceeded(state.task.budget, state) or _give_up_reason(state)
    final = None
    if answer is not None:
        final = answer.model_copy(update={"usage": state.usage})
    return {"answer": final, "stop_reason": reason}


def _give_up_reason(state: SolveState) -> str:
    tries = len(state.attempts)
    last = state.attempts[-1].feedback if state.attempts else "no candidate passed"
    return f"gave up after {tries} failed attempts: {last}"


class Routes:
    """Where to go after each node. Every route checks the budget first."""

    def __init__(self, *, max_revisions: int, max_replans: int) -> None:
        self.max_revisions = max_revisions
        self.max_replans = max_replans

    def after_plan(self, state: SolveState) -> str:
        return self._stop(state) or by_mode(state)

    def after_coder(self, state: SolveState) -> str:
        return self._stop(state) or ("executor" if state.action else self._revise(state))

    def after_candidate(self, state: SolveState) -> str:
        return self._stop(state) or "verifier"

    def after_verdict(self, state: SolveState) -> str:
        stop = self._stop(state)
        if stop:
            return stop
        assert state.verdict is not None
        return self._revise(state) if state.verdict.outcome == "fail" else "advance"

    def after_guidance(self, state: SolveState) -> str:
        stop = self._stop(state)
        if stop:
            return stop
        assert state.guidance is not None
        return "advance" if state.guidance.action == "answer" else self._revise(state)

    def after_advance(self, state: SolveState) -> str:
        if state.step is None:
            return "finish"
        return self._stop(state) or by_mode(state)

    def _revise(self, state: SolveState) -> str:
        if len(state.attempts) <= self.max_revisions:
            return by_mode(state)
        if state.replans < self.max_replans:
            return "planner"
        return "finish"

    @staticmethod
    def _stop(state: SolveState) -> str | None:
        return "finish" if budget_exceeded(state.task.budget, state) else None


def build_solve_graph(
    model: ModelClient,
    sandbox: Sandbox,
    *,
    verifier_sandbox: Sandbox | None = None,
    policy: SteeringPolicy = "steer",
    self_check: bool | None = None,
    exec_timeout: float = 10.0,
    max_revisions: int = 3,
    max_replans: int = 1,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    snapshots: Path | None = None,
    nodes: Mapping[str, Node] | None = None,
) -> CompiledStateGraph[SolveState, None, SolveState, SolveState]:
    """Compile the solve graph.

    `policy` steers steps between code and text; `self_check` (default: on with
    `steer`) has the verifier check answers with a model-written program.
    `snapshots` is a folder where the sandbox's state is saved after each execution.
    `nodes` replaces agents by name (any of `AGENTS`) with your own async
    functions of `SolveState`; they are wrapped with `agent_node` like the rest.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown steering policy {policy!r}; choose one of {POLICIES}")
    check_sandbox = verifier_sandbox if verifier_sandbox is not None else sandbox
    checking = policy == "steer" if self_check is None else self_check
    agents: dict[str, Node] = {
        "planner": Planner(model, policy=policy),
        "coder": Coder(model),
        "reasoner": Reasoner(model),
        "executor": Executor(sandbox, timeout=exec_timeout, snapshots=snapshots),
        "verifier": Verifier(
            check_sandbox, timeout=exec_timeout, self_check_model=model if checking else None
        ),
    }
    if policy == "steer":
        agents["steerer"] = Steerer()
    unknown = set(nodes or {}) - set(agents)
    if unknown:
        raise ValueError(f"unknown solve agents {sorted(unknown)}; replaceable: {sorted(agents)}")
    agents.update(nodes or {})
    routes = Routes(max_revisions=max_revisions, max_replans=max_replans)

    graph = StateGraph(SolveState)
    for name, node in agents.items():
        graph.add_node(name, agent_node(name, node))
    graph.add_node("advance", advance)
    graph.add_node("finish", finish)

    graph.add_edge(START, "planner")
    graph.add_conditional_edges("planner", routes.after_plan, ["coder", "reasoner", "finish"])
    graph.add_conditional_edges(
        "coder", routes.after_coder, ["executor", "coder", "planner", "finish"]
    )
    graph.add_conditional_edges("executor", routes.after_candidate, ["verifier", "finish"])
    graph.add_conditional_edges("reasoner", routes.after_candidate, ["verifier", "finish"])
    revisions = ["advance", "coder", "reasoner", "planner", "finish"]
    if "steerer" in agents:
        graph.add_edge("verifier", "steerer")
        graph.add_conditional_edges("steerer", routes.after_guidance, revisions)
    else:
        graph.add_conditional_edges("verifier", routes.after_verdict, revisions)
    graph.add_conditional_edges("advance", routes.after_advance, ["coder", "reasoner", "finish"])
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)
