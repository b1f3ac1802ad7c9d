"""The model and sandbox of the run in progress, so that one compiled graph serves many runs.

Building and compiling the solve graph costs more than a scripted run's four agent steps, so
the runner compiles it once per settings and event loop (`SharedGraphs`), with `RunModel()` and
`RunSandbox()` in place of a run's own model and sandbox: each call goes to the ones the
runner bound for the run that makes it (`bind_run`, a context variable, so concurrent runs in
their own tasks never see each other's).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from codehelm.chat import ChatMessage
from codehelm.messages import Execution
from codehelm.models.gateway import Completion, ModelClient, Structured
from codehelm.tools.sandbox.base import ClosesOnExit, CommandResult, FileStore, Sandbox

T = TypeVar("T", bound=BaseModel)
G = TypeVar("G")

_bound: ContextVar[tuple[ModelClient, Sandbox]] = ContextVar("codehelm_run_tools")


@contextmanager
def bind_run(model: ModelClient, sandbox: Sandbox) -> Iterator[None]:
    """Within the block (and the tasks it starts), `RunModel` and `RunSandbox` are these."""
    token = _bound.set((model, sandbox))
    try:
        yield
    finally:
        _bound.reset(token)


def _current() -> tuple[ModelClient, Sandbox]:
    try:
        return _bound.get()
    except LookupError:
        raise RuntimeError(
            "a shared graph's model or sandbox was used outside a run: run the graph with"
            " codehelm's runner (solve, resume), which binds them"
        ) from None


class RunModel:
    """A `ModelClient` that is the current run's model."""

    @property
    def name(self) -> str:
        return _current()[0].name

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion:
        return await _current()[0].complete(messages, agent=agent, **params)

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]:
        return await _current()[0].structured(messages, schema, agent=agent, **params)


class RunSandbox(ClosesOnExit):
    """A `Sandbox` that is the current run's sandbox."""

    @property
    def files(self) -> FileStore:
        return _current()[1].files

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution:
        return await _current()[1].run_code(code, language=language, timeout=timeout)

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        return await _current()[1].run_command(cmd, timeout=timeout, cwd=cwd)

    def sibling(self) -> Sandbox:
        return _current()[1].sibling()

    async def close(self) -> None:
        await _current()[1].close()


class SharedGraphs:
    """Compiled graphs kept per event loop and key: a graph's agents may hold objects bound to
    the loop they first ran on, so another loop (another `asyncio.run`) builds its own."""

    def __init__(self, size: int = 16) -> None:
        self.size = size  # graphs kept per loop; the oldest goes first
        self._graphs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, key: str, build: Callable[[], G]) -> G:
        """The graph kept under `key` for this loop, built by `build()` the first time."""
        graphs = self._graphs.setdefault(asyncio.get_running_loop(), {})
        if key not in graphs:
            if len(graphs) >= self.size:
                del graphs[next(iter(graphs))]
            graphs[key] = build()
        graph: G = graphs[key]
        return graph
