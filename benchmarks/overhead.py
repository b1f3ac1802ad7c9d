"""Per-step framework overhead of the solve graph against a bare LangGraph graph of the same shape.

Both graphs run the same six nodes (planner, coder, executor, verifier, advance, finish) with
zero model latency (scripted model) and an instant sandbox (the `plan` steering policy, whose
graph has exactly that shape, and no snapshots), so what is measured is codehelm
itself: typed state, message validation, routing, budget checks, usage accounting and, in the
last rows, SQLite checkpoints and the trace. Steps are timed from the stream of node updates.

    python benchmarks/overhead.py [--runs 200]

Targets: under 2 ms added per step; p95 per step under 10 ms with checkpointing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from codehelm.config import Settings
from codehelm.graphs.compose import new_task
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Execution
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import checkpoint_serializer, solve
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import CommandResult, FileInfo

SCRIPT = {
    "planner": [json.dumps({"steps": [{"goal": "Multiply", "mode": "code"}]})],
    "coder": ["```python\nprint(6 * 7)\n```"],
}
NODES = 6


class InstantFiles:
    async def read(self, path: str) -> str:
        return ""

    async def read_bytes(self, path: str) -> bytes:
        return b""

    async def write(self, path: str, data: str | bytes) -> None:
        return None

    async def list(self, path: str = ".") -> list[FileInfo]:
        return []


class InstantSandbox:
    """Answers every execution at once, so the sandbox costs nothing in this benchmark."""

    files = InstantFiles()

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution:
        return Execution(action_id="", stdout="42\n")

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        return CommandResult(command=cmd, exit_code=0)

    def sibling(self) -> InstantSandbox:
        return InstantSandbox()

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> InstantSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class BareState(TypedDict, total=False):
    prompt: str
    plan: str
    code: str
    stdout: str
    verdict: str
    answer: str


def bare_graph(checkpointer: Any = None) -> Any:
    async def planner(state: BareState) -> dict[str, Any]:
        return {"plan": "Multiply"}

    async def coder(state: BareState) -> dict[str, Any]:
        return {"code": "print(6 * 7)"}

    async def executor(state: BareState) -> dict[str, Any]:
        return {"stdout": "42\n"}

    async def verifier(state: BareState) -> dict[str, Any]:
        return {"verdict": "pass"}

    async def advance(state: BareState) -> dict[str, Any]:
        return {}

    async def finish(state: BareState) -> dict[str, Any]:
        return {"answer": state["stdout"].strip()}

    graph = StateGraph(BareState)
    for name, node in [
        ("planner", planner),
        ("coder", coder),
        ("executor", executor),
        ("verifier", verifier),
        ("advance", advance),
        ("finish", finish),
    ]:
        graph.add_node(name, node)
    graph.add_edge(START, "planner")
    graph.add_conditional_edges("planner", lambda s: "coder", ["coder", "finish"])
    graph.add_conditional_edges("coder", lambda s: "executor", ["executor", "finish"])
    graph.add_conditional_edges("executor", lambda s: "verifier", ["verifier", "finish"])
    graph.add_conditional_edges("verifier", lambda s: "advance", ["advance", "finish"])
    graph.add_conditional_edges("advance", lambda s: "finish", ["coder", "finish"])
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


async def step_times(stream: AsyncIterator[Any]) -> tuple[float, list[float]]:
    """Milliseconds to the first node update (run start included), then between updates."""
    times, last = [], time.perf_counter()
    async for _ in stream:
        now = time.perf_counter()
        times.append((now - last) * 1000)
        last = now
    assert len(times) == NODES, f"expected {NODES} steps, got {len(times)}"
    return times[0], times[1:]


def durability(graph: Any) -> str | None:
    """Checkpoint each step before the next, as codehelm's runner does (needs a checkpointer)."""
    return "sync" if graph.checkpointer else None


Runner = Callable[[int], AsyncIterator[Any]]


