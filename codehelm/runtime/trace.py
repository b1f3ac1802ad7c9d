"""The run store: every run, message, model call and tool call, in one local SQLite file.

Nothing leaves the machine. `TracedModel` and `TracedSandbox` wrap the real
model and sandbox so agents stay unaware of tracing.

`TraceStore` is the store for plain code (the CLI, tests). Runs write through
`RunStore`: the same calls, awaited, carried out by one thread per store file in
this process, which writes whatever calls are waiting in one transaction. So many
runs at once neither block their event loop on SQLite nor fight over its write
lock, and a call that returned is committed (a killed process loses nothing it
was told was written, and no transaction is left half-written).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel

from codehelm.agents.base import call_purpose, current_agent
from codehelm.chat import ChatMessage
from codehelm.errors import ConfigError, RunNotFoundError
from codehelm.messages import Execution, Message, Usage
from codehelm.models.gateway import Completion, ModelClient, Structured
from codehelm.tools.sandbox.base import ClosesOnExit, CommandResult, FileStore, Sandbox
from codehelm.tools.sandbox.process import pid_alive

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
Outcome = TypeVar("Outcome", Execution, CommandResult)

BUSY_TIMEOUT_MS = 30_000  # how long a write waits for another process holding the lock
MAX_BATCH = 500  # calls written in one transaction at most

RunStatus = Literal["running", "paused", "done", "stopped", "failed", "interrupted"]
"""`paused` waits for a person's approval; `interrupted` is never stored: it is a `running`
run whose process is gone (killed)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, prompt TEXT NOT NULL,
    settings TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,
    ended_at TEXT, answer TEXT, stop_reason TEXT, error TEXT,
    tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL, wall_s REAL NOT NULL DEFAULT 0,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, ts TEXT NOT NULL,
    kind TEXT NOT NULL, agent TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    duration_ms REAL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, id);
