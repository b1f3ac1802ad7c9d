"""`E2BSandbox`: the `Sandbox` protocol on E2B's cloud code interpreter.

Code runs in a Jupyter (IPython) kernel inside a remote E2B microVM, so variables
persist between `run_code` calls exactly as with `LocalSandbox`. Differences worth
knowing, all of them E2B's behaviour:

- Results are `repr()` of the value, as with `LocalSandbox`: each new kernel gets an
  IPython formatter that adds it to every result (E2B's own `text/plain` is IPython's pretty
  form, which breaks long lists over lines, and E2B's server strips the quotes off a
  string's, so `'a'` would read `a`). Display outputs (e.g. a plot's `<Figure ...>`) are
  results too. Tracebacks are IPython's, with colour codes removed.
- On a timeout the kernel is removed and a fresh one starts on the next call, so the
  `Execution` says `state_lost=True` (as `LocalSandbox` does); files are kept.
- Paths are confined to the workspace lexically (`..` and absolute paths outside it are
  refused); symlinks are not resolved, since they can only point inside the remote VM.
- A shell command that starts a background process (`cmd &`) runs until that process
  exits or the timeout, because the process keeps the command's output open. Start
  long-running processes from `run_code` instead.
- The VM gets only the `env` given here: nothing from the host's environment.

The SDK (`pip install 'codehelm[e2b]'`) is imported on first use only, so importing
codehelm stays fast without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import re
import shlex
import time
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from codehelm.errors import BadInputError, MissingAPIKeyError, SandboxError
from codehelm.messages import Execution, ExecutionError
from codehelm.tools.sandbox.base import ClosesOnExit, CommandResult, FileInfo, FileStore
from codehelm.tools.sandbox.output import CappedText, clip

if TYPE_CHECKING:
    from e2b_code_interpreter import AsyncSandbox
    from e2b_code_interpreter.models import Context
    from e2b_code_interpreter.models import Execution as E2BExecution
    from e2b_code_interpreter.models import Result as E2BResult

    from codehelm.config import Settings

__all__ = ["DEFAULT_WORKSPACE", "REPR_MIME", "E2BFiles", "E2BSandbox", "execution_from_e2b"]

DEFAULT_WORKSPACE = "/home/user/workspace"
MISSING_KEY = (
    "the e2b sandbox needs E2B_API_KEY set in the environment (get one at e2b.dev) "
    "or --sandbox local"
)
MISSING_SDK = (
    "the e2b sandbox needs the E2B SDK: pip install 'codehelm[e2b]' (or use --sandbox local)"
)
LOST_STATE = "the interpreter was restarted and earlier variables are lost"  # as LocalSandbox
KERNEL_RESTARTED = "ContextRestarting"  # E2B's error name when the kernel died and restarted
SDK_GRACE = 30.0  # extra seconds on the SDK's own timeouts, so ours always fire first
KILL_GRACE = 2.0  # seconds to collect a killed command's last output
CLEANUP_TIMEOUT = 30.0  # seconds for removing a stuck kernel or killing the sandbox
MESSAGE_CHARS = 300  # longest SDK message quoted in our one-line errors
HEALTH_TIMEOUT = 5.0  # seconds for asking envd whether the sandbox still runs

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# Results carry `repr()` of the value under this MIME type, which E2B passes on untouched
# (in `Result.extra`): the code below runs once in each new kernel to add it.
REPR_MIME = "text/x-codehelm-repr"
REPR_SETUP = f"""\
def _codehelm_setup():
    from IPython import get_ipython
    from IPython.core.formatters import BaseFormatter
    shell = get_ipython()
    formatter = BaseFormatter(parent=shell.display_formatter)
    formatter.format_type = {REPR_MIME!r}
    formatter.for_type(object, repr)
    shell.display_formatter.formatters[{REPR_MIME!r}] = formatter
try:
    _codehelm_setup()
finally:
    del _codehelm_setup
