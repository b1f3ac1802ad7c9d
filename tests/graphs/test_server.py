"""The served graphs (small schemas, a fresh state per task) and the server's request checks,
in process; tests/graphs/test_langgraph_dev.py drives them behind a real `langgraph dev`."""

from __future__ import annotations

import json
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from codehelm.graphs import server
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Budget, ErrorReport, Task
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import checkpoint_serializer
from codehelm.state import SolveState
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply

SCRIPT = {
    "planner": {
        "2 + 3": plan_reply(("code", "Add")),
        "7 * 6": plan_reply(("code", "Multiply")),
    },
    "coder": {"2 + 3": code_reply("print(2 + 3)"), "7 * 6": code_reply("print(7 * 6)")},
}


def test_langgraph_json_serves_every_graph_behind_the_request_checks() -> None:
    config = json.loads((Path(__file__).parents[2] / "langgraph.json").read_text())
    for name in ("solve", "research", "fix"):
        path, _, factory = config["graphs"][name].partition(":")
        assert path == "./codehelm/graphs/server.py" and callable(getattr(server, factory))
    assert config["http"]["app"] == "./codehelm/graphs/server.py:app"


async def test_a_served_graph_answers_each_task_on_a_thread_on_its_own(
    sandbox: LocalSandbox,
) -> None:
    graph = build_solve_graph(
        ScriptedModel(SCRIPT),
        sandbox,
        policy="plan",
        budget=Budget(max_steps=12),
        served=True,
        checkpointer=InMemorySaver(serde=checkpoint_serializer()),
    )
    thread = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke({"task": Task(prompt="2 + 3")}, thread)
    own_budget = Task(prompt="7 * 6", budget=Budget(max_steps=30, max_tokens=1000))
    second = await graph.ainvoke({"task": own_budget}, thread)

    assert set(first) == {"answer", "stop_reason", "usage"}
    assert first["answer"].content == "5" and second["answer"].content == "42"
    state = SolveState.model_validate((await graph.aget_state(thread)).values)
    assert state.steps == 4 and state.usage.calls == 2 and state.messages[0].id == own_budget.id
    assert [m for m in state.messages if isinstance(m, Task)] == [state.messages[0]]
    assert state.task.budget == Budget(max_steps=12, max_tokens=1000)  # the stricter of both


async def test_a_task_already_in_the_transcript_keeps_its_state(sandbox: LocalSandbox) -> None:
    graph = build_solve_graph(ScriptedModel(SCRIPT), sandbox, policy="plan", budget=Budget())
    task = Task(prompt="2 + 3")
    note = ErrorReport(error="a note from the runner")
    final = SolveState.model_validate(
        await graph.ainvoke(SolveState(task=task, messages=[task, note]))
    )
    assert final.answer is not None and final.answer.content == "5"
    assert final.messages[:2] == [task, note]


def test_valid_runs_and_resumptions_pass_the_request_checks() -> None:
    task = {"task": {"prompt": "2 + 3"}}
    assert server.refusal({"input": task, "context": {"model": "openai/x", "max_steps": 3}}) is None
    assert server.refusal({"input": task, "config": {"configurable": {"thread_id": "t"}}}) is None
    assert server.refusal({"command": {"resume": {"decision": "run"}}}) is None
    assert server.refusal(["not", "a", "run"]) is None  # left to the server's own checks
    assert server.refusal({"input": {}, "config": "not a config"}) is None
