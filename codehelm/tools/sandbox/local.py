"""`LocalSandbox`: stateful Python execution in a persistent worker process on this machine.

It is process isolation, not a security boundary: the worker runs as the current user
with a private workspace, a minimal environment (no API keys) and its own process group.
`_launch_argv` is the single place where processes are started, so a stricter backend
(bubblewrap) can wrap it without changing anything else.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from codehelm.errors import BadInputError, SandboxError
from codehelm.messages import Execution, ExecutionError
from codehelm.tools.sandbox._worker import HEADER, CappedText
from codehelm.tools.sandbox.base import CommandResult, FileInfo, FileStore

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
START_TIMEOUT = 30.0  # seconds for a fresh interpreter to say it is ready
INTERRUPT_GRACE = 0.25  # seconds a timed-out cell gets to report its partial output
STOP_TIMEOUT = 5.0  # seconds to wait for a killed process group to be reaped
EXIT_POLL = 0.05  # seconds between checks for an exit that `Process.wait()` misses
PIPE_GRACE = 0.5  # seconds to collect output still buffered after a command ends
LOST_STATE = "the interpreter was restarted and earlier variables are lost"


def _kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (processes we start lead their own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _cleanup(groups: set[int], workspace: Path | None) -> None:
    """Last-resort cleanup, also run at interpreter exit if `close()` was never awaited."""
    for pid in list(groups):
        _kill_group(pid)
    groups.clear()
    if workspace is not None:
        shutil.rmtree(workspace, ignore_errors=True)


def _confine(root: Path, path: str) -> Path:
    """Resolve `path` (relative to `root`, or absolute) and refuse anything outside `root`.

    Symlinks are resolved first, so a link pointing outside the workspace is refused too.
    """
    if "\x00" in path:
        raise BadInputError(f"invalid path (NUL byte): {path!r}")
    candidate = Path(path)
    try:
        full = (candidate if candidate.is_absolute() else root / candidate).resolve()
    except (OSError, RuntimeError) as exc:  # e.g. a symlink loop
        raise BadInputError(f"cannot resolve path {path!r}: {exc}") from exc
    if not full.is_relative_to(root):
        raise BadInputError(f"path is outside the sandbox workspace: {path!r}")
    return full


class WorkspaceFiles:
    """The sandbox workspace as a `FileStore`. Every path is confined to the workspace root.

    Confinement is checked when a path is resolved; it does not defend against code in the
    sandbox racing to swap symlinks (an isolating backend closes that gap).
    """

    def __init__(self, root: Path, is_open: Callable[[], bool]) -> None:
        self.root = root
        self._is_open = is_open

    def _path(self, path: str) -> Path:
        if not self._is_open():
            raise SandboxError("the sandbox is closed")
        return _confine(self.root, path)

    async def read(self, path: str) -> str:
        """Read a text file as UTF-8; undecodable bytes become U+FFFD."""
        data = await self.read_bytes(path)
        return data.decode("utf-8", errors="replace")

    async def read_bytes(self, path: str) -> bytes:
        full = self._path(path)
        try:
            return await asyncio.to_thread(full.read_bytes)
        except FileNotFoundError:
            raise BadInputError(f"no such file in the sandbox workspace: {path}") from None
        except IsADirectoryError:
            raise BadInputError(f"is a directory, not a file: {path}") from None

    async def write(self, path: str, data: str | bytes) -> None:
        """Write a file, creating parent directories. `str` is written as UTF-8."""
        full = self._path(path)
        if full == self.root:
            raise BadInputError(f"cannot write to the workspace root: {path!r}")
        payload = data.encode("utf-8") if isinstance(data, str) else data

        def write() -> None:
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(payload)

        try:
            await asyncio.to_thread(write)
        except IsADirectoryError:
            raise BadInputError(f"is a directory, not a file: {path}") from None
        except (FileExistsError, NotADirectoryError) as exc:
            raise BadInputError(f"cannot write {path}: {exc}") from None

    async def list(self, path: str = ".") -> list[FileInfo]:
        """Entries directly inside a directory (not recursive), sorted by path."""
        full = self._path(path)

        def scan() -> list[FileInfo]:
            infos = []
            with os.scandir(full) as entries:
                for entry in entries:
                    stat = entry.stat(follow_symlinks=False)
                    infos.append(
                        FileInfo(
                            path=(full / entry.name).relative_to(self.root).as_posix(),
                            is_dir=entry.is_dir(follow_symlinks=False),
                            size=stat.st_size,
                        )
                    )
            return sorted(infos, key=lambda info: info.path)

        try:
            return await asyncio.to_thread(scan)
        except FileNotFoundError:
            raise BadInputError(f"no such directory in the sandbox workspace: {path}") from None
        except NotADirectoryError:
            raise BadInputError(f"not a directory: {path}") from None


class _Worker:
    """A running worker process and the two ends of its protocol."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        # Resolves once the process exited *and* closed its pipes (asyncio's `wait()`).
        self.exited: asyncio.Future[int] = asyncio.ensure_future(proc.wait())

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        data = json.dumps(message).encode()
        self.proc.stdin.write(HEADER.pack(len(data)) + data)
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        header = await self.proc.stdout.readexactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        reply: dict[str, Any] = json.loads(await self.proc.stdout.readexactly(size))
        return reply


