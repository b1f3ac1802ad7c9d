"""Live updates of a run page: server-sent events with the new (or changed) steps as HTML,
the run's header whenever it changes, and `end` when the run has ended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from codehelm.runtime.trace import RunRecord, TraceEvent
from codehelm.ui.stores import Stores

POLL_SECONDS = 0.3


async def updates(
    stores: Stores,
    name: str,
    run_id: str,
    after: int,
    step_html: Callable[[TraceEvent], str | None],
    head_html: Callable[[RunRecord, tuple[str | None, int]], str],
) -> AsyncIterator[dict[str, str]]:
    """Events for the page of `run_id`, which already shows the steps up to `after`. A step
    that was still running is sent again when it ends (the page replaces it by its id)."""
    cursor, seen, head = after, dict[int, str](), ""

    def read(cursor: int) -> tuple[RunRecord, list[TraceEvent], tuple[str | None, int]]:
        """The run, its events after `cursor` and its digest: run in a worker thread, the
        store opened and closed there (a SQLite connection stays in its thread)."""
        with stores.open(name) as store:
            assert store is not None, "the run was found in this store"
            record = store.get_run(run_id)
            events = store.events(run_id, after=cursor)
            return record, events, store.run_digests([run_id])[run_id]

    while True:
        record, events, digest = await asyncio.to_thread(read, cursor)
        for event in events:
            html = step_html(event) if seen.get(event.id) != event.status else None
            seen[event.id] = event.status
            if html is not None:
                yield {"event": "step", "data": html}
        running = [e.id for e in events if e.status == "running"]
        if events:
            cursor = min(running) - 1 if running else events[-1].id
        fresh = head_html(record, digest)
        if fresh != head:
            head = fresh
            yield {"event": "head", "data": head}
        if record.status not in ("running", "paused"):  # a paused run may be resumed
            yield {"event": "end", "data": record.status}
            return
        await asyncio.sleep(POLL_SECONDS)
