"""Graphs of your own run like the prebuilt one: held to their budget, and (through
`codehelm.solve(graph=...)`) traced, checkpointed, listed, shown and resumed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.graphs.compose import agent_node, run_graph
from codehelm.graphs.solve import SolveGraph
from codehelm.messages import Answer, Budget
from codehelm.models import ModelClient, ScriptedModel
from codehelm.runtime.runner import resume, solve
from codehelm.runtime.trace import TraceStore
from codehelm.state import Attempt, SolveState
from codehelm.tools.sandbox.base import Sandbox

NO_MODEL = ScriptedModel({})  # these graphs call no model
LOOPS = 20  # the looping graph ends by itself after this many rounds


def looping_graph(model: ModelClient, sandbox: Sandbox, settings: Settings) -> SolveGraph:
    """One node that goes round and round, with no budget guard of its own."""

    async def again(state: SolveState) -> dict[str, Any]:
        return {"attempts": [*state.attempts, Attempt(mode="code", content="", feedback="more")]}

    def route(state: SolveState) -> str:
        return END if len(state.attempts) >= LOOPS else "again"

    graph = StateGraph(SolveState)
    graph.add_node("again", agent_node("again", again))
    graph.add_edge(START, "again")
    graph.add_conditional_edges("again", route, ["again", END])
    return graph


FAILURES = {"left": 0}  # how often flaky_graph's answer node fails before it works


def flaky_graph(model: ModelClient, sandbox: Sandbox, settings: Settings) -> SolveGraph:
    """Runs a program, then answers from its output (failing while FAILURES says so)."""

    async def compute(state: SolveState) -> dict[str, Any]:
        return {"execution": await sandbox.run_code("print(6 * 7)")}

    async def answer(state: SolveState) -> dict[str, Any]:
        if FAILURES["left"]:
            FAILURES["left"] -= 1
            raise RuntimeError("the answer node failed")
        assert state.execution is not None
        return {"answer": Answer(content=state.execution.stdout.strip(), mode="code")}

    graph = StateGraph(SolveState)
    graph.add_node("compute", agent_node("compute", compute))
    graph.add_node("answer", agent_node("answer", answer))
    graph.add_edge(START, "compute")
    graph.add_edge("compute", "answer")
    graph.add_edge("answer", END)
    return graph


async def test_run_graph_holds_a_graph_of_your_own_to_its_budget(sandbox: Sandbox) -> None:
    graph = looping_graph(ScriptedModel({}), sandbox, Settings()).compile()
    state = await run_graph(graph, "go round", budget=Budget(max_steps=3))
    assert state.steps == 3 and len(state.attempts) == 3
    assert state.stop_reason is not None
    assert state.stop_reason.startswith("budget: reached 3 steps")
    unlimited = await run_graph(graph, "go round", budget=Budget(max_steps=100))
    assert unlimited.steps == LOOPS and unlimited.stop_reason is None


async def test_solve_runs_a_graph_of_your_own_on_budget_and_on_record(
    settings: Settings,
) -> None:
    limited = settings.model_copy(update={"max_steps": 3})
    result = await solve("go round", settings=limited, model=NO_MODEL, graph=looping_graph)
    assert result.status == "stopped" and result.steps == 3
    assert result.stop_reason is not None and result.stop_reason.startswith("budget: reached 3")
    with TraceStore(settings.trace_path) as store:
        record = store.get_run(result.run_id)
    assert record.kind == f"graph:{__name__}:looping_graph" and record.status == "stopped"
    again = await resume(result.run_id, settings=settings)  # stopped: nothing runs again
    assert again.steps == 3 and again.stop_reason == result.stop_reason
    home = ["--home", str(settings.home)]
    cli = CliRunner().invoke  # the CLI runs its own event loop: give it a thread
    listed = await asyncio.to_thread(cli, app, ["runs", *home])
    assert result.run_id in listed.output
    shown = await asyncio.to_thread(cli, app, ["show", result.run_id, *home])
    assert shown.exit_code == 0 and "budget: reached 3 steps" in shown.output


async def test_a_failed_run_of_your_own_graph_resumes_where_it_failed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(FAILURES, "left", 1)
    with pytest.raises(RuntimeError, match="the answer node failed"):
        await solve(
            "What is 6 * 7?", settings=settings, model=NO_MODEL, graph=flaky_graph, run_id="flaky1"
        )
    result = await resume("flaky1", settings=settings, model=NO_MODEL)  # finds flaky_graph
    assert result.status == "done" and result.answer is not None
    assert result.answer.content == "42"
    with TraceStore(settings.trace_path) as store:
        programs = [e for e in store.events("flaky1", "tool_call") if e.name == "run_code"]
    assert len(programs) == 1  # compute was checkpointed, not run again


async def test_a_graph_that_cannot_be_imported_is_passed_to_resume(settings: Settings) -> None:
    def local_graph(model: ModelClient, sandbox: Sandbox, settings: Settings) -> SolveGraph:
        return flaky_graph(model, sandbox, settings)

    FAILURES["left"] = 1
    with pytest.raises(RuntimeError):
        await solve("6 * 7?", settings=settings, model=NO_MODEL, graph=local_graph, run_id="local1")
    with pytest.raises(Exception, match="pass it as resume"):
        await resume("local1", settings=settings, model=NO_MODEL)
    result = await resume("local1", settings=settings, model=NO_MODEL, graph=local_graph)
    assert result.answer is not None and result.answer.content == "42"
