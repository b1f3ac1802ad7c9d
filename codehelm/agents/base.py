"""What every agent is, and which one is running.

An agent is an async callable from the graph state to a state update; the graph
routes between agents, agents never call each other. `current_agent` names the
agent whose node is running, so the trace can attribute model and tool calls to
it without agents passing their name around; `call_purpose` does the same for what a
tool call is for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from codehelm.state import SolveState

current_agent: ContextVar[str] = ContextVar("codehelm_current_agent", default="")
"""The agent whose node is running ("" outside agent nodes)."""

call_purpose: ContextVar[str] = ContextVar("codehelm_call_purpose", default="")
"""What the tool calls being made are for, when it is not the agent's own work (e.g.
"snapshot"): the trace names them by it, and `codehelm show` can tell them apart."""


@contextmanager
def purpose(name: str) -> Iterator[None]:
    """Tool calls made inside this block are for `name` (see `call_purpose`)."""
    token = call_purpose.set(name)
    try:
        yield
    finally:
        call_purpose.reset(token)


class Node(Protocol):
    """An agent: an async function (or callable object) from the state to a state update."""

    def __call__(self, state: SolveState) -> Awaitable[dict[str, Any]]: ...


def step_goal(state: SolveState) -> str:
    """What the agent working on the open step is asked to do: the step's goal, except in a
    one-step plan, where it is the task itself. The planner's paraphrase of a whole task can
    only lose part of it (a small model's "Count the letter r" for a question that also asks
    at which positions), while the steps of a longer plan each say what is theirs to do."""
    step, plan = state.step, state.plan
    assert step is not None, "a step goal exists only while a plan step is open"
    one_step = plan is not None and len(plan.steps) == 1
    return state.task.prompt if one_step else step.goal