async def measure(run: Runner, runs: int) -> tuple[list[float], list[float]]:
    """First-step latencies and later per-step latencies over `runs` runs, after a warm-up."""
    for i in range(10):
        await step_times(run(-1 - i))
    firsts: list[float] = []
    steps: list[float] = []
    for i in range(runs):
        first, rest = await step_times(run(i))
        firsts.append(first)
        steps += rest
    return firsts, steps


def quantile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q * 100) - 1]


async def main(runs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="codehelm-bench-"))
    sandbox = InstantSandbox()
    model = ScriptedModel(SCRIPT)
    solve_graph = build_solve_graph(model, sandbox, policy="plan")

    def codehelm_run(graph: Any) -> Runner:
        def run(i: int) -> AsyncIterator[Any]:
            task = new_task("What is 6 * 7?")
            config = {"configurable": {"thread_id": f"{task.run_id}-{i}"}}
            return graph.astream(
                SolveState(task=task, messages=[task]),
                config,
                stream_mode="updates",
                durability=durability(graph),
            )

        return run

    def bare_run(graph: Any) -> Runner:
        def run(i: int) -> AsyncIterator[Any]:
            config = {"configurable": {"thread_id": f"bare-{i}-{time.perf_counter_ns()}"}}
            return graph.astream(
                {"prompt": "What is 6 * 7?"},
                config,
                stream_mode="updates",
                durability=durability(graph),
            )

        return run

    results: dict[str, tuple[list[float], list[float]]] = {}
    results["bare LangGraph"] = await measure(bare_run(bare_graph()), runs)
    results["codehelm solve graph"] = await measure(codehelm_run(solve_graph), runs)
    async with AsyncSqliteSaver.from_conn_string(str(tmp / "bare.sqlite")) as saver:
        results["bare LangGraph + SQLite"] = await measure(bare_run(bare_graph(saver)), runs)
    async with AsyncSqliteSaver.from_conn_string(str(tmp / "ch.sqlite")) as saver:
        saver.serde = checkpoint_serializer()
        graph = build_solve_graph(model, sandbox, policy="plan", checkpointer=saver)
        results["codehelm + SQLite"] = await measure(codehelm_run(graph), runs)

    # Snapshots need a real interpreter; sandbox costs are benchmarks/sandbox.py's subject.
    settings = Settings(home=tmp / "home", snapshots=False, steer="plan")

    def full_run(i: int) -> AsyncIterator[Any]:
        steps: asyncio.Queue[Any] = asyncio.Queue()

        async def produce() -> None:
            await solve(
                "What is 6 * 7?",
                settings=settings,
                model=ScriptedModel(SCRIPT),
                sandbox=sandbox,
                on_update=lambda node, _: steps.put_nowait(node),
            )
            steps.put_nowait(None)

        async def consume() -> AsyncIterator[Any]:
            task = asyncio.create_task(produce())
            while (node := await steps.get()) is not None:
                yield node
            await task

        return consume()

    results["codehelm solve() + SQLite + trace"] = await measure(full_run, max(runs // 4, 20))

    baselines = {
        "codehelm solve graph": "bare LangGraph",
        "codehelm + SQLite": "bare LangGraph + SQLite",
        "codehelm solve() + SQLite + trace": "bare LangGraph + SQLite",
    }
    print(
        f"{'configuration':<36} {'first step':>10} {'p50/step':>9} {'p95/step':>9} "
        f"{'added p50':>10} {'ratio':>6}   (ms; first step includes starting the run)"
    )
    for name, (firsts, steps) in results.items():
        p50, p95 = statistics.median(steps), quantile(steps, 0.95)
        added = ratio = ""
        if name in baselines:
            base_p50 = statistics.median(results[baselines[name]][1])
            added, ratio = f"{p50 - base_p50:+.3f}", f"{p50 / base_p50:.2f}x"
        print(
            f"{name:<36} {statistics.median(firsts):>10.3f} {p50:>9.3f} {p95:>9.3f} "
            f"{added:>10} {ratio:>6}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per configuration")
    asyncio.run(main(parser.parse_args().runs))
