"""`RunStore`: the trace's writes from event loops, run by one thread per store, batched;
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import psycopg

from codehelm.config import Settings
from codehelm.runtime.database import shown
from codehelm.runtime.trace import RunStore, TraceStore


async def test_a_failing_call_fails_alone_in_its_batch(store_settings: Settings) -> None:
    path = store_settings.trace_location
    async with RunStore.open(path) as store:
        await store.start_run("r1", "solve", "first", {})
        outcomes = await asyncio.gather(
            # no agent: the NOT NULL constraint refuses it
            store.record("r1", "message", agent=None, name="n", status="ok", payload={}),  # type: ignore[arg-type]
            *(
                store.record("r1", "message", agent="a", name="n", status="ok", payload={"i": i})
                for i in range(100)
            ),
            return_exceptions=True,
        )
    assert isinstance(outcomes[0], sqlite3.IntegrityError | psycopg.IntegrityError)
    assert len({outcome for outcome in outcomes[1:] if isinstance(outcome, int)}) == 100
    with TraceStore(path) as reader:
        assert reader.get_run("r1").prompt == "first"
        assert [e.payload["i"] for e in reader.events("r1")] == list(range(100))


async def test_stores_share_a_writer_that_ends_with_the_last_even_after_an_abandoned_call(
    store_settings: Settings,
) -> None:
    path = store_settings.trace_location

    def writers() -> int:
        return sum(t.name == f"codehelm-trace {shown(path)}" for t in threading.enumerate())

    async with asyncio.timeout(30):  # closing never hangs
        async with RunStore.open(path) as first, RunStore.open(path) as second:
            assert writers() == 1
            await first.start_run("r1", "solve", "p", {})
            abandoned = asyncio.ensure_future(second.mark_paused("r1", wall_s=1.0))
            await asyncio.sleep(0)  # queued...
            abandoned.cancel()  # ...and its caller gone
        assert writers() == 0
    with TraceStore(path) as reader:  # queued calls are written all the same
        assert reader.get_run("r1").status == "paused"
