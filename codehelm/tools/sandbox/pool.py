"""`SandboxPool`: pre-warmed `LocalSandbox`es, so getting a fresh one costs no start-up time.

    async with SandboxPool(size=4, timeout=5.0) as pool:
        sandbox = await pool.acquire()  # its worker is already running
        try:
            await sandbox.run_code("1 + 1")
        finally:
            await sandbox.close()

A sandbox handed out is the caller's: it is never returned to the pool (its state would
leak into the next user), and the pool starts a replacement in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from types import TracebackType
from typing import Any, Self

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox.local import LocalSandbox

logger = logging.getLogger(__name__)

# Starting a replacement takes a few tens of ms of CPU; waiting a moment first leaves the
# CPU to the sandbox just handed out, whose first cells usually follow at once.
REFILL_DELAY = 0.05  # seconds


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
        LocalSandbox(**options)._finalizer()  # fail now on bad options or missing bubblewrap
        self.size = size
        self.options = options
        self._ready: deque[LocalSandbox] = deque()
        self._starting: set[asyncio.Task[LocalSandbox]] = set()
        self._error: BaseException | None = None  # the last failure to start a sandbox
        self._closed = False

    @property
    def ready(self) -> int:
        """How many started sandboxes are waiting to be acquired."""
        return len(self._ready)

    def _fill(self) -> None:
        if self._closed:
            return
        while len(self._ready) + len(self._starting) < self.size:
            task = asyncio.ensure_future(self._start_one())
            self._starting.add(task)
            task.add_done_callback(self._started)

    async def _start_one(self) -> LocalSandbox:
        sandbox = LocalSandbox(**self.options)
        try:
            await sandbox.start()
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    def _started(self, task: asyncio.Task[LocalSandbox]) -> None:
        self._starting.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._error = error
            logger.warning("a pooled sandbox failed to start: %s", error)
            return
        self._ready.append(task.result())  # close() closes it if the pool is closing

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

    async def acquire(self) -> LocalSandbox:
        """A started sandbox of the caller's own (who must close it); refills the pool."""
        self._check_open()
        while True:
            while self._ready:
                sandbox = self._ready.popleft()
                if sandbox.is_alive():
                    asyncio.get_running_loop().call_later(REFILL_DELAY, self._fill)
                    return sandbox
                await sandbox.close()  # its worker died while it waited
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
        for task in list(self._starting):
            task.cancel()
        for task in list(self._starting):
            with contextlib.suppress(BaseException):
                await task
        ready, self._ready = list(self._ready), deque()
        await asyncio.gather(*(sandbox.close() for sandbox in ready), return_exceptions=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
