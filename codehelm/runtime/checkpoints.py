"""One SQLite checkpointer per checkpoint file and event loop, shared by all its runs.

A connection per run made many runs at once fight over SQLite's write lock until some
gave up ("database is locked"). Sharing one connection queues their writes instead: the
saver writes one at a time, on aiosqlite's thread, off the event loop. The file is in WAL
mode with `synchronous=NORMAL`: a committed checkpoint survives the process being killed
(a power cut may lose the last few), and a write is never half there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process holding the lock


@dataclass
class _Shared:
    opening: asyncio.Task[AsyncSqliteSaver]
    users: int = 0


_savers: dict[tuple[asyncio.AbstractEventLoop, Path], _Shared] = {}


@asynccontextmanager
async def open_checkpointer(
    path: Path, serde: SerializerProtocol
) -> AsyncIterator[AsyncSqliteSaver]:
    """The checkpointer of the file `path` (made if missing) for this event loop; closed
    when its last user is done. `serde` is used if this call opens it."""
    key = (asyncio.get_running_loop(), path)
    shared = _savers.get(key)
    if shared is None:
        shared = _savers[key] = _Shared(asyncio.ensure_future(_connect(path, serde)))
    shared.users += 1
    try:
        yield await asyncio.shield(shared.opening)
    finally:
        shared.users -= 1
        if shared.users == 0:
            del _savers[key]
            opening = shared.opening
            if not opening.done():
                opening.cancel()  # its last user gave up waiting; `_connect` cleans up
            elif not opening.cancelled() and opening.exception() is None:
                await opening.result().conn.close()


async def _connect(path: Path, serde: SerializerProtocol) -> AsyncSqliteSaver:
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(conn, serde=serde)
        await saver.setup()
    except BaseException:
        await conn.close()
        raise
    return saver
