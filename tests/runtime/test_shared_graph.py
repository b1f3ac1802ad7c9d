"""Runs share one compiled solve graph per settings and event loop; each run still calls its
own model and sandbox, never another's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from codehelm.config import Settings
from codehelm.graphs import solve as solve_module
from codehelm.models import ScriptedModel
from codehelm.runtime import runner
from codehelm.runtime.bound import RunModel, RunSandbox, SharedGraphs
from codehelm.runtime.runner import solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply


def script(n: int) -> dict[str, list[str]]:
    """A run whose program prints n * 7 into a file and reads it back (its own workspace)."""
    program = f"open('n.txt', 'w').write('{n}')\nprint(int(open('n.txt').read()) * 7)"
    return {"planner": [plan_reply(("code", f"Multiply {n}"))], "coder": [code_reply(program)]}


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The solve graphs built from now on (the real ones: the builder is only counted)."""
    built: list[Any] = []
    create = solve_module.create_solve_graph

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return create(*args, **kwargs)

    monkeypatch.setattr(runner, "create_solve_graph", counted)
    return built


async def test_concurrent_runs_on_one_graph_each_use_their_own_model_and_sandbox(
    settings: Settings, builds: list[Any]
) -> None:
    results = await asyncio.gather(
        *(
            solve(f"What is {n} * 7?", settings=settings, model=ScriptedModel(script(n)))
            for n in range(12)
        )
    )
    assert [r.answer.content if r.answer else None for r in results] == [
        str(n * 7) for n in range(12)
    ]
    assert len(builds) == 1  # one graph for the twelve runs
    with TraceStore(settings.trace_location) as store:
        for n, result in enumerate(results):
            calls = store.events(result.run_id, "model_call")
            assert [c.agent for c in calls] == ["planner", "coder"]
            assert f"Multiply {n}" in calls[0].payload["reply"]  # its own model's replies


async def test_other_settings_get_a_graph_of_their_own(
    settings: Settings, builds: list[Any]
) -> None:
    model = ScriptedModel(script(6))
    await solve("What is 6 * 7?", settings=settings, model=model)
    other = settings.model_copy(update={"max_revisions": 1})
    result = await solve("What is 6 * 7?", settings=other, model=ScriptedModel(script(6)))
    assert result.answer is not None and result.answer.content == "42"
    assert len(builds) == 2


def test_each_event_loop_builds_its_own_graph_and_the_oldest_goes_first() -> None:
    graphs = SharedGraphs(size=2)
    made: list[str] = []

    def build(key: str) -> str:
        made.append(key)
        return f"graph {key}"

    async def get(key: str) -> str:
        return graphs.get(key, lambda: build(key))

    async def within_one_loop() -> list[str]:
        return [await get("a"), await get("a"), await get("b"), await get("c"), await get("a")]

    assert asyncio.run(within_one_loop()) == ["graph a", "graph a", "graph b", "graph c", "graph a"]
    assert made == ["a", "b", "c", "a"]  # "a" went first when "c" came (size 2)
    asyncio.run(get("b"))
    assert made[-1] == "b"  # a new loop starts empty


async def test_a_shared_graphs_model_and_sandbox_outside_a_run_say_so() -> None:
    with pytest.raises(RuntimeError, match="outside a run"):
        await RunModel().complete([{"role": "user", "content": "hi"}])
    with pytest.raises(RuntimeError, match="outside a run"):
        await RunSandbox().run_code("1")
