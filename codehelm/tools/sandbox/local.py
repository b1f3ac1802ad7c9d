"""`LocalSandbox`: stateful Python execution in a persistent worker process on this machine.

By default every sandbox process (the worker and each shell command) runs under bubblewrap
(see `bwrap.py`): its own user, pid, network, IPC, UTS and mount namespaces, uid 1000
without capabilities, a seccomp filter, a read-only view of the system and the Python
runtime, a private /tmp, and the workspace as the only writable host directory, mounted at
its own path. Resource limits (`ResourceLimits`) are applied to every process before it runs
anything. `isolation="none"` runs the worker as a plain child process instead: process
isolation only, not a security boundary, for development on machines without bubblewrap.

This module puts the sandbox together from parts with one job each: `bwrap.py` (command
line and mounts), `seccomp.py` (the syscall filter), `limits.py` and `cgroup.py` (resource
limits), `process.py` (killing and awaiting processes), `workspace.py` (the file API) and
`_worker.py` (the interpreter inside). `_launch_argv` is the single place where the
command line of a sandbox process is built.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import marshal
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from codehelm.errors import BadInputError, SandboxError
from codehelm.messages import Execution, ExecutionError
from codehelm.tools.sandbox._worker import HEADER
from codehelm.tools.sandbox.base import ClosesOnExit, CommandResult, FileStore
from codehelm.tools.sandbox.bwrap import (
    INSTALL_HINT,
    WORKER_PATH,
    bwrap_argv,
    bwrap_path,
    bwrap_problem,
    python_mounts,
    site_dirs,
    worker_file,
)
from codehelm.tools.sandbox.cgroup import ProcessCgroup
from codehelm.tools.sandbox.limits import ResourceLimits, apply_rlimits
from codehelm.tools.sandbox.output import CappedText
from codehelm.tools.sandbox.process import (
    ProcessHandle,
    children_of,
    kill_group,
    process_tree,
    read_to_eof,
    stderr_of,
    wait_exit,
)
from codehelm.tools.sandbox.seccomp import seccomp_pipe
from codehelm.tools.sandbox.workspace import WorkspaceFiles, confine

if TYPE_CHECKING:
    from codehelm.config import Settings

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds for a fresh interpreter to say it is ready
INTERRUPT_GRACE = 0.25  # seconds a timed-out cell gets to report its partial output
STOP_TIMEOUT = 5.0  # seconds to wait for a killed process group to be reaped
PIPE_GRACE = 0.5  # seconds to collect output still buffered after a command ends
LOST_STATE = "the interpreter was restarted and earlier variables are lost"
Isolation = Literal["bwrap", "none"]

_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        logger.warning(message)


# -- what a sandbox owns ----------------------------------------------------------------


@dataclass
class _Resources:
    """Everything that must die or go when the sandbox does; shared with the finalizer."""

    groups: set[int] = field(default_factory=set)  # process groups we lead (our children)
    inits: dict[int, ProcessHandle] = field(default_factory=dict)  # sandboxes' pid 1s, by host pid
    cgroup: ProcessCgroup | None = None
    workspace: Path | None = None  # removed at the end if we created it


def _cleanup(resources: _Resources) -> None:
    """Last-resort cleanup, also run at interpreter exit if `close()` was never awaited.

    Killing a sandbox's pid 1 makes the kernel kill every process in its pid namespace,
    including daemons that left the process group (setsid, double fork).
    """
    for pid in list(resources.groups):
        kill_group(pid)
    resources.groups.clear()
    for init in resources.inits.values():
        init.kill()
    deadline = time.monotonic() + STOP_TIMEOUT
    for init in resources.inits.values():
        init.wait_exited_by(deadline)
        init.close()
    resources.inits.clear()
    if resources.cgroup is not None:
        resources.cgroup.remove()
        resources.cgroup = None
    if resources.workspace is not None:
        shutil.rmtree(resources.workspace, ignore_errors=True)
        resources.workspace = None


@dataclass
class _Launch:
    """A bubblewrapped start, prepared: its argv and the pipes between us and bwrap."""

    argv: list[str]
    info_read: int  # bwrap reports the sandbox's pid 1 here
    block_write: int  # a byte here lets the sandbox start
    child_fds: list[int]  # bwrap's ends, closed here once it has them


@dataclass
class _Started:
    """A started sandbox process: what asyncio spawned (bwrap, or the command itself under
    isolation="none") and, under bwrap, the host pid of the sandbox's pid 1."""

    proc: asyncio.subprocess.Process
    init: int | None


