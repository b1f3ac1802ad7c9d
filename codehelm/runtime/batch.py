"""Run one async job over many inputs: here with bounded concurrency, or spread over Ray.

    runner = make_batch_runner("local", concurrency=4)
    outcomes = await runner.run(my_job, inputs, on_done=print)

A job is an async function of one input. For Ray it must be picklable (a
module-level function, or a `functools.partial` of one) and importable on the
workers: a local Ray instance shares this environment; a remote cluster needs
codehelm in its runtime environment. One failing input never stops the batch:
its `Outcome` carries the error instead of a result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from codehelm.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

Job = Callable[[T], Awaitable[R]]
Executor = Literal["local", "ray"]


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """What one input produced: `result`, or `error` (one line) if the job raised."""

    index: int
    item: T
    result: R | None = None
    error: str | None = None


OnDone = Callable[[Outcome[Any, Any]], None]


class BatchRunner(Protocol):
    async def run(
        self, job: Job[T, R], items: Sequence[T], *, on_done: OnDone | None = None
    ) -> list[Outcome[T, R]]:
        """Run `job` on every item; outcomes come back in input order."""
        ...


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class LocalBatchRunner:
    """Runs jobs in this event loop, at most `concurrency` at a time."""

    def __init__(self, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency

    async def run(
        self, job: Job[T, R], items: Sequence[T], *, on_done: OnDone | None = None
    ) -> list[Outcome[T, R]]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(index: int, item: T) -> Outcome[T, R]:
            async with gate:
                try:
                    outcome = Outcome(index, item, result=await job(item))
                except Exception as exc:
                    outcome = Outcome(index, item, error=_describe(exc))
            if on_done is not None:
                on_done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))


def _run_job(job: Job[T, R], item: T) -> R:
    """Runs on a Ray worker: the job gets an event loop of its own."""
    return asyncio.run(job(item))  # type: ignore[arg-type]


class RayBatchRunner:
    """Spreads jobs over a Ray cluster (`address`), or a local Ray instance when it is None.

    At most `concurrency` jobs are in flight (default: the cluster's CPU count);
    each reserves `cpus_per_job` CPUs. A job whose worker process dies (killed, out of
    memory, its node lost) runs again, up to `retries` times; a job that raises does not
    (its error is the outcome). A retried job starts over, so jobs should be idempotent:
    eval's jobs resume their checkpointed runs (`solve_once`).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        concurrency: int | None = None,
        cpus_per_job: float = 1.0,
        retries: int = 3,
    ) -> None:
        if retries < 0:
            raise ConfigError(f"retries must be 0 or more, not {retries}")
        self.address = address
        self.concurrency = concurrency
        self.cpus_per_job = cpus_per_job
        self.retries = retries

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("the ray executor needs ray: pip install 'codehelm[ray]'") from exc
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a new local instance"
                hint = (
                    "; a cluster with token authentication also needs RAY_AUTH_MODE=token and its"
                    " token here (~/.ray/auth_token or RAY_AUTH_TOKEN)"
                    if self.address
                    else ""
                )
                raise ConfigError(f"could not start or reach Ray at {where}: {exc}{hint}") from exc
        return ray

    async def run(
        self, job: Job[T, R], items: Sequence[T], *, on_done: OnDone | None = None
    ) -> list[Outcome[T, R]]:
        ray = self._ray()
        remote = ray.remote(
            num_cpus=self.cpus_per_job, max_retries=self.retries, retry_exceptions=False
        )(_run_job)
        limit = self.concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
        gate = asyncio.Semaphore(limit)

        async def one(index: int, item: T) -> Outcome[T, R]:
            async with gate:
                try:
                    outcome = Outcome(index, item, result=await remote.remote(job, item))
                except Exception as exc:
                    cause = getattr(exc, "cause", None) or exc
                    outcome = Outcome(index, item, error=_describe(cause))
            if on_done is not None:
                on_done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))


def make_batch_runner(
    executor: Executor = "local", *, concurrency: int = 4, ray_address: str | None = None
) -> BatchRunner:
    if executor == "local":
        if ray_address:
            raise ConfigError("--ray-address goes with --executor ray")
        return LocalBatchRunner(concurrency)
    if executor == "ray":
        return RayBatchRunner(ray_address, concurrency=concurrency)
    raise ConfigError(f"unknown executor {executor!r}; choose local or ray")
