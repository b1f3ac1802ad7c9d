"""The `Sandbox` protocol: stateful code execution, shell commands and workspace files.

It mirrors E2B's code interpreter so local and remote backends are interchangeable.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict

from codehelm.messages import Execution


class CommandResult(BaseModel):
    """Outcome of a shell command run inside a sandbox."""

    model_config = ConfigDict(frozen=True)

    command: str
    exit_code: int | None  # None when the command was killed by the timeout
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class FileInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str  # relative to the workspace root
    is_dir: bool
    size: int


@runtime_checkable
class FileStore(Protocol):
    """Files of a sandbox's workspace. Paths are relative to the workspace root."""

    async def read(self, path: str) -> str: ...

    async def read_bytes(self, path: str) -> bytes: ...

    async def write(self, path: str, data: str | bytes) -> None: ...

    async def list(self, path: str = ".") -> list[FileInfo]: ...


class ClosesOnExit:
    """`async with` support for a class with an async `close()`: the context closes it."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@runtime_checkable
class Sandbox(Protocol):
    """Stateful execution: variables persist between `run_code` calls, like a notebook kernel."""

    @property
    def files(self) -> FileStore: ...

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution: ...

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult: ...

    def sibling(self) -> Sandbox:
        """A new, empty sandbox configured like this one (its own interpreter and workspace),
        for work that must leave this one untouched, such as verification. Close it after."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
