"""Batch runners: bounded local concurrency, error isolation, and a real local Ray instance."""

from __future__ import annotations

import asyncio
import os

import pytest

from codehelm.errors import ConfigError
from codehelm.runtime.batch import LocalBatchRunner, Outcome, RayBatchRunner, make_batch_runner


async def square_slowly(x: int) -> int:
    await asyncio.sleep(0.01)
    if x == 3:
        raise ValueError("three is not allowed")
    return x * x


async def report_pid(x: int) -> tuple[int, int]:
    return x, os.getpid()


async def test_local_runner_bounds_concurrency_and_isolates_errors() -> None:
    running = peak = 0

    async def job(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await square_slowly(x)
        finally:
            running -= 1

    seen: list[Outcome] = []
    outcomes = await LocalBatchRunner(concurrency=2).run(job, list(range(6)), on_done=seen.append)
    assert peak == 2
    assert [o.result for o in outcomes] == [0, 1, 4, None, 16, 25]
    assert outcomes[3].error == "ValueError: three is not allowed"
    assert sorted(o.index for o in seen) == list(range(6))


def test_bad_runner_settings_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        LocalBatchRunner(0)
    with pytest.raises(ConfigError, match="goes with --executor ray"):
        make_batch_runner("local", ray_address="ray://x:10001")
    with pytest.raises(ConfigError, match="retries must be 0 or more"):
        RayBatchRunner(retries=-1)
    with pytest.raises(ConfigError, match="unknown executor"):
        make_batch_runner("dask")  # type: ignore[arg-type]


@pytest.mark.slow
async def test_ray_runner_spreads_jobs_over_worker_processes() -> None:
    ray = pytest.importorskip("ray")
    # Workers import this test module by the name pytest gave it.
    here = os.path.dirname(__file__)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": here}},
    )
    try:
        runner = RayBatchRunner(concurrency=2)
        squares = await runner.run(square_slowly, [1, 2, 3, 4])
        assert [o.result for o in squares] == [1, 4, None, 16], [o.error for o in squares]
        assert squares[2].error is not None and "three is not allowed" in squares[2].error
        pids = await runner.run(report_pid, list(range(4)))
        assert all(o.result is not None and o.result[1] != os.getpid() for o in pids)
    finally:
        ray.shutdown()