"""


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type), clipped for error messages."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


def _result_text(result: E2BResult) -> str | None:
    """`repr()` of a result's value where the kernel added it, else E2B's `text`."""
    exact = (result.extra or {}).get(REPR_MIME)
    return exact if isinstance(exact, str) else result.text


def execution_from_e2b(execution: E2BExecution, duration_ms: float, max_chars: int) -> Execution:
    """Map an E2B `Execution` to ours; output past `max_chars` keeps its head and tail.

    stdout and stderr are the joined log chunks, `results` the text form of every result
    that has one (`repr()` of the value when the kernel added it under `REPR_MIME`), and a
    kernel that died mid-execution becomes a `WorkerDied` error with `state_lost=True`.
    The caller sets `action_id`.
    """
    error: ExecutionError | None = None
    state_lost = False
    if execution.error is not None:
        name = execution.error.name or "Error"
        if name == KERNEL_RESTARTED:
            error = ExecutionError(
                name="WorkerDied",
                value=f"the Python kernel died or was restarted during execution; {LOST_STATE}",
            )
            state_lost = True
        else:
            traceback = _ANSI.sub("", execution.error.traceback or "")
            error = ExecutionError(
                name=name,
                value=clip(execution.error.value or "", max_chars),
                traceback=clip(traceback, max_chars),
            )
    return Execution(
        action_id="",
        stdout=clip("".join(execution.logs.stdout), max_chars),
        stderr=clip("".join(execution.logs.stderr), max_chars),
        results=[
            clip(text, max_chars)
            for text in map(_result_text, execution.results)
            if text is not None
        ],
        error=error,
        duration_ms=duration_ms,
        state_lost=state_lost,
    )


def _confine(root: str, path: str) -> str:
    """The absolute path of `path` (relative to `root`, or absolute) if it is inside `root`."""
    if "\x00" in path:
        raise BadInputError(f"invalid path (NUL byte): {path!r}")
    full = posixpath.normpath(posixpath.join(root, path))
    if full != root and not full.startswith(root.rstrip("/") + "/"):
        raise BadInputError(f"path is outside the sandbox workspace: {path!r}")
    return full


def _in_own_session(cmd: str) -> str:
    """Run `cmd` as the leader of a new session, so a timeout can kill all it started.

    The SDK runs commands as `bash -l -c <cmd>`; `exec setsid` keeps the pid the SDK
    reports and makes it the process group id. Without `setsid`, `cmd` runs as is.
    """
    quoted = shlex.quote(cmd)
    return (
        f"if command -v setsid >/dev/null 2>&1; then exec setsid -w /bin/bash -c {quoted}; "
        f"else exec /bin/bash -c {quoted}; fi"
    )


def _kill_orphan(sandbox_id: str, api_key: str) -> None:
    """Last resort when `close()` was never awaited: kill the remote sandbox (blocking)."""
    with contextlib.suppress(Exception):
        from e2b import Sandbox as SyncSandbox

        SyncSandbox.kill(sandbox_id, api_key=api_key, request_timeout=10)


class E2BFiles:
    """The sandbox workspace as a `FileStore`; every path is confined to the workspace."""

    def __init__(self, owner: E2BSandbox) -> None:
        self._owner = owner

    async def read(self, path: str) -> str:
        """Read a text file as UTF-8; undecodable bytes become U+FFFD."""
        data = await self.read_bytes(path)
        return data.decode("utf-8", errors="replace")

    async def read_bytes(self, path: str) -> bytes:
        full = self._owner._path(path)
        remote = await self._owner._remote()
        from e2b import InvalidArgumentException, NotFoundException

        try:
            data = await remote.files.read(full, format="bytes")
        except NotFoundException:
            raise BadInputError(f"no such file in the sandbox workspace: {path}") from None
        except InvalidArgumentException as exc:  # e.g. a directory
            raise BadInputError(f"cannot read {path}: {_one_line(exc)}") from None
        except Exception as exc:
            raise self._owner._failure("read a file", exc) from exc
        return bytes(data)

    async def write(self, path: str, data: str | bytes) -> None:
        """Write a file, creating parent directories. `str` is written as UTF-8."""
        full = self._owner._path(path)
        if full == self._owner.workspace:
            raise BadInputError(f"cannot write to the workspace root: {path!r}")
        payload = data.encode("utf-8") if isinstance(data, str) else data
        remote = await self._owner._remote()
        from e2b import InvalidArgumentException

        try:
            await remote.files.write(full, payload)
        except InvalidArgumentException as exc:  # e.g. the path is a directory
            raise BadInputError(f"cannot write {path}: {_one_line(exc)}") from None
        except Exception as exc:
            blocking = await self._file_on_the_way(remote, full)
            if blocking is not None:  # envd says only "error ensuring directories" (500)
                rel = posixpath.relpath(blocking, self._owner.workspace)
                raise BadInputError(f"cannot write {path}: {rel} is not a directory") from None
            raise self._owner._failure("write a file", exc) from exc

    @staticmethod
    async def _file_on_the_way(remote: AsyncSandbox, full: str) -> str | None:
        """The nearest existing parent of `full` if it is not a directory (after a failed
        write, to tell bad input from a failure); None if there is none or it is unknown."""
        from e2b import FileType, NotFoundException

        parent = posixpath.dirname(full)
        while parent != "/":
            try:
                info = await remote.files.get_info(parent)
            except NotFoundException:
                parent = posixpath.dirname(parent)
                continue
            except Exception:
                return None
            return parent if info.type != FileType.DIR else None
        return None

    async def list(self, path: str = ".") -> list[FileInfo]:
        """Entries directly inside a directory (not recursive), sorted by path."""
        full = self._owner._path(path)
        remote = await self._owner._remote()
        from e2b import FileType, InvalidArgumentException, NotFoundException

        try:
            entries = await remote.files.list(full)
        except NotFoundException:
            raise BadInputError(f"no such directory in the sandbox workspace: {path}") from None
        except InvalidArgumentException:
            raise BadInputError(f"not a directory: {path}") from None
        except Exception as exc:
            raise self._owner._failure("list a directory", exc) from exc
        root = self._owner.workspace
        infos = [
            FileInfo(
                path=posixpath.relpath(posixpath.join(full, entry.name), root),
                is_dir=entry.type == FileType.DIR,
                size=entry.size,
            )
            for entry in entries
        ]
        return sorted(infos, key=lambda info: info.path)


class E2BSandbox(ClosesOnExit):
    """A `Sandbox` backed by an E2B cloud sandbox (`e2b_code_interpreter.AsyncSandbox`).

    The remote sandbox starts on first use (or `start()`) and lives until `close()` or
    `sandbox_timeout` seconds after it started, whichever comes first. `api_key` falls
    back to `E2B_API_KEY`, the E2B SDK's own default.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> E2BSandbox:
        """The sandbox a run uses (`--sandbox e2b`): it lives as long as the run may, plus
        five minutes. Needs `E2B_API_KEY`."""
        if not settings.e2b_api_key:
            raise MissingAPIKeyError(
                "the e2b sandbox needs E2B_API_KEY set in the environment, or use --sandbox local"
            )
        return cls(
            api_key=settings.e2b_api_key,
            timeout=settings.exec_timeout,
            sandbox_timeout=int(settings.max_seconds or 600) + 300,
        )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template: str | None = None,
        timeout: float = 10.0,
        sandbox_timeout: int = 900,
        max_output_chars: int = 20_000,
        workspace: str = DEFAULT_WORKSPACE,
        env: dict[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise BadInputError(f"sandbox timeout must be positive, got {timeout}")
        if sandbox_timeout <= 0:
            raise BadInputError(f"sandbox_timeout must be positive, got {sandbox_timeout}")
        if max_output_chars < 0:
            raise BadInputError(f"max_output_chars must be >= 0, got {max_output_chars}")
        if not posixpath.isabs(workspace):
            raise BadInputError(f"the e2b workspace must be an absolute path, got {workspace!r}")
        self.workspace: str = posixpath.normpath(workspace)
        self.template = template
        self.timeout = timeout
        self.sandbox_timeout = sandbox_timeout
        self.max_output_chars = max_output_chars
        self.files: FileStore = E2BFiles(self)
        self._api_key = api_key
        self._env = dict(env or {})
        self._options: dict[str, Any] = {
            "api_key": api_key,
            "template": template,
            "timeout": timeout,
            "sandbox_timeout": sandbox_timeout,
            "max_output_chars": max_output_chars,
            "workspace": workspace,
            "env": env,
        }
        self._sandbox: AsyncSandbox | None = None
        self._context: Context | None = None  # our Python kernel, started at the workspace
        self._background: set[asyncio.Future[None]] = set()  # kernel removals, command kills
        self._lock = asyncio.Lock()  # one execution at a time, as in a notebook
        self._create_lock = asyncio.Lock()
        self._state_lost = False  # a kernel was discarded without an Execution saying so
        self._closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def sibling(self) -> E2BSandbox:
        """Another remote sandbox with this one's options (started on first use)."""
        return E2BSandbox(**self._options)

    # -- the remote sandbox -------------------------------------------------------------

    async def start(self) -> None:
        """Start the remote sandbox now rather than on first use."""
        await self._remote()

    async def _remote(self) -> AsyncSandbox:
        self._check_open()
        if self._sandbox is None:
            async with self._create_lock:
                if self._sandbox is None:
                    remote = await self._create()
                    if self._closed:  # closed while it was starting
                        await self._kill(remote)
                        raise SandboxError("the sandbox is closed")
                    self._sandbox = remote
        return self._sandbox

    async def _create(self) -> AsyncSandbox:
        # The E2B SDK's documented default; an explicit `api_key` always wins.
        key = self._api_key if self._api_key is not None else os.environ.get("E2B_API_KEY")
        if not key:
            raise MissingAPIKeyError(MISSING_KEY)
        try:
            import httpx
            from e2b import AuthenticationException, TimeoutException
            from e2b_code_interpreter import AsyncSandbox
        except ImportError as exc:
            raise BadInputError(MISSING_SDK) from exc
        try:
            remote = await AsyncSandbox.create(
                template=self.template,
                timeout=self.sandbox_timeout,
                envs=self._env or None,
                api_key=key,
            )
        except AuthenticationException as exc:
            raise MissingAPIKeyError(
                f"E2B rejected the API key ({_one_line(exc)}); check E2B_API_KEY "
                "(get one at e2b.dev) or use --sandbox local"
            ) from exc
        except (httpx.TransportError, TimeoutException) as exc:
            raise SandboxError(
                f"could not reach E2B to start a sandbox ({_one_line(exc)}); "
                "check the network connection or use --sandbox local"
            ) from exc
        except Exception as exc:
            template = f" from template {self.template!r}" if self.template else ""
            raise SandboxError(
                f"E2B could not start a sandbox{template}: {_one_line(exc)}"
            ) from exc
        self._finalizer = weakref.finalize(self, _kill_orphan, remote.sandbox_id, key)
        try:
            await remote.files.make_dir(self.workspace)
        except Exception as exc:
            await self._kill(remote)
            raise SandboxError(
                f"could not create the workspace {self.workspace} in the E2B sandbox: "
                f"{_one_line(exc)}"
            ) from exc
        return remote

    async def _kill(self, remote: AsyncSandbox) -> None:
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT):
                await remote.kill()
        except Exception:
            return  # the finalizer retries at exit; E2B ends it at its lifetime anyway
        if self._finalizer is not None:
            self._finalizer.detach()

    def _failure(self, action: str, exc: BaseException, *, gone: bool = False) -> SandboxError:
        """A one-line `SandboxError` for an SDK failure while doing `action`; `gone`: the
        sandbox is known to have ended."""
        if self._closed:
            return SandboxError(f"the sandbox was closed while it was busy ({action})")
        import e2b

        if gone or isinstance(exc, getattr(e2b, "SandboxNotRunningException", ())):
            return SandboxError(
                "the E2B sandbox is no longer running (it was killed or reached its "
                f"{self.sandbox_timeout} s lifetime); start a new sandbox"
            )
        return SandboxError(f"the E2B sandbox could not {action}: {_one_line(exc)}")

    async def _code_failure(
        self, remote: AsyncSandbox, action: str, exc: BaseException
    ) -> SandboxError:
        """`_failure` for a call to the code interpreter, whose errors do not say that the
        sandbox has ended (E2B's "sandbox not found" is a timeout there): envd is asked."""
        running = True
        if not self._closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    running = await remote.is_running(request_timeout=HEALTH_TIMEOUT)
        return self._failure(action, exc, gone=not running)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run cleanup `work` without waiting; the next execution and `close()` wait for it."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _path(self, path: str) -> str:
        self._check_open()
        return _confine(self.workspace, path)

    def _limit(self, timeout: float | None) -> float:
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise BadInputError(f"timeout must be positive, got {limit}")
        return limit

    # -- code ---------------------------------------------------------------------------

    async def _code_context(self, remote: AsyncSandbox) -> Context:
        """Our Python kernel, started with the workspace as its working directory and
        results in `repr()` form (`REPR_SETUP`)."""
        if self._background:  # let a discarded, possibly busy kernel go first
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._context is None:
            try:
                self._context = await remote.create_code_context(
                    cwd=self.workspace, language="python"
                )
                # An error inside the kernel leaves E2B's own result text in use.
                await remote.run_code(REPR_SETUP, context=self._context, timeout=CLEANUP_TIMEOUT)
            except Exception as exc:
                self._discard_context()
                raise await self._code_failure(remote, "start a Python kernel", exc) from exc
        return self._context

    def _discard_context(self) -> None:
        """Forget the kernel (it may still be running a cell) and remove it in the background."""
        context, self._context = self._context, None
        remote = self._sandbox
        if context is None or remote is None:
            return

        async def remove() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLEANUP_TIMEOUT):
                    await remote.remove_code_context(context)

        self._in_background(remove())

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution:
        """Run `code` in the persistent kernel; the caller sets `action_id`."""
        if language.lower() != "python":
            raise BadInputError(
                f"E2BSandbox runs only Python code, not {language!r}; "
                "use run_command for shell commands"
            )
        limit = self._limit(timeout)
        async with self._lock:
            remote = await self._remote()
            context = await self._code_context(remote)
            state_lost, self._state_lost = self._state_lost, False
            stdout: list[str] = []
            stderr: list[str] = []
            started = time.perf_counter()
            try:
                async with asyncio.timeout(limit) as deadline:
                    result = await remote.run_code(
                        code,
                        context=context,
                        on_stdout=lambda message: stdout.append(message.line),
                        on_stderr=lambda message: stderr.append(message.line),
                        timeout=limit + SDK_GRACE,
                    )
            except TimeoutError:
                if not deadline.expired():
                    self._discard_context()
                    self._state_lost = True
                    raise SandboxError("the E2B sandbox timed out unexpectedly") from None
                self._discard_context()
                return Execution(
                    action_id="",
                    stdout=clip("".join(stdout), self.max_output_chars),
                    stderr=clip("".join(stderr), self.max_output_chars),
                    error=ExecutionError(
                        name="TimeoutError",
                        value=f"execution exceeded {limit} s; {LOST_STATE}",
                    ),
                    duration_ms=(time.perf_counter() - started) * 1000,
                    timed_out=True,
                    state_lost=True,
                )
            except Exception as exc:
                self._discard_context()
                self._state_lost = True
                raise await self._code_failure(remote, "run code", exc) from exc
            except BaseException:
                # Cancelled mid-run: the kernel is still busy with this cell, so drop it.
                self._discard_context()
                self._state_lost = True
                raise
            execution = execution_from_e2b(
                result, (time.perf_counter() - started) * 1000, self.max_output_chars
            )
            if execution.state_lost:  # the kernel died; start a clean one next time
                self._discard_context()
                return execution
            return execution.model_copy(update={"state_lost": state_lost})

    # -- shell commands -----------------------------------------------------------------

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        """Run `cmd` with bash in the workspace (or `cwd` inside it).

        A non-zero exit code is a result, not an error. On a timeout the command's whole
        process group is killed and `exit_code` is None.
        """
        limit = self._limit(timeout)
        workdir = self._path(cwd or ".")
        remote = await self._remote()
        from e2b import CommandExitException, FileType, InvalidArgumentException, NotFoundException

        not_a_dir = BadInputError(f"not a directory in the sandbox workspace: {cwd}")
        if workdir != self.workspace:
            try:
                info = await remote.files.get_info(workdir)
            except NotFoundException:
                raise not_a_dir from None
            except Exception as exc:
                raise self._failure("run a command", exc) from exc
            if info.type != FileType.DIR:
                raise not_a_dir
        out, err = CappedText(self.max_output_chars), CappedText(self.max_output_chars)
        started = time.perf_counter()
        starting = asyncio.ensure_future(
            remote.commands.run(
                _in_own_session(cmd),
                background=True,
                cwd=workdir,
                on_stdout=out.add,
                on_stderr=err.add,
                timeout=limit + SDK_GRACE,
            )
        )
        try:
            # Shielded: a cancellation that reached the SDK while it waits for the start
            # event could be lost (Python 3.11's `wait_for`) or leave the command running.
            handle = await asyncio.shield(starting)
        except asyncio.CancelledError:
            self._in_background(self._abandon_start(remote, starting))
            raise
        except InvalidArgumentException:  # the directory vanished meanwhile
            raise not_a_dir from None
        except Exception as exc:
            raise self._failure("run a command", exc) from exc
        waiting = asyncio.ensure_future(handle.wait())
        exit_code: int | None = None
        try:
            done, _ = await asyncio.wait({waiting}, timeout=limit)
            if done:
                try:
                    exit_code = waiting.result().exit_code
                except CommandExitException as exc:
                    exit_code = exc.exit_code
                except Exception as exc:
                    raise self._failure("run a command", exc) from exc
            else:
                await self._kill_command(remote, handle, waiting)
        except BaseException:
            if not waiting.done():  # cancelled: don't leave the command running
                waiting.cancel()
                self._in_background(self._abandon(remote, handle))
            raise
        return CommandResult(
            command=cmd,
            exit_code=exit_code,
            stdout=out.text(),
            stderr=err.text(),
            duration_ms=(time.perf_counter() - started) * 1000,
            timed_out=exit_code is None,
        )

    async def _kill_command(
        self, remote: AsyncSandbox, handle: Any, waiting: asyncio.Future[Any]
    ) -> None:
        """Kill a timed-out command's process group, then collect its last output."""
        await asyncio.gather(
            self._kill_group(remote, handle.pid), handle.kill(), return_exceptions=True
        )
        await asyncio.wait({waiting}, timeout=KILL_GRACE)
        if not waiting.done():
            waiting.cancel()
            with contextlib.suppress(Exception):
                await handle.disconnect()
        elif not waiting.cancelled():
            waiting.exception()  # retrieved: the kill's own exit status is not reported

    async def _abandon_start(self, remote: AsyncSandbox, starting: asyncio.Future[Any]) -> None:
        """Kill a command whose caller went away while it was starting, once it has."""
        try:
            handle = await starting
        except BaseException:
            return  # it did not start (or the sandbox is closing)
        await self._abandon(remote, handle)

    async def _abandon(self, remote: AsyncSandbox, handle: Any) -> None:
        """Kill a command whose caller went away, without waiting for its output."""
        await asyncio.gather(
            self._kill_group(remote, handle.pid), handle.kill(), return_exceptions=True
        )
        with contextlib.suppress(Exception):
            await handle.disconnect()

    @staticmethod
    async def _kill_group(remote: AsyncSandbox, pid: int) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLEANUP_TIMEOUT):
                await remote.commands.run(f"kill -KILL -- -{int(pid)} 2>/dev/null; true")

    # -- lifecycle ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox is closed")

    async def close(self) -> None:
        """Kill the remote sandbox (its files go with it). Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        remote, self._sandbox = self._sandbox, None
        self._context = None
        pending, self._background = self._background, set()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if remote is not None:
            await self._kill(remote)
