"""Approver: a person decides on each program before it runs (human in the loop).

The node pauses the graph with LangGraph's `interrupt`, showing the program; the run
continues when it is resumed with an `Approval` (`Command(resume={"decision": "run"})`,
`{"decision": "edit", "code": ...}` or `{"decision": "reject", "reason": ...}`). Because
the pause is a checkpointed interrupt, it works the same from the CLI, from Python and
through the LangGraph server, and a paused run survives its process exiting.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt
from pydantic import ValidationError

from codehelm.messages import Approval, CodeAction
from codehelm.state import Attempt, SolveState

REJECTED = "a person rejected this program: "


def approval_request(action: CodeAction, goal: str, problem: str = "") -> dict[str, Any]:
    """What the interrupt shows: the program, why it was written, and what to answer."""
    request = {
        "kind": "approve_code",
        "action_id": action.id,
        "goal": goal,
        "code": action.code,
        "decisions": ["run", "edit", "reject"],
    }
    return {**request, "problem": problem} if problem else request


class Approver:
    """Waits for a decision on `state.action`; a malformed decision is asked for again."""

    name = "approver"

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        action, step = state.action, state.step
        assert action is not None and step is not None, "approval follows the coder's program"
        stamp = {"run_id": state.task.run_id, "sender": "human", "parent_id": action.id}
        problem = ""
        while True:
            # On resume the node runs again and earlier answers replay in order, so a
            # rejected malformed answer leads to a fresh interrupt naming the problem.
            reply = interrupt(approval_request(action, step.goal, problem))
            fields = {"decision": reply} if isinstance(reply, str) else reply
            try:
                approval = Approval.model_validate({**fields, **stamp, "action_id": action.id})
                break
            except (ValidationError, TypeError) as exc:
                problem = _explain(exc)
        if approval.decision == "run":
            return {"messages": [approval]}
        if approval.decision == "edit":
            assert approval.code is not None
            edited = CodeAction(
                step_id=action.step_id, code=approval.code, purpose=action.purpose, **stamp
            )
            return {"action": edited, "messages": [approval, edited]}
        attempt = Attempt(mode="code", content=action.code, feedback=REJECTED + approval.reason)
        return {"action": None, "messages": [approval], "attempts": [*state.attempts, attempt]}


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"invalid decision{' ' + where if where else ''}: {error['msg']}"
    return 'answer with {"decision": "run" | "edit" | "reject", "code": ..., "reason": ...}'