"""


class RunRecord(BaseModel):
    run_id: str
    kind: str
    prompt: str
    settings: dict[str, Any]
    status: RunStatus
    started_at: str
    ended_at: str | None = None
    answer: str | None = None
    stop_reason: str | None = None
    error: str | None = None
    tokens: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0
    pid: int | None = None  # the process running it (or that last did)


class TraceEvent(BaseModel):
    id: int
    run_id: str
    ts: str
    kind: Literal["message", "model_call", "tool_call"]
    agent: str
    name: str
    status: str
    duration_ms: float | None
    payload: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class TraceStore:
    """A SQLite file of runs and their events. Safe to open from several processes (WAL)."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        """Open the store at `path`; with `create=False` a missing store is an error, and
        nothing is created on disk (for commands that only read)."""
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise RunNotFoundError(f"no runs in {self.path.parent} yet (no {self.path.name})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if "pid" not in columns:  # a store written before runs recorded their process
                self._db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"cannot keep runs in {self.path.parent}: {reason}; set --home or CODEHELM_HOME"
                " to a writable folder"
            ) from None

    def close(self) -> None:
        self._db.close()

    def begin(self) -> None:
        """Start a write transaction (taking the file's write lock now, not at the first
        write); `commit` or `rollback` ends it."""
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs

    def start_run(self, run_id: str, kind: str, prompt: str, settings: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO runs (run_id, kind, prompt, settings, status, started_at, pid)"
            " VALUES (?, ?, ?, ?, 'running', ?, ?)",
            (run_id, kind, prompt, json.dumps(settings, default=str), _now(), os.getpid()),
        )

    def mark_running(self, run_id: str) -> None:
        self._db.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, error = NULL, pid = ?"
            " WHERE run_id = ?",
            (os.getpid(), run_id),
        )

    def mark_paused(self, run_id: str, *, wall_s: float = 0.0) -> None:
        """The run waits for a person (an approval); `resume` continues it."""
        self._db.execute(
            "UPDATE runs SET status = 'paused', wall_s = wall_s + ? WHERE run_id = ?",
            (wall_s, run_id),
        )

    def end_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        answer: str | None = None,
        stop_reason: str | None = None,
        error: str | None = None,
        usage: Usage | None = None,
        wall_s: float = 0.0,
    ) -> None:
        usage = usage or Usage()
        self._db.execute(
            "UPDATE runs SET status = ?, ended_at = ?, answer = ?, stop_reason = ?, error = ?,"
            " tokens = ?, cost_usd = ?, wall_s = wall_s + ? WHERE run_id = ?",
            (
                status,
                _now(),
                answer,
                stop_reason,
                error,
                usage.total_tokens,
                usage.cost_usd,
                wall_s,
                run_id,
            ),
        )

    @classmethod
    def holding(cls, path: Path | str, run_id: str) -> TraceStore:
        """The store at `path`, opened without creating anything, if it holds `run_id`
        (else `RunNotFoundError` naming the run and the folder, and nothing left open)."""
        if not Path(path).is_file():
            raise RunNotFoundError(f"no run {run_id!r} in {Path(path).parent}; it has no runs yet")
        store = cls(path, create=False)
        try:
            store.get_run(run_id)
        except BaseException:
            store.close()
            raise
        return store

    def get_run(self, run_id: str) -> RunRecord:
        row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(
                f"no run {run_id!r} in {self.path}; `codehelm runs` lists the runs there"
            )
        return self._run(row)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._db.execute(
            "SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._run(row) for row in rows]

    def find_runs(
        self, *, search: str = "", status: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[RunRecord], int]:
        """A page of runs, newest first, whose id, task or answer contains `search` and whose
        status is `status` (any if None), and how many runs match in all."""
        where: list[str] = ["1 = 1"]
        params: list[str] = []
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = "LIKE ? ESCAPE '\\'"
            where.append(f"run_id {like} OR prompt {like} OR answer {like}")
            params += [f"%{escaped}%"] * 3
        alive = status in ("running", "interrupted")  # told apart by the process, not by SQL
        if status:
            where.append("status = ?")
            params.append("running" if alive else status)
        query = f"SELECT * FROM runs WHERE ({') AND ('.join(where)})"
        query += " ORDER BY started_at DESC, rowid DESC"  # runs started in the same millisecond
        if alive:
            rows = self._db.execute(query, params)
            found = [record for record in map(self._run, rows) if record.status == status]
            return found[offset : offset + limit], len(found)
        total = self._db.execute(f"SELECT COUNT(*) FROM ({query})", params).fetchone()[0]
        rows = self._db.execute(query + " LIMIT ? OFFSET ?", [*params, limit, offset])
        return [self._run(row) for row in rows], int(total)

    def run_digests(self, run_ids: Sequence[str]) -> dict[str, tuple[str | None, int]]:
        """Per run: the outcome of its latest verdict (None: never judged) and its agent
        turns (consecutive events of one agent, the user's, the runner's and people's aside)."""
        marks = ", ".join("?" * len(run_ids))
        verdicts = self._db.execute(
            "SELECT run_id, json_extract(payload, '$.outcome') FROM events"
            f" WHERE run_id IN ({marks}) AND kind = 'message' AND name = 'verdict' ORDER BY id",
            run_ids,
        )
        turns = self._db.execute(
            "SELECT run_id, COUNT(*) FROM (SELECT run_id, agent,"
            " LAG(agent) OVER (PARTITION BY run_id ORDER BY id) AS before"
            f" FROM events WHERE run_id IN ({marks}))"
            " WHERE before IS NOT agent AND agent NOT IN ('', 'user', 'runner', 'human')"
            " GROUP BY run_id",
            run_ids,
        )
        outcome: dict[str, str | None] = dict(verdicts.fetchall())
        counted: dict[str, int] = dict(turns.fetchall())
        return {r: (outcome.get(r), counted.get(r, 0)) for r in run_ids}

    def _run(self, row: tuple[Any, ...]) -> RunRecord:
        names = [d[0] for d in self._db.execute("SELECT * FROM runs LIMIT 0").description]
        data = dict(zip(names, row, strict=True))
        data["settings"] = json.loads(data["settings"])
        if data["status"] == "running" and (data["pid"] is None or not pid_alive(data["pid"])):
            data["status"] = "interrupted"
        return RunRecord.model_validate(data)

    # events

    def record(
        self,
        run_id: str,
        kind: str,
        *,
        agent: str,
        name: str,
        status: str,
        payload: dict[str, Any] | str,
        duration_ms: float | None = None,
    ) -> int:
        """Append an event; `payload` is a dict or an already-encoded JSON object."""
        if not isinstance(payload, str):
            payload = json.dumps(payload, default=str)
        cursor = self._db.execute(
            "INSERT INTO events (run_id, ts, kind, agent, name, status, duration_ms, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, _now(), kind, agent, name, status, duration_ms, payload),
        )
        return int(cursor.lastrowid or 0)

    def finish_event(
        self, event_id: int, *, status: str, duration_ms: float, payload: dict[str, Any]
    ) -> None:
        self._db.execute(
            "UPDATE events SET status = ?, duration_ms = ?, payload = ? WHERE id = ?",
            (status, duration_ms, json.dumps(payload, default=str), event_id),
        )

    def record_message(self, message: Message) -> None:
        self.record(
            message.run_id,
            "message",
            agent=message.sender,
            name=getattr(message, "type", type(message).__name__),
            status="ok",
            payload=message.model_dump_json(),
        )

    def events(
        self, run_id: str, kind: str | None = None, *, after: int = 0, limit: int = -1
    ) -> list[TraceEvent]:
        """The run's events in order: of one `kind`, with ids above `after`, the first `limit`
        (-1: all), where given."""
        query = "SELECT id, run_id, ts, kind, agent, name, status, duration_ms, payload FROM events"
        query += " WHERE run_id = ? AND id > ?" + (" AND kind = ?" if kind else "")
        query += " ORDER BY id LIMIT ?"
        params = (run_id, after, kind, limit) if kind else (run_id, after, limit)
        return [
            TraceEvent(
                id=r[0],
                run_id=r[1],
                ts=r[2],
                kind=r[3],
                agent=r[4],
                name=r[5],
                status=r[6],
                duration_ms=r[7],
                payload=json.loads(r[8]),
            )
            for r in self._db.execute(query, params).fetchall()
        ]


@dataclass
class _Call:
    """A `TraceStore` call waiting for the writer thread, and the future awaiting it."""

    do: Callable[[TraceStore], Any]
    future: asyncio.Future[Any]

    def settle(self, result: Any, error: BaseException | None) -> None:
        """Hand the outcome to the caller's event loop (from the writer thread)."""

        def settle() -> None:
            if self.future.done():  # the caller was cancelled
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        with suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting
            self.future.get_loop().call_soon_threadsafe(settle)


class _Writer(threading.Thread):
    """The one thread of this process that uses a store file: it runs the calls of every
    `RunStore` open on the file, in order, all those waiting in one transaction."""

    def __init__(self, path: Path) -> None:
        super().__init__(name=f"codehelm-trace {path}", daemon=True)
        self.path = path
        self.users = 0
        self.calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self.opened: concurrent.futures.Future[None] = concurrent.futures.Future()

    def run(self) -> None:
        try:
            store = TraceStore(self.path)
        except BaseException as exc:
            self.opened.set_exception(exc)
            return
        self.opened.set_result(None)
        try:
            while True:
                batch = self._next_batch()
                calls = [call for call in batch if call is not None]
                if calls:
                    self._write(store, calls)
                if len(calls) < len(batch):  # the end (after every call, even abandoned ones)
                    return
        finally:
            store.close()

    def _next_batch(self) -> list[_Call | None]:
        """The next call, waited for, and those already queued behind it (None: the end)."""
        batch = [self.calls.get()]
        while batch[-1] is not None and len(batch) < MAX_BATCH:
            try:
                batch.append(self.calls.get_nowait())
            except queue.Empty:
                break
        return batch

    @staticmethod
    def _write(store: TraceStore, batch: list[_Call]) -> None:
        outcomes: list[tuple[_Call, Any, BaseException | None]] = []
        try:
            store.begin()
            for call in batch:
                try:
                    outcomes.append((call, call.do(store), None))
                except Exception as exc:  # this call's statement failed; the others stand
                    outcomes.append((call, None, exc))
            store.commit()
        except sqlite3.Error as exc:  # e.g. another process held the lock too long
            store.rollback()
            outcomes = [(call, None, exc) for call in batch]
        for call, result, error in outcomes:
            call.settle(result, error)


_writers: dict[Path, _Writer] = {}
_writers_lock = threading.Lock()


class RunStore:
    """The run store for code on an event loop: `TraceStore`'s writes (and `get_run`),
    awaited. Open it with `async with RunStore.open(path) as store`."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[RunStore]:
        """The store at `path` (created if missing), shared by every run of this process."""
        path = Path(path)
        with _writers_lock:
            writer = _writers.get(path)
            if writer is None:
                writer = _writers[path] = _Writer(path)
                writer.start()
            writer.users += 1
        try:
            await asyncio.wrap_future(writer.opened)
            yield cls(writer)
        finally:
            with _writers_lock:
                writer.users -= 1
                last = writer.users == 0
                if last and _writers.get(path) is writer:
                    del _writers[path]
            if last:
                writer.calls.put(None)
                await asyncio.to_thread(writer.join)

    async def _call(self, do: Callable[[TraceStore], R]) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._writer.calls.put(_Call(do, future))
        return await future

    async def start_run(
        self, run_id: str, kind: str, prompt: str, settings: dict[str, Any]
    ) -> None:
        await self._call(lambda store: store.start_run(run_id, kind, prompt, settings))

    async def mark_running(self, run_id: str) -> None:
        await self._call(lambda store: store.mark_running(run_id))

    async def mark_paused(self, run_id: str, *, wall_s: float = 0.0) -> None:
        await self._call(lambda store: store.mark_paused(run_id, wall_s=wall_s))

    async def end_run(self, run_id: str, **outcome: Any) -> None:
        """`TraceStore.end_run`: status, answer, stop_reason, error, usage, wall_s."""
        await self._call(lambda store: store.end_run(run_id, **outcome))

    async def get_run(self, run_id: str) -> RunRecord:
        return await self._call(lambda store: store.get_run(run_id))

    async def record(self, run_id: str, kind: str, **event: Any) -> int:
        """`TraceStore.record`: agent, name, status, payload, duration_ms; the event's id."""
        return await self._call(lambda store: store.record(run_id, kind, **event))

    async def finish_event(
        self, event_id: int, *, status: str, duration_ms: float, payload: dict[str, Any]
    ) -> None:
        await self._call(
            lambda store: store.finish_event(
                event_id, status=status, duration_ms=duration_ms, payload=payload
            )
        )

    async def record_message(self, message: Message) -> None:
        await self._call(lambda store: store.record_message(message))


class TracedModel:
    """A `ModelClient` that records every call (request, reply, usage, outcome)."""

    def __init__(self, inner: ModelClient, store: RunStore, run_id: str) -> None:
        self.inner, self.store, self.run_id = inner, store, run_id
        self.name = inner.name

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion:
        start = time.perf_counter()
        try:
            reply = await self.inner.complete(messages, agent=agent, **params)
        except Exception as exc:
            await self._record(agent, messages, start, error=exc)
            raise
        await self._record(agent, messages, start, reply=reply.text, usage=reply.usage)
        return reply

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]:
        start = time.perf_counter()
        try:
            reply = await self.inner.structured(messages, schema, agent=agent, **params)
        except Exception as exc:
            await self._record(agent, messages, start, error=exc, usage=getattr(exc, "usage", None))
            raise
        await self._record(
            agent,
            messages,
            start,
            reply=reply.value.model_dump_json(),
            usage=reply.usage,
            repairs=reply.repairs,
        )
        return reply

    async def _record(
        self,
        agent: str,
        messages: Sequence[ChatMessage],
        start: float,
        *,
        reply: str | None = None,
        usage: Usage | None = None,
        error: Exception | None = None,
        repairs: int = 0,
    ) -> None:
        payload: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "reply": reply,
            "usage": (usage or Usage()).model_dump(),
            "repairs": repairs,
        }
        if error is not None:
            payload["error"] = f"{type(error).__name__}: {error}"
        await self.store.record(
            self.run_id,
            "model_call",
            agent=agent or current_agent.get(),
            name=self.name,
            status="error" if error else "ok",
            duration_ms=(time.perf_counter() - start) * 1000,
            payload=payload,
        )


