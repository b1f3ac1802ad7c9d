"""Many runs at once in one process: codehelm's solve() beside bare LangGraph, same checkpointer.

For 1, 10, 50, 100 and 200 concurrent runs it prints how many completed, agent steps per
second and the p95 step latency (time between a run's node updates, its first step timed
from its start), as medians over `--repeats`, and codehelm's ratio to bare LangGraph.

- codehelm: `solve()` with the scripted model (no model latency), real `LocalSandbox`es
  from a `SandboxPool` pre-warmed with two per run (the run's own and the verifier's
  sibling; the pool starts replacements for the siblings taken while the runs go on),
  snapshots on, trace and checkpoints in SQLite files (or, with `--postgres`, also in a
  fresh PostgreSQL database each). Each run is planner, coder, executor, verifier (its 4
  agent steps), then advance and finish.
- bare LangGraph: a graph of the same six nodes that do nothing, with the same checkpointer
  (`open_checkpointer`: one shared SQLite connection per file, or a pool of PostgreSQL
  connections) and `durability="sync"`, as codehelm's runner uses.

The last lines give this process's CPU time, the machine's CPU time per run (every process:
what bounds agent steps/s on this many cores) and what one sandbox start costs the machine,
measured in the same run: with a pool started ahead, the table measures the runs; a steady
stream of runs also pays for starting their sandboxes, which caps it at the rate printed.

    python benchmarks/concurrency.py [--runs 1,10,50,100,200] [--repeats 3]
                                     [--postgres postgresql://USER@HOST:PORT/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

import psutil
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.checkpoints import open_checkpointer
from codehelm.runtime.runner import checkpoint_serializer, solve
from codehelm.tools.sandbox.pool import SandboxPool

SCRIPT = {
    "planner": [json.dumps({"steps": [{"goal": "Multiply", "mode": "code"}]})],
    "coder": ["```python\nprint(6 * 7)\n```"],
}
AGENT_STEPS = 4  # planner, coder, executor, verifier (advance and finish are bookkeeping)
NODES = ("planner", "coder", "executor", "verifier", "advance", "finish")

Backend = Callable[[Path], str | None]
"""Where a measurement keeps its runs: a fresh database's URL, or None for SQLite files in
its home folder (as `Settings.database_url`)."""


def sqlite(home: Path) -> str | None:
    return None


def postgres(server: str) -> Backend:
    """Fresh databases on the PostgreSQL server of the URL `server`."""

    def fresh(home: Path) -> str:
        import psycopg

        name = "bench_" + home.name.replace("-", "_")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))

    return fresh


# The stores compared; `--postgres` adds a PostgreSQL column.
BACKENDS: dict[str, Backend] = {"sqlite": sqlite}


def checkpointer(
    home: Path, backend: Backend
) -> AbstractAsyncContextManager[BaseCheckpointSaver[Any]]:
    settings = Settings(home=home, database_url=backend(home))
    return open_checkpointer(settings.checkpoint_location, checkpoint_serializer())


@dataclass
class Sample:
    completed: int
    steps: int  # agent steps of the completed runs
    wall_s: float
    latencies_ms: list[float]
    machine_s: float  # CPU time of every process on the machine while the runs went on

    @property
    def machine_ms_per_run(self) -> float:
        return self.machine_s * 1000 / max(self.completed, 1)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_s

    @property
    def p95_ms(self) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


class BareState(TypedDict, total=False):
    prompt: str
    answer: str


def bare_graph(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    async def node(state: BareState) -> dict[str, Any]:
        return {}

    graph = StateGraph(BareState)
    for name in NODES:
        graph.add_node(name, node)
    graph.add_edge(START, NODES[0])
    for first, second in itertools.pairwise(NODES):
        graph.add_edge(first, second)
    graph.add_edge(NODES[-1], END)
    return graph.compile(checkpointer=checkpointer)


async def timed(run: Callable[[Callable[[], None]], Awaitable[int]]) -> tuple[int, list[float]]:
    """Run one run, timing its steps: `run` calls `step()` after each node; returns the
    run's agent steps (0 if it did not complete) and its step latencies."""
    latencies: list[float] = []
    last = time.perf_counter()

    def step() -> None:
        nonlocal last
        now = time.perf_counter()
        latencies.append((now - last) * 1000)
        last = now

    return await run(step), latencies


async def together(runs: list[Callable[[Callable[[], None]], Awaitable[int]]]) -> Sample:
    busy, start = _machine_busy_s(), time.perf_counter()
    outcomes = await asyncio.gather(*(timed(run) for run in runs), return_exceptions=True)
    wall, machine = time.perf_counter() - start, _machine_busy_s() - busy
    done = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            print(f"  a run failed: {type(outcome).__name__}: {outcome}")
    return Sample(
        completed=sum(steps > 0 for steps, _ in done),
        steps=sum(steps for steps, _ in done),
        wall_s=wall,
        latencies_ms=[ms for _, latencies in done for ms in latencies],
        machine_s=machine,
    )


async def bare(n: int, home: Path, backend: Backend) -> Sample:
    async with checkpointer(home, backend) as saver:
        graph = bare_graph(saver)

        def run(i: int) -> Callable[[Callable[[], None]], Awaitable[int]]:
            async def go(step: Callable[[], None]) -> int:
                config = {"configurable": {"thread_id": f"bare-{time.time_ns()}-{i}"}}
                nodes = 0
                async for _ in graph.astream(
                    {"prompt": "What is 6 * 7?"}, config, stream_mode="updates", durability="sync"
                ):
                    step()
                    nodes += 1
                return AGENT_STEPS if nodes == len(NODES) else 0

            return go

        return await together([run(i) for i in range(n)])


