"""Parts for building your own graphs from codehelm's agents.

Start from a prebuilt graph and extend it, or wire agents from scratch:

    graph = create_solve_graph(model, sandbox)          # an uncompiled StateGraph
    graph.add_node("audit", agent_node("audit", my_audit))
    ...
    final = await run_graph(graph.compile(), "What is 2**100?")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite

from codehelm.agents.base import Node, current_agent
from codehelm.agents.candidates import choose_answer
from codehelm.errors import CodehelmError
from codehelm.graphs.budget import budget_exceeded
from codehelm.messages import Answer, Budget, Task, new_id
from codehelm.state import SolveState, TaskInput, TaskOutput

Route = Callable[[SolveState], str]
"""Picks the next node from the state."""

FINISH = "finish"
RECURSION_LIMIT = 10_000  # node executions LangGraph allows a run; the budget stops it first


def agent_node(name: str, node: Node) -> Node:
    """Wrap an agent so each run counts as a step, its time counts against the budget,
    and the calls it makes are attributed to `name` in the trace."""

    # `Any`, not `SolveState`: LangGraph hands a node the state schema its first parameter
    # is annotated with, and a graph's own state may extend SolveState (research).
    async def run(state: Any) -> dict[str, Any]:
        token = current_agent.set(name)
        start = time.perf_counter()
        try:
            update = await node(state)
        finally:
            current_agent.reset(token)
        return {**update, "steps": 1, "elapsed_ms": (time.perf_counter() - start) * 1000}

    run.__name__ = name
    return run


def within_budget(route: Route) -> Route:
    """The budget guard: `route`'s choice while the run is within its budget, else finish."""

    def guarded(state: SolveState) -> str:
        return FINISH if budget_exceeded(state.task.budget, state) else route(state)

    guarded.__name__ = getattr(route, "__name__", "route")
    return guarded


def add_route(
    graph: StateGraph[Any, Any, Any, Any], source: str, route: Route, targets: list[str]
) -> None:
    """Leave `source` by `route`, every choice guarded by the budget (so finish is a target)."""
    graph.add_conditional_edges(source, within_budget(route), [*targets, FINISH])


def to(node: str) -> Route:
    """A route that always goes to `node` (the budget guard may still finish the run)."""

    def route(state: SolveState) -> str:
        return node

    route.__name__ = f"to_{node}"
    return route


def by_mode(state: SolveState) -> str:
    """Route the current plan step to the node of its mode."""
    step = state.step
    assert step is not None, "route by mode only while a plan step is open"
    return "coder" if step.mode == "code" else "reasoner"


def best_answer(state: SolveState) -> Answer | None:
    """The answer to stand by when a run stops early: the chosen answer (`choose_answer`) of
    the current plan's last step.

    Candidates for earlier steps are intermediate results (`SolveState.results`), never the
    answer to the task, so a run stopped before its last step has no answer.
    """
    if state.plan is None:
        return None
    chosen = choose_answer(state, state.plan.steps[-1].id)
    return chosen[0] if chosen else None


def stop_early(state: SolveState, reason: str) -> dict[str, Any]:
    """The update ending a run before its plan is done (budget, giving up, a failing model):
    the best answer to the last step, if there is one, and why the run stopped."""
    answer = best_answer(state)
    if answer is None:
        reason += "; no answer to the task's last step yet"
        return {"answer": None, "stop_reason": reason}
    return {"answer": answer.model_copy(update={"usage": state.usage}), "stop_reason": reason}


def new_task(
    prompt: str,
    *,
    run_id: str | None = None,
    budget: Budget | None = None,
    inputs: dict[str, Any] | None = None,
) -> Task:
    return Task(
        prompt=prompt,
        run_id=run_id or new_id(),
        budget=budget or Budget(),
        inputs=inputs or {},
        sender="user",
    )


def guards_its_budget(graph: CompiledStateGraph[Any, Any, Any, Any]) -> bool:
    """Whether `graph` checks the budget on its own routes (`add_route` leads to `finish`);
    a graph that does not is stopped by its runner after the node that went over."""
    return FINISH in graph.nodes


