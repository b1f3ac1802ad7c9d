"""One checkpointer per checkpoint store (a SQLite file or a PostgreSQL URL) and event
loop, shared by all its runs.

A connection per run made many runs at once fight over SQLite's write lock until some
gave up ("database is locked"). Sharing one connection queues their writes instead: the
saver writes one at a time, on aiosqlite's thread, off the event loop. The file is in WAL
mode with `synchronous=NORMAL`: a committed checkpoint survives the process being killed
(a power cut may lose the last few), and a write is never half there.

On PostgreSQL the saver draws on a small pool of connections, so runs write side by side,
and many processes and machines share the runs (durable as SQLite is: see `database`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from codehelm.runtime.database import (
    BUSY_TIMEOUT_S,
    POSTGRES_OPTIONS,
    Location,
    checked_url,
    is_url,
    unreachable,
)

POOL_SIZE = 8  # PostgreSQL connections a process's runs write their checkpoints through


@dataclass
class _Saver:
    saver: BaseCheckpointSaver[str]
    close: Callable[[], Awaitable[None]]


@dataclass
class _Shared:
    opening: asyncio.Task[_Saver]
    users: int = 0


_savers: dict[tuple[asyncio.AbstractEventLoop, Location], _Shared] = {}


@asynccontextmanager
async def open_checkpointer(
    location: Location, serde: SerializerProtocol
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpointer of the SQLite file or PostgreSQL URL `location` (made if missing) for
    this event loop; closed when its last user is done. `serde` is used if this call opens it."""
    key = (asyncio.get_running_loop(), location)
    shared = _savers.get(key)
    if shared is None:
        connect = _postgres if is_url(location) else _sqlite
        shared = _savers[key] = _Shared(asyncio.ensure_future(connect(location, serde)))
    shared.users += 1
    try:
        yield (await asyncio.shield(shared.opening)).saver
    finally:
        shared.users -= 1
        if shared.users == 0:
            del _savers[key]
            opening = shared.opening
            if not opening.done():
                opening.cancel()  # its last user gave up waiting; `_connect` cleans up
            elif not opening.cancelled() and opening.exception() is None:
                await opening.result().close()


async def _sqlite(location: Location, serde: SerializerProtocol) -> _Saver:
    path = Path(location)
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
    return _Saver(saver, conn.close)


async def _postgres(location: Location, serde: SerializerProtocol) -> _Saver:
    """A saver on a pool of connections to the database, its tables made by one process at
    a time; a bad URL or an unreachable server is a `ConfigError` naming the URL."""
    url = checked_url(location)  # first: it says if the libraries below are missing
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection, Error
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    options: dict[str, Any] = {**POSTGRES_OPTIONS, "prepare_threshold": 0, "row_factory": dict_row}
    try:
        conn = await AsyncConnection.connect(url, **options)
    except Error as exc:
        raise unreachable(location, exc) from None
    async with conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext('codehelm-checkpoints'))")
        await AsyncPostgresSaver(conn, serde=serde).setup()
    pool: AsyncConnectionPool[AsyncConnection[dict[str, object]]] = AsyncConnectionPool(
        url, kwargs=options, min_size=1, max_size=POOL_SIZE, open=False
    )
    await pool.open()
    return _Saver(AsyncPostgresSaver(pool, serde=serde), pool.close)