async def codehelm(n: int, home: Path, backend: Backend) -> Sample:
    url = backend(home)
    settings = Settings(home=home, steer="plan", model="scripted:unused.json", database_url=url)
    async with SandboxPool(size=2 * n, timeout=settings.exec_timeout) as pool:
        await pool.wait_ready()
        boxes = [await pool.acquire() for _ in range(n)]
        await pool.wait_ready()  # refilled: the verifiers' siblings are ready too

        def run(i: int) -> Callable[[Callable[[], None]], Awaitable[int]]:
            async def go(step: Callable[[], None]) -> int:
                result = await solve(
                    "What is 6 * 7?",
                    settings=settings,
                    model=ScriptedModel(SCRIPT),
                    sandbox=boxes[i],
                    on_update=lambda node, update: step(),
                )
                ok = result.status == "done" and result.answer and result.answer.content == "42"
                return result.steps if ok else 0

            return go

        try:
            return await together([run(i) for i in range(n)])
        finally:
            await asyncio.gather(*(box.close() for box in boxes))


async def measure(counts: list[int], repeats: int) -> None:
    samples: dict[tuple[str, str, int], list[Sample]] = {}
    cpu_before = os.times()
    with tempfile.TemporaryDirectory(prefix="codehelm-concurrency-") as tmp:
        for repeat in range(repeats):
            for n in counts:
                for backend_name, backend in BACKENDS.items():
                    for system, measure_one in (("codehelm", codehelm), ("bare", bare)):
                        home = Path(tmp) / f"{system}-{backend_name}-{n}-{repeat}"
                        sample = await measure_one(n, home, backend)
                        samples.setdefault((system, backend_name, n), []).append(sample)
    cpu = os.times()
    print_table(counts, samples)
    own = cpu.user + cpu.system - cpu_before.user - cpu_before.system
    cores = os.cpu_count() or 1
    print(f"\nCPU of this process: {own:.1f} s in all; {cores} cores")
    n = max(counts)
    for backend_name in BACKENDS:
        ours, base = samples[("codehelm", backend_name, n)], samples[("bare", backend_name, n)]
        per_run = median(ours, lambda x: x.machine_ms_per_run)
        base_per_run = median(base, lambda x: x.machine_ms_per_run)
        print(
            f"Machine CPU per run ({backend_name}, {n} at once, every process, the pool's"
            f" replacements included): codehelm {per_run:.0f} ms, bare LangGraph"
            f" {base_per_run:.0f} ms; {cores} cores fit at most"
            f" {cores * 1000 / per_run * AGENT_STEPS:.0f} codehelm agent steps/s"
        )
    start_ms = statistics.median([await sandbox_start_cpu_ms() for _ in range(repeats)])
    runs_per_s = cores * 1000 / (SANDBOXES_PER_RUN * start_ms)
    print(
        f"Sandbox start: {start_ms:.0f} ms of machine CPU each (median of {repeats} x"
        f" {STARTS} pooled starts). A run uses {SANDBOXES_PER_RUN} (its own, the verifier's"
        f" sibling), which the pool must start again: a steady stream of runs is capped at"
        f" {runs_per_s:.1f} runs/s = {runs_per_s * AGENT_STEPS:.0f} agent steps/s by sandbox"
        " starts alone (the table's pools were filled before the clock started)."
    )


SANDBOXES_PER_RUN = 2
STARTS = 10


async def sandbox_start_cpu_ms() -> float:
    """Machine CPU (every process: bubblewrap's namespaces, the interpreter, the snapshot
    preload) per sandbox a pool starts."""
    before = _machine_busy_s()
    async with SandboxPool(size=STARTS) as pool:
        await pool.wait_ready()
        return (_machine_busy_s() - before) * 1000 / STARTS


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + times.irq + times.softirq)


def median(samples: list[Sample], metric: Callable[[Sample], float]) -> float:
    return statistics.median(metric(sample) for sample in samples)


def print_table(counts: list[int], samples: dict[tuple[str, str, int], list[Sample]]) -> None:
    print(
        f"{'backend':<8} {'runs':>5} {'completed':>10} {'steps/s':>9} {'bare':>9} {'ratio':>6}"
        f" {'p95 ms':>8} {'bare':>8} {'ratio':>6}"
    )
    for backend_name in BACKENDS:
        for n in counts:
            ours, base = samples[("codehelm", backend_name, n)], samples[("bare", backend_name, n)]
            rate, base_rate = (median(s, lambda x: x.steps_per_s) for s in (ours, base))
            p95, base_p95 = (median(s, lambda x: x.p95_ms) for s in (ours, base))
            completed = median(ours, lambda x: x.completed)
            print(
                f"{backend_name:<8} {n:>5} {completed:>6.0f}/{n:<3} {rate:>9.1f} {base_rate:>9.1f}"
                f" {rate / base_rate:>6.2f} {p95:>8.1f} {base_p95:>8.1f} {p95 / base_p95:>6.1f}"
            )


async def _main(args: argparse.Namespace) -> None:
    if args.postgres:
        BACKENDS["postgres"] = postgres(args.postgres)
    await measure([int(n) for n in args.runs.split(",")], args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", default="1,10,50,100,200", help="concurrent runs, comma-separated"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server's URL: also measure runs kept in databases there"
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
