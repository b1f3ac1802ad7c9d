"""Latency, throughput and memory of `LocalSandbox` against a Jupyter kernel and `python -c`.

One run measures, for each backend:

- cold start: from nothing to the result of a first trivial cell (`1 + 1`), median;
- pool: `SandboxPool.acquire()` from a warm pool to the first result, median;
- warm round trip of a trivial cell on a started sandbox, median and p95;
- throughput: cells per second over 4 sandboxes run concurrently;
- memory of an idle sandbox: PSS (RSS) of its whole process tree, from smaps_rollup.

The Jupyter kernel is ipykernel driven through jupyter_client's `AsyncKernelManager`, which
is what E2B runs inside its VMs; `python -c` starts a fresh interpreter per execution.

    python benchmarks/sandbox.py [--quick]

Needs `jupyter_client` and `ipykernel` for the kernel rows (skipped without them).
Targets: warm p50 <= 1 ms and >= 4x faster than the kernel; isolated cold start p50
<= 60 ms and >= 10x faster than a kernel start; <= 20 MB per idle sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from codehelm.tools.sandbox.bwrap import bwrap_problem
from codehelm.tools.sandbox.local import LocalSandbox
from codehelm.tools.sandbox.pool import SandboxPool
from codehelm.tools.sandbox.process import process_tree

CELL = "1 + 1"
CONCURRENCY = 4


@dataclass
class Row:
    name: str
    cold: list[float] = field(default_factory=list)  # ms
    pool: list[float] = field(default_factory=list)  # ms
    warm: list[float] = field(default_factory=list)  # ms
    throughput: float | None = None  # executions per second
    pss_mb: float | None = None
    rss_mb: float | None = None


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def memory(pids: list[int]) -> tuple[float, float]:
    """(PSS, RSS) in MB summed over `pids`."""
    pss = rss = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as lines:
            for line in lines:
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
    return pss / 1024, rss / 1024


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def throughput(run_one: Callable[[int], Awaitable[None]], per_worker: int) -> float:
    """Executions per second with CONCURRENCY workers each running `per_worker` cells."""

    async def worker(index: int) -> None:
        for _ in range(per_worker):
            await run_one(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    return CONCURRENCY * per_worker / (time.perf_counter() - started)


# -- LocalSandbox -----------------------------------------------------------------------


async def bench_local(name: str, options: dict[str, Any], n: dict[str, int]) -> Row:
    row = Row(name)

    async def cold() -> float:
        """Construction to first result; closing is not counted."""
        started = time.perf_counter()
        sandbox = LocalSandbox(**options)
        try:
            assert (await sandbox.run_code(CELL)).results == ["2"]
            return (time.perf_counter() - started) * 1000
        finally:
            await sandbox.close()

    await cold()  # first use: imports, bubblewrap probe
    for _ in range(n["cold"]):
        row.cold.append(await cold())

    async with SandboxPool(size=2, **options) as pool:
        for _ in range(n["cold"]):
            await pool.wait_ready()
            sandbox: LocalSandbox | None = None

            async def acquire_and_run() -> None:
                nonlocal sandbox
                sandbox = await pool.acquire()
                assert (await sandbox.run_code(CELL)).results == ["2"]

            row.pool.append(await timed(acquire_and_run))
            assert sandbox is not None
            await sandbox.close()

    async with LocalSandbox(**options) as sandbox:
        for _ in range(50):
            await sandbox.run_code(CELL)
        for _ in range(n["warm"]):
            row.warm.append(await timed(lambda: sandbox.run_code(CELL)))

    boxes = [LocalSandbox(**options) for _ in range(CONCURRENCY)]
    try:
        await asyncio.gather(*(box.start() for box in boxes))
        await asyncio.sleep(0.5)  # let them settle: idle memory
        sizes = [memory(box.host_pids()) for box in boxes]
        row.pss_mb = statistics.mean(s[0] for s in sizes)
        row.rss_mb = statistics.mean(s[1] for s in sizes)

        async def run_one(index: int) -> None:
            await boxes[index].run_code(CELL)

        row.throughput = await throughput(run_one, n["throughput"])
    finally:
        await asyncio.gather(*(box.close() for box in boxes))
    return row


# -- Jupyter kernel ---------------------------------------------------------------------


async def bench_jupyter(n: dict[str, int]) -> Row | None:
    try:
        from jupyter_client.manager import AsyncKernelManager
    except ImportError:
        print(
            "jupyter_client/ipykernel not installed: skipping the Jupyter kernel", file=sys.stderr
        )
        return None
    row = Row("Jupyter kernel (ipykernel)")

    async def start() -> tuple[Any, Any]:
        manager = AsyncKernelManager(kernel_name="python3")
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        return manager, client

    async def execute(client: Any) -> None:
        results: list[str] = []

        def hook(message: dict[str, Any]) -> None:
            if message["msg_type"] == "execute_result":
                results.append(message["content"]["data"]["text/plain"])

        reply = await client.execute_interactive(CELL, output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok" and results == ["2"], (reply, results)

    async def stop(manager: Any, client: Any) -> None:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)

    async def cold() -> float:
        started = time.perf_counter()
        manager, client = await start()
        await execute(client)
        elapsed = (time.perf_counter() - started) * 1000
        await stop(manager, client)
        return elapsed

    for _ in range(n["kernel_cold"]):
        row.cold.append(await cold())

    kernels = [await start() for _ in range(CONCURRENCY)]
    try:
        client = kernels[0][1]
        for _ in range(20):
            await execute(client)
        for _ in range(n["warm"] // 2):
            row.warm.append(await timed(lambda: execute(client)))
        await asyncio.sleep(0.5)
        sizes = [memory(process_tree(manager.provisioner.process.pid)) for manager, _ in kernels]
        row.pss_mb = statistics.mean(s[0] for s in sizes)
        row.rss_mb = statistics.mean(s[1] for s in sizes)

        async def run_one(index: int) -> None:
            await execute(kernels[index][1])

        row.throughput = await throughput(run_one, n["throughput"] // 2)
    finally:
        for manager, client in kernels:
            await stop(manager, client)
    return row


# -- python -c --------------------------------------------------------------------------


async def bench_subprocess(n: dict[str, int]) -> Row:
    row = Row("fresh `python -c` per execution")

    async def once() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            f"print({CELL})",
            stdout=asyncio.subprocess.PIPE,
            env={"PATH": os.defpath},
        )
        out, _ = await proc.communicate()
        assert out == b"2\n"

    await once()
    for _ in range(n["cold"]):
        row.cold.append(await timed(once))
    row.warm = list(row.cold)  # nothing stays warm: every execution is a cold start

    async def run_one(index: int) -> None:
        await once()

    row.throughput = await throughput(run_one, n["throughput"] // 10)
    return row


# -- report -----------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def report(rows: list[Row], kernel: Row | None) -> None:
    header = (
        f"{'backend':<36} {'cold p50':>10} {'pool p50':>10} {'warm p50':>10} "
        f"{'warm p95':>10} {'4x exec/s':>10} {'idle PSS (RSS)':>16}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        memory_text = "-" if row.pss_mb is None else f"{row.pss_mb:.1f} ({row.rss_mb:.1f}) MB"
        print(
            f"{row.name:<36} {fmt(median(row.cold), ' ms', 1):>10} "
            f"{fmt(median(row.pool), ' ms', 1):>10} {fmt(median(row.warm), ' ms', 3):>10} "
            f"{fmt(p95(row.warm), ' ms', 3):>10} {fmt(row.throughput, '', 0):>10} "
            f"{memory_text:>16}"
        )
    if kernel is None:
        return
    print("\nAgainst the Jupyter kernel (factor by which each row is better; below 1 is worse):")
    k_cold, k_warm = median(kernel.cold), median(kernel.warm)
    for row in rows:
        if row is kernel:
            continue
        cold, warm, pool = median(row.cold), median(row.warm), median(row.pool)
        parts = []
        if cold and k_cold:
            parts.append(f"cold start {k_cold / cold:.1f}x")
        if pool and k_cold:
            parts.append(f"pool {k_cold / pool:.0f}x")
        if warm and k_warm:
            parts.append(f"warm round trip {k_warm / warm:.1f}x")
        if row.throughput and kernel.throughput:
            parts.append(f"throughput {row.throughput / kernel.throughput:.1f}x")
        if row.pss_mb and kernel.pss_mb:
            parts.append(f"memory {kernel.pss_mb / row.pss_mb:.1f}x")
        print(f"  {row.name}: " + ", ".join(parts))


def check_targets(isolated: Row, kernel: Row | None) -> None:
    cold, warm = median(isolated.cold), median(isolated.warm)
    checks = [
        ("warm p50 <= 1 ms", warm is not None and warm <= 1.0),
        ("isolated cold start p50 <= 60 ms", cold is not None and cold <= 60.0),
        ("<= 20 MB per idle sandbox (PSS)", isolated.pss_mb is not None and isolated.pss_mb <= 20),
    ]
    if kernel is not None and warm and cold:
        checks.append(("warm >= 4x faster than the kernel", median(kernel.warm) / warm >= 4))
        checks.append(("cold >= 10x faster than a kernel start", median(kernel.cold) / cold >= 10))
    print("\nTargets:")
    for name, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    n = (
        {"cold": 10, "warm": 200, "throughput": 100, "kernel_cold": 3}
        if args.quick
        else {"cold": 30, "warm": 1000, "throughput": 500, "kernel_cold": 8}
    )
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    rows: list[Row] = []
    problem = bwrap_problem()
    isolated: Row | None = None
    if problem is None:
        isolated = await bench_local("LocalSandbox (bubblewrap)", {}, n)
        rows.append(isolated)
    else:
        print(f"bubblewrap unavailable ({problem}): skipping the isolated sandbox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows.append(await bench_local("LocalSandbox (isolation=none)", {"isolation": "none"}, n))
    kernel = await bench_jupyter(n)
    if kernel is not None:
        rows.append(kernel)
    rows.append(await bench_subprocess(n))
    print()
    report(rows, kernel)
    if isolated is not None:
        check_targets(isolated, kernel)


if __name__ == "__main__":
    asyncio.run(main())
