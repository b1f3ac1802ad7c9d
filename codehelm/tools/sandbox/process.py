"""Host-side process bookkeeping for sandboxes: finding, holding, killing and awaiting processes.

Nothing here knows about a particular sandbox. Finding processes (is a pid alive, what
descends from it) goes through `psutil`. Killing goes through `ProcessHandle`, which holds a
pidfd where the kernel has them, so a kill can never hit another process that reused a
dead one's pid. The asyncio helpers wait for exits and read pipes with timeouts, because a
sandboxed process may never exit or close its output on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import time

import psutil

EXIT_POLL = 0.05  # seconds between checks for an exit that `Process.wait()` misses
GONE_POLL = 0.002  # seconds between checks that a killed process is gone
_DEAD = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() not in _DEAD
    except psutil.Error:  # gone since it was found
        return False


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        return _running(psutil.Process(pid))
    except (psutil.Error, ValueError):  # no such process, or not a valid pid
        return False


def children_of(pid: int) -> list[int]:
    """The live direct children of `pid`, sorted."""
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return []
    return sorted(child.pid for child in children if _running(child))


def process_tree(root: int) -> list[int]:
    """`root` (if alive) and all its live descendants, as host pids."""
    try:
        process = psutil.Process(root)
        descendants = process.children(recursive=True)
    except psutil.Error:
        return []
    return [member.pid for member in (process, *descendants) if _running(member)]


class ProcessHandle:
    """A process we may have to kill later, held by a pidfd where the kernel has them.

    A pidfd names exactly one process, so a kill after it died can never hit another
    process that reused its pid. Without pidfds (old kernels) the pid itself is used.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(pid)

    def kill(self) -> None:
        """SIGKILL the process; a process already gone is not an error."""
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    def exited(self) -> bool:
        if self.fd is not None:  # readable once it exited; poll: select() stops at fd 1023
            poller = select.poll()
            poller.register(self.fd, select.POLLIN)
            return bool(poller.poll(0))
        return not pid_alive(self.pid)

    def wait_exited_by(self, deadline: float) -> None:
        """Block until the process exited or `time.monotonic()` passes `deadline`."""
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(GONE_POLL)

    async def wait_exited(self, timeout: float) -> None:
        """Wait, without blocking the event loop, until the process exited or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while not self.exited() and time.monotonic() < deadline:
            await asyncio.sleep(GONE_POLL)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (processes we start lead their own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def wait_exit(proc: asyncio.subprocess.Process, timeout: float) -> int | None:
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


async def read_to_eof(fd: int, timeout: float) -> bytes:
    """Everything written to pipe `fd` until its last writer closes it; closes `fd`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(fd, "rb", buffering=0)
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
    except BaseException:
        pipe.close()
        raise
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        transport.close()


async def stderr_of(proc: asyncio.subprocess.Process, timeout: float) -> str:
    """What a failed process wrote to its stderr pipe, waiting at most `timeout` seconds."""
    assert proc.stderr is not None
    try:
        output = await asyncio.wait_for(proc.stderr.read(), timeout)
    except (TimeoutError, ValueError):
        output = b""
    return output.decode(errors="replace").strip()
