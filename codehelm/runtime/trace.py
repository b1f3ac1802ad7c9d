"""The run store: every run, message, model call and tool call, in one local SQLite file.

Nothing leaves the machine. `TracedModel` and `TracedSandbox` wrap the real
model and sandbox so agents stay unaware of tracing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Sequence
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
Outcome = TypeVar("Outcome", Execution, CommandResult)

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
            self._db.execute("PRAGMA busy_timeout=5000")
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

    def events(self, run_id: str, kind: str | None = None) -> list[TraceEvent]:
        query = "SELECT id, run_id, ts, kind, agent, name, status, duration_ms, payload FROM events"
        query += " WHERE run_id = ?" + (" AND kind = ?" if kind else "") + " ORDER BY id"
        params = (run_id, kind) if kind else (run_id,)
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


class TracedModel:
    """A `ModelClient` that records every call (request, reply, usage, outcome)."""

    def __init__(self, inner: ModelClient, store: TraceStore, run_id: str) -> None:
        self.inner, self.store, self.run_id = inner, store, run_id
        self.name = inner.name

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion:
        start = time.perf_counter()
        try:
            reply = await self.inner.complete(messages, agent=agent, **params)
        except Exception as exc:
            self._record(agent, messages, start, error=exc)
            raise
        self._record(agent, messages, start, reply=reply.text, usage=reply.usage)
        return reply

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]:
        start = time.perf_counter()
        try:
            reply = await self.inner.structured(messages, schema, agent=agent, **params)
        except Exception as exc:
            self._record(agent, messages, start, error=exc, usage=getattr(exc, "usage", None))
            raise
        self._record(
            agent,
            messages,
            start,
            reply=reply.value.model_dump_json(),
            usage=reply.usage,
            repairs=reply.repairs,
        )
        return reply

    def _record(
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
        self.store.record(
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

    def __init__(self, inner: Sandbox, store: TraceStore, run_id: str) -> None:
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
        event = self.store.record(
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
            self._end(event, start, "cancelled", request)
            raise
        except Exception as exc:
            self._end(event, start, "error", {**request, "error": str(exc)})
            raise
        status = "ok" if result.ok else "timeout" if result.timed_out else "error"
        self._end(event, start, status, {**request, **result.model_dump(mode="json")})
        return result

    async def close(self) -> None:
        await self.inner.close()

    def _end(self, event: int, start: float, status: str, payload: dict[str, Any]) -> None:
        self.store.finish_event(
            event, status=status, duration_ms=(time.perf_counter() - start) * 1000, payload=payload
        )