class TracedSandbox(ClosesOnExit):
    """A `Sandbox` that records every execution and command, started and finished."""

    def __init__(self, inner: Sandbox, store: RunStore, run_id: str) -> None:
        self.inner, self.store, self.run_id = inner, store, run_id
        self.files: FileStore = inner.files

    async def run_code(
        self, code: str, *, language: str = "python", timeout: float | None = None
    ) -> Execution:
        request = {"code": code, "language": language}
        return await self._traced(
            "run_code", request, self.inner.run_code(code, language=language, timeout=timeout)
        )

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        request = {"command": cmd, "cwd": cwd}
        return await self._traced(
            "run_command", request, self.inner.run_command(cmd, timeout=timeout, cwd=cwd)
        )

    def sibling(self) -> TracedSandbox:
        """The inner sandbox's sibling, traced into the same run."""
        return TracedSandbox(self.inner.sibling(), self.store, self.run_id)

    async def _traced(
        self, name: str, request: dict[str, Any], call: Awaitable[Outcome]
    ) -> Outcome:
        """Record the call as running, await it, then record how it ended (a cancelled call
        as `cancelled`). It is named by its purpose where the agent set one (`call_purpose`)."""
        event = await self.store.record(
            self.run_id,
            "tool_call",
            agent=current_agent.get(),
            name=call_purpose.get() or name,
            status="running",
            payload=request,
        )
        start = time.perf_counter()
        try:
            result = await call
        except asyncio.CancelledError:
            # Recorded even though the caller is cancelled: shielded, so it is not lost.
            await asyncio.shield(self._end(event, start, "cancelled", request))
            raise
        except Exception as exc:
            await self._end(event, start, "error", {**request, "error": str(exc)})
            raise
        status = "ok" if result.ok else "timeout" if result.timed_out else "error"
        await self._end(event, start, status, {**request, **result.model_dump(mode="json")})
        return result

    async def close(self) -> None:
        await self.inner.close()

    async def _end(self, event: int, start: float, status: str, payload: dict[str, Any]) -> None:
        await self.store.finish_event(
            event, status=status, duration_ms=(time.perf_counter() - start) * 1000, payload=payload
        )