# -- the worker -------------------------------------------------------------------------


class _Worker:
    """A running worker process and the two ends of its protocol."""

    def __init__(self, started: _Started) -> None:
        self.proc = started.proc
        self.init = started.init
        self._pid: int | None = None
        # Resolves once the process exited *and* closed its pipes (asyncio's `wait()`).
        self.exited: asyncio.Future[int] = asyncio.ensure_future(self.proc.wait())

    def host_pid(self) -> int | None:
        """The worker's pid on the host: under bwrap, the only child of the sandbox's pid 1."""
        if self.init is None:
            return self.proc.pid
        if self._pid is None:
            children = children_of(self.init)
            self._pid = children[0] if children else None
        return self._pid

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        data = marshal.dumps(message)  # host -> worker only; replies are JSON
        self.proc.stdin.write(HEADER.pack(len(data)) + data)
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        header = await self.proc.stdout.readexactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        reply: dict[str, Any] = json.loads(await self.proc.stdout.readexactly(size))
        return reply


class LocalSandbox(ClosesOnExit):
    """A `Sandbox` backed by a persistent Python worker subprocess, isolated by bubblewrap.

    Variables persist between `run_code` calls like a notebook kernel. On a timeout or a
    crash the worker is killed and replaced on the next call, and the `Execution` says
    `state_lost=True`. Neither the worker nor shell commands inherit the host
    environment: they get a minimal one, plus the host variables named in `env_allowlist`,
    plus `env`, so API keys never reach them.

    `isolation="bwrap"` (the default) needs bubblewrap and refuses to start without it;
    `isolation="none"` runs without isolation and warns. Making one does no I/O, so it can be
    made on an event loop: bubblewrap is checked and the workspace created off the loop, on
    first use (or `async with`, or `start()`). `network=True` shares the host's
    network (and /etc/resolv.conf) instead of an empty network namespace. `limits` bound
    each sandbox process (see `ResourceLimits`). `read_only_paths` are extra host paths
    mounted read-only at the same place.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalSandbox:
        """The sandbox a run uses (`--sandbox local`): isolated, with the run's timeout."""
        return cls(timeout=settings.exec_timeout)

    def __init__(
        self,
        *,
        workspace: Path | None = None,
        timeout: float = 10.0,
        max_output_chars: int = 20_000,
        env: dict[str, str] | None = None,
        env_allowlist: Sequence[str] = (),
        isolation: Isolation = "bwrap",
        network: bool = False,
        limits: ResourceLimits | None = None,
        read_only_paths: Sequence[str | Path] = (),
    ) -> None:
        if timeout <= 0:
            raise BadInputError(f"sandbox timeout must be positive, got {timeout}")
        if max_output_chars < 0:
            raise BadInputError(f"max_output_chars must be >= 0, got {max_output_chars}")
        if isolation not in ("bwrap", "none"):
            raise BadInputError(f'isolation must be "bwrap" or "none", got {isolation!r}')
        self.isolation: Isolation = isolation
        self.network = network
        self.limits = limits if limits is not None else ResourceLimits()
        self._options: dict[str, Any] = {
            "timeout": timeout,
            "max_output_chars": max_output_chars,
            "env": env,
            "env_allowlist": env_allowlist,
            "isolation": isolation,
            "network": network,
            "limits": limits,
            "read_only_paths": read_only_paths,
        }
        self._isolated = isolation == "bwrap"
        if not self._isolated:
            _warn_once(
                "none",
                'LocalSandbox(isolation="none") runs code WITHOUT isolation: it can read '
                "and change everything the host user can. Use it only for trusted code.",
            )
        if network and self._isolated and os.geteuid() == 0:
            _warn_once(
                "network-root",
                "LocalSandbox(network=True) shares the host's network namespace, including "
                "abstract unix sockets of host services; running as root, sandbox processes "
                "reach them as uid 0. Prefer network=False, or run codehelm as a normal user.",
            )
        self._ro_paths = [str(p) for p in read_only_paths]  # resolved and checked at set-up
        self._requested_workspace = workspace
        self._workspace: Path | None = None
        self._bwrap = ""  # the bubblewrap binary, found at set-up
        self._worker_argv: list[str] = []  # made at set-up
        self._setup_lock = threading.Lock()
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.files: FileStore = WorkspaceFiles(lambda: self.workspace, lambda: not self._closed)
        python_bin = str(Path(sys.executable).parent)
        if self._isolated:
            path = ":".join(dict.fromkeys([python_bin, "/usr/local/bin", "/usr/bin", "/bin"]))
        else:
            path = os.pathsep.join([python_bin, os.environ.get("PATH", os.defpath)])
        self._env = {
            # The venv's bin first, so `python` / `pip` in commands mean this interpreter.
            "PATH": path,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **{name: os.environ[name] for name in env_allowlist if name in os.environ},
            **(env or {}),
        }
        self._lock = asyncio.Lock()
        self._worker: _Worker | None = None
        self._state_lost = False  # the worker was discarded without an Execution saying so
        self._closed = False
        self._resources = _Resources()
        self._cgroup_checked = False
        self._finalizer = weakref.finalize(self, _cleanup, self._resources)

    @property
    def workspace(self) -> Path:
        """The workspace directory on the host (created here if the sandbox was never used)."""
        if self._workspace is None:
            self._set_up()
        assert self._workspace is not None
        return self._workspace

    def _set_up(self) -> None:
        """Check isolation and create the workspace: blocking, so run off the event loop
        (`_ready`). Idempotent and thread-safe."""
        with self._setup_lock:
            if self._workspace is not None:
                return
            self._check_open()  # a closed sandbox must not leave a new workspace behind
            if self._isolated:
                self._bwrap = self._check_bwrap()
            resolved = [str(Path(p).resolve()) for p in self._ro_paths]
            for ro_path in resolved:
                if not os.path.exists(ro_path) or ro_path == "/":
                    raise BadInputError(
                        f"read_only_paths must name existing paths, not {ro_path!r}"
                    )
            self._ro_paths = resolved
            # -S: no site module (fast start; the worker adds site-packages itself); -P:
            # neither the script's dir nor cwd is put on sys.path (the worker adds the
            # workspace itself); -B: no .pyc files.
            script = WORKER_PATH if self._isolated else worker_file()
            self._worker_argv = [sys.executable, "-S", "-P", "-B", script]
            for directory in site_dirs():
                self._worker_argv += ["--site", directory]
            workspace = self._requested_workspace
            if workspace is None:
                root = Path(tempfile.mkdtemp(prefix="codehelm-sbx-")).resolve()
                self._resources.workspace = root  # ours: removed at close
            else:
                workspace.mkdir(parents=True, exist_ok=True)
                root = workspace.resolve()
            self._env["HOME"] = str(root)  # the cwd too; the same path inside and out
            self._workspace = root

    async def _ready(self) -> None:
        if self._workspace is None:
            await asyncio.to_thread(self._set_up)

    async def __aenter__(self) -> Self:
        await self._ready()
        return self

    def sibling(self) -> LocalSandbox:
        """A new sandbox with this one's options and a fresh temporary workspace."""
        return LocalSandbox(**self._options)

    @staticmethod
    def _check_bwrap() -> str:
        """The bubblewrap binary, once it proved it can isolate a sandbox here."""
        problem = bwrap_problem()
        bwrap = bwrap_path()
        if problem is None and bwrap is None:
            problem = "bubblewrap disappeared"
        if problem is None:
            try:
                python_mounts()
            except OSError as exc:
                problem = str(exc)
        if problem is not None or bwrap is None:
            raise SandboxError(f"cannot isolate the sandbox: {problem}. {INSTALL_HINT}")
        return bwrap

    # -- starting processes -------------------------------------------------------------

    def _launch_argv(
        self,
        inner: list[str],
        *,
        cwd: str,
        info_fd: int | None = None,
        block_fd: int | None = None,
        seccomp_fd: int | None = None,
    ) -> list[str]:
        """The argv that starts `inner` (the worker or a shell command) in the sandbox."""
        if not self._isolated:
            return list(inner)
        return bwrap_argv(
            inner,
            bwrap=self._bwrap,
            workspace=self.workspace,
            cwd=cwd,
            network=self.network,
            tmp_bytes=self.limits.tmp_mb * 1024 * 1024,
            read_only_paths=self._ro_paths,
            info_fd=info_fd,
            block_fd=block_fd,
            seccomp_fd=seccomp_fd,
        )

    def _prepare_launch(self, inner: list[str], cwd: Path) -> _Launch:
        """Everything a bubblewrapped start needs from the file system (its pids cgroup, the
        mount plan, the seccomp program in a pipe): blocking, so run in a thread."""
        self._ensure_cgroup()
        info_read, info_write = os.pipe()
        block_read, block_write = os.pipe()
        os.set_blocking(block_write, False)  # one byte into an empty pipe: never waits
        seccomp = seccomp_pipe()
        child_fds = [fd for fd in (info_write, block_read, seccomp) if fd is not None]
        try:
            argv = self._launch_argv(
                inner,
                cwd=str(cwd),
                info_fd=info_write,
                block_fd=block_read,
                seccomp_fd=seccomp,
            )
        except BaseException:
            for fd in (*child_fds, info_read, block_write):
                os.close(fd)
            raise
        return _Launch(argv, info_read, block_write, child_fds)

    async def _spawn(self, inner: list[str], *, cwd: Path, stdin: int) -> _Started:
        """Start `inner` in the sandbox with working directory `cwd` (a host path)."""
        if not self._isolated:
            proc = await self._exec(self._launch_argv(inner, cwd=str(cwd)), cwd=cwd, stdin=stdin)
            # Best effort: the worker sets nothing up before its first request, but a
            # shell command may fork before these land. RLIMIT_NPROC would count all of
            # the host user's processes, so it is left out.
            with contextlib.suppress(OSError, ValueError):
                apply_rlimits(proc.pid, self.limits, nproc=False)
            return _Started(proc, None)
        launch = await asyncio.to_thread(self._prepare_launch, inner, cwd)
        try:
            proc = await self._exec(
                launch.argv, cwd=self.workspace, stdin=stdin, pass_fds=launch.child_fds
            )
        except BaseException:
            os.close(launch.info_read)
            os.close(launch.block_write)
            raise
        finally:
            for fd in launch.child_fds:
                os.close(fd)
        try:
            init = await self._hold(proc, launch.info_read)
        except BaseException:  # e.g. cancelled: the sandbox must not start unwatched
            if proc.pid in self._resources.groups:  # not yet reaped by `_abort`
                kill_group(proc.pid)  # its pid 1 is in the group: the namespace dies too
                self._resources.groups.discard(proc.pid)
            raise
        finally:
            with contextlib.suppress(OSError):  # BrokenPipe if bwrap already failed
                os.write(launch.block_write, b"x")  # let the sandbox start
            os.close(launch.block_write)
        return _Started(proc, init)

    async def _exec(
        self, argv: list[str], *, cwd: Path, stdin: int, pass_fds: Sequence[int] = ()
    ) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=stdin,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=self._env,
                start_new_session=True,  # own process group: one killpg ends all it spawned
                pass_fds=pass_fds,
            )
        except OSError as exc:
            raise SandboxError(f"could not start a sandbox process: {exc}") from exc
        self._resources.groups.add(proc.pid)
        return proc

    async def _hold(self, proc: asyncio.subprocess.Process, info_read: int) -> int:
        """Learn the host pid of the blocked sandbox's pid 1 and put its limits on it."""
        try:
            info = json.loads(await read_to_eof(info_read, START_TIMEOUT))
            init = int(info["child-pid"])
        except (TimeoutError, ValueError, KeyError, TypeError) as exc:
            await self._abort(proc)
            detail = await stderr_of(proc, PIPE_GRACE)
            raise SandboxError(
                "bubblewrap failed to start the sandbox"
                + (f": {detail[-2000:]}" if detail else "")
                + f". {INSTALL_HINT}"
            ) from exc
        self._resources.inits[init] = ProcessHandle(init)
        cgroup = self._resources.cgroup

        def limit() -> None:
            if cgroup is not None:
                cgroup.add(init)
            apply_rlimits(init, self.limits)

        try:
            if cgroup is None:
                limit()
            else:  # moving a process between cgroups can wait ~10 ms for an RCU grace period
                await asyncio.to_thread(limit)
        except (OSError, ValueError) as exc:
            await self._abort(proc, init)
            raise SandboxError(f"could not apply the sandbox's resource limits: {exc}") from exc
        return init

    def _ensure_cgroup(self) -> None:
        """As root, RLIMIT_NPROC is not enforced: bound the sandbox with a pids cgroup."""
        if self._cgroup_checked or self.limits.max_processes is None or os.geteuid() != 0:
            return
        self._cgroup_checked = True
        self._resources.cgroup = ProcessCgroup.create(self.limits.max_processes)
        if self._resources.cgroup is None:
            _warn_once(
                "nproc",
                "LocalSandbox runs as root without a writable pids cgroup: the kernel does not "
                "enforce max_processes (RLIMIT_NPROC) for root, so a fork bomb in a sandbox "
                "is bounded only by the host's limits.",
            )

    async def _abort(self, proc: asyncio.subprocess.Process, init: int | None = None) -> None:
        """Kill a sandbox process (and its pid namespace) and wait until it is gone."""
        kill_group(proc.pid)
        if init is not None and init in self._resources.inits:
            self._resources.inits[init].kill()
        await wait_exit(proc, STOP_TIMEOUT)
        self._resources.groups.discard(proc.pid)
        if init is not None:
            handle = self._resources.inits.pop(init, None)
            if handle is not None:
                await handle.wait_exited(STOP_TIMEOUT)
                handle.close()

    # -- the worker ---------------------------------------------------------------------

    async def _start_worker(self) -> _Worker:
        started = await self._spawn(
            self._worker_argv, cwd=self.workspace, stdin=asyncio.subprocess.PIPE
        )
        worker = _Worker(started)
        try:
            hello = await asyncio.wait_for(worker.receive(), START_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            await self._stop(worker)
            detail = await stderr_of(worker.proc, PIPE_GRACE)
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
        """Kill the worker's whole process group (and pid namespace) and reap it."""
        await self._abort(worker.proc, worker.init)
        worker.exited.cancel()
        if worker.proc.stdin is not None:
            worker.proc.stdin.close()

    async def _discard_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await self._stop(worker)

    async def start(self) -> None:
        """Start the worker now rather than on the first `run_code` (e.g. to pre-warm)."""
        await self._ready()
        async with self._lock:
            self._check_open()
            if self._worker is not None and self._worker.proc.returncode is not None:
                await self._discard_worker()
                self._state_lost = True
            if self._worker is None:
                self._worker = await self._start_worker()

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
        await self._ready()
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
            pid = await asyncio.to_thread(worker.host_pid)
            if pid is not None:
                os.kill(pid, signal.SIGINT)
                done = await _first_of(receiving, worker.exited, timeout=INTERRUPT_GRACE)
                if receiving in done and receiving.exception() is None:
                    reply = receiving.result()
        except (ProcessLookupError, PermissionError):
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
        how = _describe_exit(worker.proc.returncode, self._isolated, self.limits)
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
        """Run `cmd` with /bin/sh in the workspace (or `cwd` inside it), in the sandbox.

        The command runs in a sandbox of its own (same isolation and limits as the worker,
        same workspace) which is torn down when the command returns, so background
        processes it started (`cmd &`, daemons) do not outlive it; start long-running
        processes from `run_code` instead.
        """
        self._check_open()
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise BadInputError(f"timeout must be positive, got {limit}")
        await self._ready()
        workdir = await asyncio.to_thread(self._workdir, cwd or ".")
        started = time.perf_counter()
        launched = await self._spawn(
            ["/bin/sh", "-c", cmd], cwd=workdir, stdin=asyncio.subprocess.DEVNULL
        )
        proc = launched.proc
        assert proc.stdout is not None and proc.stderr is not None
        out, err = CappedText(self.max_output_chars), CappedText(self.max_output_chars)
        pumps = {
            asyncio.ensure_future(_pump(proc.stdout, out)),
            asyncio.ensure_future(_pump(proc.stderr, err)),
        }
        try:
            exit_code = await wait_exit(proc, limit)
        finally:
            await self._abort(proc, launched.init)
            # Output still in the pipes arrives until every writer is gone; without a pid
            # namespace a process that escaped the group (setsid) could hold them open.
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

    def _workdir(self, cwd: str) -> Path:
        workdir = confine(self.workspace, cwd)
        if not workdir.is_dir():
            raise BadInputError(f"not a directory in the sandbox workspace: {cwd}")
        return workdir

    # -- lifecycle ----------------------------------------------------------------------

    def is_alive(self) -> bool:
        """True if the worker is started and running (the next `run_code` starts no process)."""
        worker = self._worker
        return not self._closed and worker is not None and worker.proc.returncode is None

    def host_pids(self) -> list[int]:
        """Host pids of every live process of this sandbox (bwrap, worker, its children)."""
        pids: set[int] = set()
        for leader in list(self._resources.groups):
            pids.update(process_tree(leader))
        for init in list(self._resources.inits):
            pids.update(process_tree(init))
        return sorted(pids)

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox is closed")

    async def close(self) -> None:
        """Kill the worker and everything it spawned; remove the workspace if we created it.

        Under bwrap every process of the sandbox lives in its pid namespace, which dies with
        its pid 1; `close()` returns once those are gone (and the pids cgroup, if any, is
        empty), so nothing started in the sandbox outlives it.
        """
        if self._closed:
            return
        self._closed = True
        await self._discard_worker()
        await asyncio.to_thread(self._finalizer)  # leftovers, cgroup, our temporary workspace


def _describe_exit(code: int | None, isolated: bool, limits: ResourceLimits) -> str:
    """How a worker ended. bwrap reports a death by signal N as exit code 128 + N."""
    if code is None:
        return "stopped answering"
    signum = -code if code < 0 else code - 128 if isolated and 128 < code < 128 + 65 else None
    if signum is None:
        return f"exited with code {code}"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = str(signum)
    if signum == signal.SIGXCPU and limits.cpu_seconds is not None:
        return f"was killed by signal {name} (CPU time limit of {limits.cpu_seconds} s exceeded)"
    return f"was killed by signal {name}"


async def _first_of(*futures: asyncio.Future[Any], timeout: float) -> set[asyncio.Future[Any]]:
    """Wait until one of `futures` is done or `timeout` passes; return those done."""
    done, _ = await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    return done


async def _pump(stream: asyncio.StreamReader, sink: CappedText) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while chunk := await stream.read(65536):
        sink.add(decoder.decode(chunk))
    sink.add(decoder.decode(b"", final=True))
