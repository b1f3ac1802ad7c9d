"""Human approval of code: the graph pauses before each program; run, edit or reject it.

Driven the way LangGraph clients drive it (`interrupt`, then `Command(resume=...)` on the
same thread, with a real checkpointer), so the same works through the LangGraph server.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from codehelm.errors import CodehelmError
from codehelm.graphs.compose import new_task, run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Approval, CodeAction, Execution
from codehelm.models import ScriptedModel
from codehelm.state import SolveState
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply


class Session:
    """One thread of an approval-gated solve graph."""

    def __init__(self, sandbox: LocalSandbox, coder: list[str]) -> None:
        self.model = ScriptedModel(
            {"planner": [plan_reply(("code", "Multiply six by seven"))], "coder": coder}
        )
        self.graph = build_solve_graph(
            self.model, sandbox, policy="plan", approve=True, checkpointer=InMemorySaver()
        )
        self.task = new_task("What is 6 * 7?")
        self.config: Any = {"configurable": {"thread_id": self.task.run_id}}

    async def start(self) -> dict[str, Any]:
        await self.graph.ainvoke(SolveState(task=self.task, messages=[self.task]), self.config)
        return await self.pending()

    async def answer(self, decision: Any) -> dict[str, Any] | None:
        await self.graph.ainvoke(Command(resume=decision), self.config)
        return await self.pending()

    async def pending(self) -> Any:
        snapshot = await self.graph.aget_state(self.config)
        return snapshot.interrupts[0].value if snapshot.interrupts else None

    async def state(self) -> SolveState:
        return SolveState.model_validate((await self.graph.aget_state(self.config)).values)


def executed(state: SolveState) -> list[str]:
    actions = {m.id: m.code for m in state.messages if isinstance(m, CodeAction)}
    return [actions[m.action_id] for m in state.messages if isinstance(m, Execution)]


async def test_nothing_runs_until_the_program_is_approved(sandbox: LocalSandbox) -> None:
    session = Session(sandbox, [code_reply("print(6 * 7)")])
    request = await session.start()
    assert request["code"] == "print(6 * 7)" and request["goal"] == "Multiply six by seven"
    assert request["decisions"] == ["run", "edit", "reject"]
    assert executed(await session.state()) == []  # paused before the executor

    assert await session.answer({"decision": "run"}) is None
    state = await session.state()
    assert state.answer is not None and state.answer.content == "42"
    assert executed(state) == ["print(6 * 7)"]
    approval = next(m for m in state.messages if isinstance(m, Approval))
    assert approval.decision == "run" and approval.sender == "human"


async def test_an_edited_program_runs_instead(sandbox: LocalSandbox) -> None:
    session = Session(sandbox, [code_reply("print(6 * 8)")])
    await session.start()
    assert await session.answer({"decision": "edit", "code": "print(6 * 7)"}) is None
    state = await session.state()
    assert state.answer is not None and state.answer.content == "42"
    assert executed(state) == ["print(6 * 7)"]  # the coder's program never ran
    edited = [m for m in state.messages if isinstance(m, CodeAction) and m.sender == "human"]
    assert [m.code for m in edited] == ["print(6 * 7)"]


async def test_a_rejection_goes_back_to_the_coder_with_its_reason(sandbox: LocalSandbox) -> None:
    session = Session(
        sandbox, [code_reply("import os; print(os.getcwd())"), code_reply("print(6 * 7)")]
    )
    first = await session.start()
    reason = "do not touch the file system; just multiply"
    second = await session.answer({"decision": "reject", "reason": reason})
    assert second is not None and second["code"] == "print(6 * 7)"
    _, prompt = session.model.calls[-1]
    assert session.model.calls[-1][0] == "coder"
    assert reason in prompt[-1]["content"] + prompt[-2]["content"]
    assert first["code"] in " ".join(m["content"] for m in prompt)
    assert await session.answer("run") is None  # a bare string is a decision too
    state = await session.state()
    assert state.answer is not None and state.answer.content == "42"
    assert executed(state) == ["print(6 * 7)"]


async def test_a_malformed_decision_is_asked_again(sandbox: LocalSandbox) -> None:
    session = Session(sandbox, [code_reply("print(6 * 7)")])
    await session.start()
    again = await session.answer({"decision": "edit"})  # no code
    assert again is not None and "needs the edited program" in again["problem"]
    again = await session.answer({"decision": "maybe"})
    assert again is not None and "decision" in again["problem"]
    assert executed(await session.state()) == []
    assert await session.answer({"decision": "run"}) is None
    assert (await session.state()).answer.content == "42"  # type: ignore[union-attr]


async def test_run_graph_says_it_cannot_answer_an_approval(sandbox: LocalSandbox) -> None:
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(42)")]}
    )
    graph = build_solve_graph(model, sandbox, policy="plan", approve=True)
    with pytest.raises(CodehelmError, match="on_approval"):
        await run_graph(graph, "What is 6 * 7?")
