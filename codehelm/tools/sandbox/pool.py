"""`SandboxPool`: pre-warmed `LocalSandbox`es, so getting a fresh one costs no start-up time.

    async with SandboxPool(size=4, timeout=5.0) as pool:
        sandbox = await pool.acquire()  # its worker is already running
        try:
            await sandbox.run_code("1 + 1")
        finally:
            await sandbox.close()

A sandbox handed out is the caller's: it is never returned to the pool (its state would
leak into the next user), and the pool starts a replacement in the background. Its
`sibling()` (the verifier's fresh sandbox) comes from the pool too, started already, when
one is ready. A pooled worker has also imported the modules snapshots always use (`PRELOAD`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import TracebackType
from typing import Any, Self

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox.local import LocalSandbox
from codehelm.tools.sandbox.snapshot import PRELOAD

logger = logging.getLogger(__name__)

# Starting a replacement takes a few tens of ms of CPU; waiting a moment first leaves the
# CPU to the sandbox just handed out, whose first cells usually follow at once.
REFILL_DELAY = 0.05  # seconds
# Sandboxes started at once, at most: a burst of starts (a pool of hundreds filling up)
# would starve the sandboxes already running of CPU.
MAX_STARTING = 4


class SandboxPool:
    """Keeps `size` started sandboxes ready; `acquire()` hands one out and refills.

    `options` are `LocalSandbox` keyword arguments (all sandboxes share them) except
    `workspace`: each pooled sandbox gets a temporary workspace of its own.
    """

    def __init__(self, size: int = 2, **options: Any) -> None:
        if size < 1:
            raise BadInputError(f"pool size must be at least 1, got {size}")
        if "workspace" in options:
            raise BadInputError("pooled sandboxes each get their own temporary workspace")
        LocalSandbox(**options)  # fail now on bad options (bubblewrap: when one starts)
        self.size = size
        self.options = options
        self._ready: deque[LocalSandbox] = deque()
        self._starting: set[asyncio.Task[LocalSandbox]] = set()
        self._closing: set[asyncio.Future[None]] = set()  # dead sandboxes being closed
        self._error: BaseException | None = None  # the last failure to start a sandbox
        self._closed = False

    @property
    def ready(self) -> int:
        """How many started sandboxes are waiting to be acquired."""
        return len(self._ready)

    def _fill(self) -> None:
        if self._closed:
            return
        while (
            len(self._ready) + len(self._starting) < self.size
            and len(self._starting) < MAX_STARTING
        ):
            task = asyncio.ensure_future(self._start_one())
            self._starting.add(task)
            task.add_done_callback(self._started)

    async def _start_one(self) -> LocalSandbox:
        sandbox = PooledSandbox(self, **self.options)
        try:
            await sandbox.start()
            await sandbox.run_code(PRELOAD)  # leaves no variable behind
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    def _started(self, task: asyncio.Task[LocalSandbox]) -> None:
        self._starting.discard(task)
        if task.cancelled() or self._closed:
            return  # close() closes what the starts it waited for made
        error = task.exception()
        if error is not None:
            self._error = error
            logger.warning("a pooled sandbox failed to start: %s", error)
            return
        self._ready.append(task.result())  # close() closes it if the pool is closing
        self._fill()  # the next ones, if the pool is not full yet

    async def start(self) -> Self:
        """Begin warming `size` sandboxes (`acquire()` and `async with` do it anyway)."""
        self._check_open()
        self._fill()
        return self

    async def wait_ready(self) -> None:
        """Wait until the pool holds `size` started sandboxes (or one failed to start)."""
        self._fill()
        while self._starting:
            await asyncio.wait(set(self._starting))
        if len(self._ready) < self.size and self._error is not None:
            raise SandboxError(f"the sandbox pool could not start a sandbox: {self._error}")

    def take(self) -> LocalSandbox | None:
        """A started sandbox if one is ready now (the caller closes it), else None; refills."""
        while self._ready and not self._closed:
            sandbox = self._ready.popleft()
            asyncio.get_running_loop().call_later(REFILL_DELAY, self._fill)
            if sandbox.is_alive():
                return sandbox
            closing = asyncio.ensure_future(sandbox.close())  # it died while it waited
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        return None

    async def acquire(self) -> LocalSandbox:
        """A started sandbox of the caller's own (who must close it); refills the pool."""
        self._check_open()
        while True:
            sandbox = self.take()
            if sandbox is not None:
                return sandbox
            await asyncio.gather(*self._closing, return_exceptions=True)
            self._error = None
            self._fill()
            # Nothing ready: take whichever sandbox being started is ready first.
            await asyncio.wait(set(self._starting), return_when=asyncio.FIRST_COMPLETED)
            self._check_open()
            if not self._ready and self._error is not None:
                error, self._error = self._error, None
                raise SandboxError(f"the sandbox pool could not start a sandbox: {error}")

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox pool is closed")

    async def close(self) -> None:
        """Stop warming and close every sandbox not handed out."""
        if self._closed:
            return
        self._closed = True
        # Starting sandboxes finish starting (tens of ms) and are closed with the rest: a
        # start cancelled inside asyncio's subprocess creation can wait forever for a child
        # it never reaps (seen with hundreds of sandboxes starting and stopping). `wait`,
        # unlike `gather`, does not cancel them if close() itself is cancelled.
        starting = list(self._starting)
        if starting:
            await asyncio.wait(starting)
        started = [t.result() for t in starting if not t.cancelled() and t.exception() is None]
        ready, self._ready = [*self._ready, *started], deque()
        await asyncio.gather(
            *(sandbox.close() for sandbox in ready), *self._closing, return_exceptions=True
        )

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class PooledSandbox(LocalSandbox):
    """A `LocalSandbox` started by a pool: its siblings are taken from the pool when one is
    ready (so a verifier's fresh sandbox costs no start-up either)."""

    def __init__(self, pool: SandboxPool, **options: Any) -> None:
        super().__init__(**options)
        self._pool = pool

    def sibling(self) -> LocalSandbox:
        return self._pool.take() or super().sibling()