async def run_graph(
    graph: CompiledStateGraph[Any, Any, Any, Any], prompt: str, *, budget: Budget | None = None
) -> SolveState:
    """Run a compiled solve-shaped graph on `prompt`, in memory, and return its final state.

    The run is held to `budget` (default `Budget()`): a graph of your own without the
    budget guard is stopped after the node that went over it, with its best answer so far
    (count a node's steps with `agent_node`). For a run that is traced, checkpointed, listed
    by `codehelm runs` and resumable, use `codehelm.solve(prompt, graph=...)`.
    A graph that pauses for a decision (an `interrupt`, e.g. `approve=True`) cannot finish
    here: use `codehelm.solve(..., on_approval=...)`, which answers it and resumes.
    """
    task = new_task(prompt, budget=budget)
    config: RunnableConfig = {
        "configurable": {"thread_id": task.run_id},
        "recursion_limit": RECURSION_LIMIT,
    }
    initial = SolveState(task=task, messages=[task])
    values: Any = initial
    guarded = guards_its_budget(graph)
    try:
        async with asyncio.timeout(task.budget.max_seconds):
            async for values in graph.astream(initial, config, stream_mode="values"):
                if "__interrupt__" in values:
                    raise CodehelmError(
                        "the graph paused for a decision (an interrupt, e.g. approve=True), which"
                        " run_graph cannot answer: use codehelm.solve(..., on_approval=...), or"
                        " compile with a checkpointer and resume the thread with"
                        " Command(resume=...)"
                    )
                if guarded:
                    continue
                state = SolveState.model_validate(values)
                reason = budget_exceeded(task.budget, state)
                if reason is not None:
                    return state.model_copy(update=stop_early(state, reason))
    except TimeoutError:
        state = SolveState.model_validate(values)
        reason = f"budget: wall time {task.budget.max_seconds:g} s ran out"
        return state.model_copy(update=stop_early(state, reason))
    return SolveState.model_validate(values)


def served_schemas(served: bool) -> dict[str, Any]:
    """`StateGraph`'s input and output schemas for a served graph (LangGraph server): the
    task in (`TaskInput`), the answer out (`TaskOutput`); none (the whole state) otherwise."""
    return {"input_schema": TaskInput, "output_schema": TaskOutput} if served else {}


def start_node(state_type: type[SolveState], budget: Budget | None) -> Node:
    """A first node for tasks that arrive from outside (e.g. on a LangGraph server thread).

    A task not yet in the transcript starts a fresh state, so a second task on a thread is
    answered on its own (the first one's steps, usage and messages stay in the thread's
    history). A task without a budget gets `budget`; one with its own is held to the
    stricter of both.
    """
    fields = state_type.model_fields.items()
    reducers = [name for name, f in fields if any(callable(m) for m in f.metadata)]

    async def start(state: Any) -> dict[str, Any]:
        task = state.task
        if budget is not None:
            given = "budget" in task.model_fields_set
            limit = task.budget.capped(budget) if given else budget
            task = task.model_copy(update={"budget": limit})
        if any(m.id == task.id for m in state.messages):
            return {"task": task}
        task = task.model_copy(update={"run_id": task.run_id or task.id})
        fresh = dict(state_type(task=task, messages=[task]))
        return {**fresh, **{name: Overwrite(fresh[name]) for name in reducers}}

    return start


def add_start(
    graph: StateGraph[Any, Any, Any, Any],
    state_type: type[SolveState],
    first: str,
    *,
    budget: Budget | None,
    served: bool,
) -> None:
    """Begin `graph` at `first`, through `start_node` when tasks arrive from outside (a
    budget to apply, or served)."""
    if budget is None and not served:
        graph.add_edge(START, first)
        return
    graph.add_node("start", start_node(state_type, budget))
    graph.add_edge(START, "start")
    graph.add_edge("start", first)