class LocalSandbox:
    """A `Sandbox` backed by a persistent Python worker subprocess.

    Variables persist between `run_code` calls like a notebook kernel. On a timeout or a
    crash the worker is killed and replaced on the next call, and the `Execution` says
    `state_lost=True`. Neither the worker nor shell commands inherit the host
    environment: they get a minimal one plus `env`, so API keys never reach them.
    """

    def __init__(
        self,
        *,
        workspace: Path | None = None,
        timeout: float = 10.0,
        max_output_chars: int = 20_000,
        env: dict[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise BadInputError(f"sandbox timeout must be positive, got {timeout}")
        if max_output_chars < 0:
            raise BadInputError(f"max_output_chars must be >= 0, got {max_output_chars}")
        created = workspace is None
        if workspace is None:
            workspace = Path(tempfile.mkdtemp(prefix="codehelm-sbx-"))
        else:
            workspace.mkdir(parents=True, exist_ok=True)
        self.workspace: Path = workspace.resolve()
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.files: FileStore = WorkspaceFiles(self.workspace, lambda: not self._closed)
        host_path = os.environ.get("PATH", os.defpath)
        self._env = {
            # The venv's bin first, so `python` / `pip` in commands mean this interpreter.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), host_path]),
            "HOME": str(self.workspace),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        self._lock = asyncio.Lock()
        self._worker: _Worker | None = None
        self._state_lost = False  # the worker was discarded without an Execution saying so
        self._closed = False
        self._groups: set[int] = set()  # live process groups, for the last-resort cleanup
        self._finalizer = weakref.finalize(
            self, _cleanup, self._groups, self.workspace if created else None
        )

    def _launch_argv(self, inner: list[str]) -> list[str]:
        """The argv that starts `inner` (the worker or a shell command) in the sandbox.

        The one hook for isolation: a bubblewrap backend overrides this to prefix `bwrap ...`.
        """
        return list(inner)

    async def _spawn(
        self, inner: list[str], *, cwd: Path, stdin: int
    ) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._launch_argv(inner),
                stdin=stdin,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=self._env,
                start_new_session=True,  # own process group: one killpg ends all it spawned
            )
        except OSError as exc:
            raise SandboxError(f"could not start a sandbox process: {exc}") from exc
        self._groups.add(proc.pid)
        return proc

    # -- the worker ---------------------------------------------------------------------

    async def _start_worker(self) -> _Worker:
        # -s: no user site-packages; -P: neither the script's dir nor cwd is put on sys.path
        # (the worker adds the workspace itself); -B: no .pyc files.
        inner = [sys.executable, "-s", "-P", "-B", str(WORKER_SCRIPT)]
        worker = _Worker(
            await self._spawn(inner, cwd=self.workspace, stdin=asyncio.subprocess.PIPE)
        )
        try:
            hello = await asyncio.wait_for(worker.receive(), START_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            await self._stop(worker)
            assert worker.proc.stderr is not None
            try:
                output = await asyncio.wait_for(worker.proc.stderr.read(), PIPE_GRACE)
            except TimeoutError:
                output = b""
            detail = output.decode(errors="replace").strip()
            reason = "timed out" if isinstance(exc, TimeoutError) else "failed"
            raise SandboxError(
                f"the sandbox's Python worker {reason} to start"
                + (f": {detail[-2000:]}" if detail else "")
            ) from exc
        except BaseException:
            await self._stop(worker)
            raise
        if "ready" not in hello:
            await self._stop(worker)
            raise SandboxError(f"unexpected greeting from the sandbox worker: {hello!r}")
        return worker

    async def _stop(self, worker: _Worker) -> None:
        """Kill the worker's whole process group and reap it."""
        _kill_group(worker.proc.pid)
        await _wait_exit(worker.proc, STOP_TIMEOUT)
        self._groups.discard(worker.proc.pid)
        worker.exited.cancel()
        if worker.proc.stdin is not None:
            worker.proc.stdin.close()

    async def _discard_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await self._stop(worker)

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution:
        """Run `code` in the persistent interpreter.

        Returns stdout, stderr, the repr of a trailing expression (in `results`) and any
        exception. The caller sets `action_id`.
        """
        if language.lower() != "python":
            raise BadInputError(
                f"LocalSandbox runs only Python code, not {language!r}; "
                "use run_command for shell commands"
            )
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise BadInputError(f"timeout must be positive, got {limit}")
        async with self._lock:
            self._check_open()
            state_lost = self._state_lost
            if self._worker is not None and self._worker.proc.returncode is not None:
                await self._discard_worker()  # it died while idle: its state is gone
                state_lost = True
            if self._worker is None:
                self._worker = await self._start_worker()
            self._state_lost = False
            worker = self._worker
            started = time.perf_counter()
            receiving = asyncio.ensure_future(worker.receive())
            try:
                await worker.send({"code": code, "max_chars": self.max_output_chars})
                done = await _first_of(receiving, worker.exited, timeout=limit)
                if receiving in done and receiving.exception() is None:
                    return self._execution(receiving.result(), started, state_lost=state_lost)
                if not done:
                    return await self._timed_out(worker, receiving, limit, started)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker died before reading the request
            except BaseException:
                # Cancelled mid-run: the worker is still busy with this cell, so drop it.
                receiving.cancel()
                await self._discard_worker()
                self._state_lost = True
                raise
            receiving.cancel()
            return await self._died(worker, started)

    async def _timed_out(
        self,
        worker: _Worker,
        receiving: asyncio.Future[dict[str, Any]],
        limit: float,
        started: float,
    ) -> Execution:
        # Interrupt first so the cell reports its output so far and where it was stuck,
        # then kill the process group regardless: the spec is a clean restart.
        reply: dict[str, Any] = {}
        try:
            os.kill(worker.proc.pid, signal.SIGINT)
            done = await _first_of(receiving, worker.exited, timeout=INTERRUPT_GRACE)
            if receiving in done and receiving.exception() is None:
                reply = receiving.result()
        except ProcessLookupError:
            pass
        finally:
            receiving.cancel()
            await self._discard_worker()
        traceback = (reply.get("error") or {}).get("traceback", "")
        return Execution(
            action_id="",
            stdout=reply.get("stdout", ""),
            stderr=reply.get("stderr", ""),
            error=ExecutionError(
                name="TimeoutError",
                value=f"execution exceeded {limit} s; {LOST_STATE}",
                traceback=traceback,
            ),
            duration_ms=(time.perf_counter() - started) * 1000,
            timed_out=True,
            state_lost=True,
        )

    async def _died(self, worker: _Worker, started: float) -> Execution:
        await self._discard_worker()
        if self._closed:
            raise SandboxError("the sandbox was closed while code was running")
        code = worker.proc.returncode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return Execution(
            action_id="",
            error=ExecutionError(
                name="WorkerDied",
                value=f"the Python worker {how} during execution; {LOST_STATE}",
            ),
            duration_ms=(time.perf_counter() - started) * 1000,
            state_lost=True,
        )

    @staticmethod
    def _execution(reply: dict[str, Any], started: float, *, state_lost: bool) -> Execution:
        error = reply.get("error")
        return Execution(
            action_id="",
            stdout=reply["stdout"],
            stderr=reply["stderr"],
            results=reply["results"],
            error=ExecutionError(**error) if error else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            state_lost=state_lost,
        )

    # -- shell commands -----------------------------------------------------------------

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        """Run `cmd` with /bin/sh in the workspace (or `cwd` inside it).

        The command runs in its own process group, which is killed when the command
        returns, so background processes it started (`cmd &`) do not outlive it; start
        long-running processes from `run_code` instead.
        """
        self._check_open()
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise BadInputError(f"timeout must be positive, got {limit}")
        workdir = _confine(self.workspace, cwd or ".")
        if not workdir.is_dir():
            raise BadInputError(f"not a directory in the sandbox workspace: {cwd}")
        started = time.perf_counter()
        proc = await self._spawn(
            ["/bin/sh", "-c", cmd], cwd=workdir, stdin=asyncio.subprocess.DEVNULL
        )
        assert proc.stdout is not None and proc.stderr is not None
        out, err = CappedText(self.max_output_chars), CappedText(self.max_output_chars)
        pumps = {
            asyncio.ensure_future(_pump(proc.stdout, out)),
            asyncio.ensure_future(_pump(proc.stderr, err)),
        }
        try:
            exit_code = await _wait_exit(proc, limit)
        finally:
            _kill_group(proc.pid)
            self._groups.discard(proc.pid)
            # Output still in the pipes arrives until every writer is gone; a process
            # that escaped the group (setsid) could hold them open, so don't wait long.
            _, pending = await asyncio.wait(pumps, timeout=PIPE_GRACE)
            for pump in pending:
                pump.cancel()
        return CommandResult(
            command=cmd,
            exit_code=exit_code,
            stdout=out.text(),
            stderr=err.text(),
            duration_ms=(time.perf_counter() - started) * 1000,
            timed_out=exit_code is None,
        )

    # -- lifecycle ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox is closed")

    async def close(self) -> None:
        """Kill the worker and everything it spawned; remove the workspace if we created it."""
        if self._closed:
            return
        self._closed = True
        await self._discard_worker()
        self._finalizer()  # kills leftover process groups, removes our temporary workspace

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _wait_exit(proc: asyncio.subprocess.Process, timeout: float) -> int | None:
    """The exit code, or None if the process is still running after `timeout` seconds.

    `Process.wait()` also waits for the process's pipes to close, which a background
    child holding them can delay indefinitely; `returncode` is set at exit, so poll it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    waiting = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.wait({waiting}, timeout=min(remaining, EXIT_POLL))
        return proc.returncode
    finally:
        waiting.cancel()


async def _first_of(*futures: asyncio.Future[Any], timeout: float) -> set[asyncio.Future[Any]]:
    """Wait until one of `futures` is done or `timeout` passes; return those done."""
    done, _ = await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    return done


async def _pump(stream: asyncio.StreamReader, sink: CappedText) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while chunk := await stream.read(65536):
        sink.add(decoder.decode(chunk))
    sink.add(decoder.decode(b"", final=True))
