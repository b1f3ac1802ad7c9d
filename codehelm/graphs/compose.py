"""Parts for building your own graphs from codehelm's agents.

graph = StateGraph(SolveState)
graph.add_node("planner", agent_node("planner", Planner(model)))
graph.add_node("coder", agent_node("coder", Coder(model)))
...
final = await run_graph(graph.compile(), "What is 2**100?")
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from codehelm.messages import Answer, Budget, Task, Verdict, new_id
from codehelm.runtime.trace import current_agent
from codehelm.state import SolveState


class Node(Protocol):
    """An agent: an async function (or callable object) from the state to a state update."""

    def __call__(self, state: SolveState) -> Awaitable[dict[str, Any]]: ...


def agent_node(name: str, node: Node) -> Node:
    """Wrap an agent so each run counts as a step, its time counts against the budget,
    and the calls it makes are attributed to `name` in the trace."""

    async def run(state: SolveState) -> dict[str, Any]:
        token = current_agent.set(name)
        start = time.perf_counter()
        try:
            update = await node(state)
        finally:
            current_agent.reset(token)
        return {**update, "steps": 1, "elapsed_ms": (time.perf_counter() - start) * 1000}

    run.__name__ = name
    return run


def by_mode(state: SolveState) -> str:
    """Route the current plan step to the node of its mode."""
    step = state.step
    assert step is not None, "route by mode only while a plan step is open"
    return "coder" if step.mode == "code" else "reasoner"


def best_answer(state: SolveState) -> Answer | None:
    """The candidate to stand by: the latest with the best verdict (pass > uncertain > fail)."""
    verdicts = {m.target_id: m.outcome for m in state.messages if isinstance(m, Verdict)}
    rank = {"pass": 3, "uncertain": 2, None: 1, "fail": 0}
    candidates = [m for m in state.messages if isinstance(m, Answer) and m.content]
    if state.candidate is not None and state.candidate.content:
        candidates.append(state.candidate)
    if not candidates:
        return None
    return max(reversed(candidates), key=lambda a: rank[verdicts.get(a.id)])


def new_task(prompt: str, *, run_id: str | None = None, budget: Budget | None = None) -> Task:
    return Task(prompt=prompt, run_id=run_id or new_id(), budget=budget or Budget(), sender="user")


async def run_graph(
    graph: CompiledStateGraph, prompt: str, *, budget: Budget | None = None
) -> SolveState:
    """Run a compiled solve-shaped graph on `prompt` and return its final state."""
    task = new_task(prompt, budget=budget)
    config: RunnableConfig = {"configurable": {"thread_id": task.run_id}, "recursion_limit": 10_000}
    result = await graph.ainvoke(SolveState(task=task, messages=[task]), config)
    return SolveState.model_validate(result)
