"""Run and resume solve runs: checkpoints, trace, budgets, approvals, progress callbacks.

A run's id is its LangGraph thread id. Each step is checkpointed before the
next starts (`durability="sync"`), so a killed run resumes from its last
completed step without repeating the model or tool calls that step made. A run
that waits for a person's approval is paused at a checkpointed interrupt, so it
also survives its process exiting.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from pydantic import BaseModel

from codehelm.agents.mindmap import MIND_MAP_TYPES
from codehelm.agents.writer import Citation
from codehelm.config import Settings
from codehelm.errors import (
    CodehelmError,
    ConfigError,
    ContextWindowError,
    ModelCallError,
    ModelRequestError,
    RunBusyError,
    RunNotFoundError,
)
from codehelm.graphs.budget import budget_exceeded
from codehelm.graphs.compose import (
    FINISH,
    RECURSION_LIMIT,
    guards_its_budget,
    new_task,
    stop_early,
)
from codehelm.graphs.fix import FIX_TYPES
from codehelm.graphs.research import ResearchState
from codehelm.graphs.solve import SolveGraph, create_solve_graph, solve_options
from codehelm.messages import MESSAGE_TYPES, Answer, ErrorReport, Usage, Verdict
from codehelm.models import ModelClient, cost_unenforceable, create_model
from codehelm.runtime.bound import RunModel, RunSandbox, SharedGraphs, bind_run
from codehelm.runtime.checkpoints import open_checkpointer
from codehelm.runtime.database import Location, shown
from codehelm.runtime.trace import (
    HOST,
    RunStatus,
    RunStore,
    TracedModel,
    TracedSandbox,
    TraceStore,
)
from codehelm.snapshot_ref import SnapshotRef
from codehelm.state import Attempt, ProgramTests, SolveState
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.sandbox.registry import create_sandbox
from codehelm.tools.sandbox.snapshot import restore_snapshot

OnUpdate = Callable[[str, dict[str, Any]], None]
"""Called after each node with its name and the state update it returned."""

GraphFactory = Callable[[ModelClient, Sandbox, Settings], StateGraph[Any, Any, Any, Any]]
"""Builds a run's graph, uncompiled, from the run's (traced) model and sandbox and its
settings; the runner compiles it with its checkpointer, for each run. `solve_graph` is the
default, compiled once per settings and event loop and shared by runs (`_Run._compiled`)."""

OnApproval = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
"""Asked for a decision on a program (the approver's request: `code`, `goal`, ...);
returns an `Approval`'s fields, e.g. `{"decision": "run"}`, or None to leave the run paused."""

FINISHED = ("verified", "reproduced", "unverified")
_SHARED = SharedGraphs()


class BudgetWarning(UserWarning):
    """A limit of the run's budget cannot be enforced (e.g. dollars for an unpriced model)."""


class RunResult(BaseModel):
    """How a run ended: done (answered), stopped (budget or gave up), failed, or paused
    (waiting for a person's approval of `pending`; `codehelm resume` continues it).

    `verdict` is the verifier's outcome for the answer (None when it was never judged).
    `partial` holds the accepted results of plan steps by goal: intermediate values, shown
    apart from the answer (a run stopped before its last step has no answer).
    """

    run_id: str
    status: RunStatus
    answer: Answer | None = None
    verdict: Literal["pass", "fail", "uncertain"] | None = None
    stop_reason: str | None = None
    pending: dict[str, Any] | None = None
    partial: dict[str, str] = {}
    usage: Usage = Usage()
    steps: int = 0
    wall_s: float = 0.0


def solve_graph(model: ModelClient, sandbox: Sandbox, settings: Settings) -> SolveGraph:
    """The prebuilt solve graph, configured by `settings` (the default `GraphFactory`)."""
    return create_solve_graph(model, sandbox, **solve_options(settings))


def checkpoint_serializer() -> JsonPlusSerializer:
    """Checkpoints may only revive codehelm's own message and state types."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[
            *MESSAGE_TYPES,
            SolveState,
            Attempt,
            ProgramTests,
            SnapshotRef,
            ResearchState,
            Citation,
            *MIND_MAP_TYPES,
            *FIX_TYPES,
        ]
    )


async def solve(
    prompt: str,
    *,
    settings: Settings | None = None,
    model: ModelClient | None = None,
    sandbox: Sandbox | None = None,
    run_id: str | None = None,
    approve: bool | None = None,
    graph: GraphFactory = solve_graph,
    inputs: dict[str, Any] | None = None,
    on_update: OnUpdate | None = None,
    on_approval: OnApproval | None = None,
) -> RunResult:
    """Solve `prompt` with the solve graph, or the graph `graph` builds; the run is
    checkpointed and traced under its id, listed by `codehelm runs`, and resumable.

    With `approve` (default: `settings.approve`) each program waits for `on_approval`
    before it runs; without `on_approval` the run pauses at the first program and
    `resume(run_id, on_approval=...)` continues it. `inputs` go into the task for the graph
    (the fix graph reads its repository there). A graph of your own is held to the
    settings' budget after every node (count a node's steps with `agent_node`); `resume`
    finds it again by its import path, or takes it as `graph=`.
    """
    settings = settings or Settings()
    if approve is not None:
        settings = settings.model_copy(update={"approve": approve})
    if not prompt.strip():
        raise ConfigError("the task is empty: say what to solve")
    unenforceable = cost_unenforceable(settings) if model is None else None
    if model is None:  # it may load files (a script, the embedded model's weights)
        model = await asyncio.to_thread(create_model, settings)
    task = new_task(prompt, run_id=run_id, budget=settings.budget(), inputs=inputs)
    initial = SolveState(task=task, messages=[task])
    if unenforceable is not None:  # say so now, not after the money is spent
        warnings.warn(unenforceable, BudgetWarning, stacklevel=2)
        note = ErrorReport(
            error="the dollar budget cannot be enforced",
            detail=unenforceable,
            run_id=task.run_id,
            sender="runner",
        )
        initial = initial.model_copy(update={"messages": [task, note]})
    async with RunStore.open(settings.trace_location) as store:
        if run_id is not None and await _resumable(store, settings, run_id):
            raise ConfigError(
                f"run {run_id} already exists: resume it (`codehelm resume {run_id}`), or give"
                " the new run another id"
            )
        owned = sandbox is None
        box = sandbox if sandbox is not None else create_sandbox(settings)
        secret = {"home", "database_url", "e2b_api_key", "tavily_api_key"}
        await store.start_run(
            task.run_id, _kind(graph), prompt, settings.model_dump(mode="json", exclude=secret)
        )
        for message in initial.messages:
            await store.record_message(message)
        run = _Run(store, task.run_id, settings, graph, model, box, owned)
        return await run.drive(initial, on_update, on_approval)


async def resume(
    run_id: str,
    *,
    settings: Settings | None = None,
    model: ModelClient | None = None,
    sandbox: Sandbox | None = None,
    graph: GraphFactory | None = None,
    on_update: OnUpdate | None = None,
    on_approval: OnApproval | None = None,
    take_over: bool = False,
) -> RunResult:
    """Continue run `run_id` from its last checkpoint (or its pending approval), with the
    settings and graph it started with. A finished run is not run again: its result is
    returned. A run another live process drives is `RunBusyError`; on another machine a dead
    process cannot be told from a live one, so `take_over` says the caller knows it is dead
    (a scheduler retrying the job of a lost worker)."""
    settings = settings or Settings()
    await asyncio.to_thread(_check_held, settings.trace_location, run_id)
    async with RunStore.open(settings.trace_location) as store:
        record = await store.get_run(run_id)
        elsewhere = (record.pid, record.host) != (os.getpid(), HOST)
        if record.status == "running" and elsewhere and not take_over:
            on = f" on {record.host}" if record.host not in (None, HOST) else ""
            raise RunBusyError(
                f"run {run_id} is still running in process {record.pid}{on}; wait for it to end,"
                f" or stop it (kill {record.pid}{on}) and resume it then"
            )
        where = {"home": settings.home, "database_url": settings.database_url}
        run_settings = Settings.model_validate({**record.settings, **where})
        if record.status in ("done", "stopped"):
            state = await checkpointed_state(run_settings, run_id, SolveState)
            return result_of(run_id, record.status, state, None, record.wall_s)
        if await _checkpoint(run_settings, run_id) is None:
            raise RunNotFoundError(
                f"run {run_id} ended before its first checkpoint: there is nothing to resume;"
                " solve its task again"
            )
        factory = graph or _factory(record.kind, run_id)
        if model is None:
            model = await asyncio.to_thread(create_model, run_settings)
        owned = sandbox is None
        box = sandbox if sandbox is not None else create_sandbox(run_settings)
        await store.mark_running(run_id)
        run = _Run(store, run_id, run_settings, factory, model, box, owned)
        return await run.drive(None, on_update, on_approval)


async def solve_once(
    prompt: str,
    run_id: str,
    *,
    settings: Settings | None = None,
    graph: GraphFactory = solve_graph,
    take_over: bool = False,
) -> RunResult:
    """Solve `prompt` as run `run_id`, once however often it is called: a finished run's
    result comes back, an unfinished one goes on from its last checkpoint, and a run not
    started yet (or that died before its first checkpoint) starts.

    For jobs a scheduler may run again after their worker died (Ray retries them): the
    retry neither repeats finished steps nor leaves a second run behind. A run another
    live process drives is `RunBusyError` unless `take_over` (see `resume`).
    """
    try:
        return await resume(run_id, settings=settings, graph=graph, take_over=take_over)
    except RunNotFoundError:
        return await solve(prompt, settings=settings, run_id=run_id, graph=graph)


def _check_held(location: Location, run_id: str) -> None:
    """`RunNotFoundError` unless the store at `location` holds `run_id` (no file is made)."""
    TraceStore.holding(location, run_id).close()


def _kind(graph: GraphFactory) -> str:
    """What a run records of its graph: "solve", or the import path of a graph of your own."""
    if graph is solve_graph:
        return "solve"
    return f"graph:{graph.__module__}:{graph.__qualname__}"


def _factory(kind: str, run_id: str) -> GraphFactory:
    """The graph factory a run recorded (see `_kind`)."""
    if kind == "solve":
        return solve_graph
    path = kind.removeprefix("graph:")
    module, _, name = path.partition(":")
    try:
        found: GraphFactory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"run {run_id} was made by the graph {path}, which cannot be imported here;"
            " pass it as resume(..., graph=...)"
        ) from None
    return found


class _Run:
    """One drive of a run's graph: stream, record, ask for approvals, settle the result."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        settings: Settings,
        factory: GraphFactory,
        model: ModelClient,
        box: Sandbox,
        owned: bool,
    ) -> None:
        self.store, self.run_id, self.settings = store, run_id, settings
        self.factory, self.model, self.box, self.owned = factory, model, box, owned
        self.on_update: OnUpdate | None = None
        self.on_approval: OnApproval | None = None
        self.last_node: str | None = None  # the latest node that ran (where stops are applied)
        self.config: Any = {
            "configurable": {"thread_id": run_id},
            "recursion_limit": RECURSION_LIMIT,
        }

    async def drive(
        self,
        initial: SolveState | None,
        on_update: OnUpdate | None = None,
        on_approval: OnApproval | None = None,
    ) -> RunResult:
        """Stream the graph from `initial` (None: from the last checkpoint); close the
        sandbox if the run owns it."""
        self.on_update, self.on_approval = on_update, on_approval
        start = time.perf_counter()
        settings = self.settings
        model = TracedModel(self.model, self.store, self.run_id)
        box = TracedSandbox(self.box, self.store, self.run_id)
        try:
            async with open_checkpointer(
                settings.checkpoint_location, checkpoint_serializer()
            ) as saver:
                graph = self._compiled(model, box).copy({"checkpointer": saver})
                with bind_run(model, box):
                    if initial is None:
                        current = await self._state(graph)
                        await self.store.record_missing(self.run_id, current.messages)
                        if current.snapshot is not None:
                            await self._restore(current.snapshot)
                    state, pending = await self._stream(graph, initial)
        except Exception as exc:
            error = str(exc) if isinstance(exc, CodehelmError) else f"{type(exc).__name__}: {exc}"
            wall_s = time.perf_counter() - start
            await self.store.end_run(self.run_id, status="failed", error=error, wall_s=wall_s)
            raise
        finally:
            if self.owned:
                await self.box.close()
        return await self._result(state, pending, time.perf_counter() - start)

    def _compiled(self, model: TracedModel, box: TracedSandbox) -> Any:
        """The run's graph, compiled without a checkpointer. The solve graph is compiled once
        per settings and event loop and shared by runs (its agents call the run's model and
        sandbox through `RunModel` and `RunSandbox`); a graph of your own is built per run."""
        settings = self.settings
        if self.factory is not solve_graph:
            return self.factory(model, box, settings).compile()
        return _SHARED.get(
            settings.model_dump_json(),
            lambda: solve_graph(RunModel(), RunSandbox(), settings).compile(),
        )

    async def _stream(self, graph: Any, inputs: Any) -> tuple[SolveState, dict[str, Any] | None]:
        """Run until the graph ends, or pauses for an approval nobody can give now."""
        while True:
            current = inputs if isinstance(inputs, SolveState) else await self._state(graph)
            remaining = _remaining_seconds(current)
            try:
                async with asyncio.timeout(remaining):
                    async for chunk in graph.astream(
                        inputs, self.config, stream_mode="updates", durability="sync"
                    ):
                        await self._record(chunk)
                        if await self._over_budget(graph):
                            break
            except TimeoutError:
                state = await self._state(graph)
                reason = budget_exceeded(state.task.budget, state)
                await self._stop(graph, reason or f"budget: wall time {remaining:g} s ran out")
            except ModelCallError as exc:  # the provider failed for good: keep what we have
                await self._stop(graph, f"model error: {exc}")
            except (ContextWindowError, ModelRequestError) as exc:
                if (await self._state(graph)).plan is None:
                    raise  # the task itself does not fit or is refused: bad input
                await self._stop(graph, f"model error: {exc}")  # a prompt grew too long
            snapshot = await graph.aget_state(self.config)
            state = SolveState.model_validate(snapshot.values)
            if not snapshot.interrupts:
                return state, None
            request: dict[str, Any] = snapshot.interrupts[0].value
            if self.on_approval is None:
                return state, request
            await self.store.mark_paused(self.run_id)
            decision = await self.on_approval(request)
            if decision is None:  # nobody can decide now: stay paused
                return state, request
            await self.store.mark_running(self.run_id)
            inputs = Command(resume=decision)

    async def _record(self, chunk: dict[str, Any]) -> None:
        for node, delta in chunk.items():
            if node == "__interrupt__":
                continue
            self.last_node = node
            for message in (delta or {}).get("messages", []):
                await self.store.record_message(message)
            if self.on_update is not None:
                self.on_update(node, delta or {})

    async def _over_budget(self, graph: Any) -> bool:
        """Stop a graph of your own that is over budget (graphs built with `add_route`, such
        as the solve graph, guard their budget on every route and are not asked)."""
        if guards_its_budget(graph):
            return False
        state = await self._state(graph)
        reason = budget_exceeded(state.task.budget, state)
        if reason is not None:
            await self._stop(graph, reason)
        return reason is not None

    async def _stop(self, graph: Any, reason: str) -> None:
        """End the run now, mid-step: settle the best answer so far as its result, and
        leave the thread with nothing left to run."""
        update = stop_early(await self._state(graph), reason)
        if FINISH in graph.nodes:
            await graph.aupdate_state(self.config, update, as_node=FINISH)
            return
        await graph.aupdate_state(self.config, update, as_node=self.last_node or START)
        await graph.aupdate_state(self.config, None, as_node=END)

    async def _state(self, graph: Any) -> SolveState:
        return SolveState.model_validate((await graph.aget_state(self.config)).values)

    async def _result(
        self, state: SolveState, pending: dict[str, Any] | None, wall_s: float
    ) -> RunResult:
        status: RunStatus
        if pending is not None:
            status = "paused"
            await self.store.mark_paused(self.run_id, wall_s=wall_s)
        else:
            status = "done" if _answered(state) else "stopped"
            await self.store.end_run(
                self.run_id,
                status=status,
                answer=state.answer.content if state.answer else None,
                stop_reason=state.stop_reason,
                usage=state.usage,
                wall_s=wall_s,
            )
        return result_of(self.run_id, status, state, pending, wall_s)

    async def _restore(self, ref: SnapshotRef) -> None:
        """Give a resumed run's new sandbox the variables and files of the last snapshot."""
        start = time.perf_counter()
        lost = await restore_snapshot(self.box, ref)
        payload = {"snapshot": ref.path, "restored": ref.variables, "lost": lost}
        await self.store.record(
            self.run_id,
            "tool_call",
            agent="runner",
            name="restore_snapshot",
            status="ok",
            duration_ms=(time.perf_counter() - start) * 1000,
            payload=payload,
        )
        if self.on_update is not None:
            self.on_update("restore", payload)


def _answered(state: SolveState) -> bool:
    """A run is done when it answered: the solve graph says how; a graph of your own that
    ends with an answer and no stop reason answered too."""
    return state.stop_reason in FINISHED or (state.stop_reason is None and bool(state.answer))


def _remaining_seconds(state: SolveState) -> float | None:
    limit = state.task.budget.max_seconds
    if limit is None:
        return None
    return max(0.0, limit - state.elapsed_ms / 1000)


def result_of(
    run_id: str,
    status: RunStatus,
    state: SolveState,
    pending: dict[str, Any] | None,
    wall_s: float,
) -> RunResult:
    """The `RunResult` of a run whose graph is at `state`."""
    answer = state.answer
    verdicts = {m.target_id: m.outcome for m in state.messages if isinstance(m, Verdict)}
    return RunResult(
        run_id=run_id,
        status=status,
        answer=answer,
        verdict=verdicts.get(answer.id) if answer else None,
        stop_reason=state.stop_reason,
        pending=pending,
        partial=state.results_by_goal(),
        usage=state.usage,
        steps=state.steps,
        wall_s=wall_s,
    )


State = TypeVar("State", bound=SolveState)


async def checkpointed_state(
    settings: Settings,
    run_id: str,
    schema: type[State] = SolveState,  # type: ignore[assignment]
) -> State:
    """A run's state (as `schema`) at its last checkpoint, read without building its graph."""
    saved = await _checkpoint(settings, run_id)
    if saved is None:
        location = shown(settings.checkpoint_location)
        raise RunNotFoundError(f"run {run_id} has no checkpoint in {location}")
    return schema.model_validate(saved.checkpoint["channel_values"])


async def _resumable(store: RunStore, settings: Settings, run_id: str) -> bool:
    """Whether `store` holds run `run_id` with a checkpoint to go on from."""
    try:
        await store.get_run(run_id)
    except RunNotFoundError:
        return False
    return await _checkpoint(settings, run_id) is not None


async def _checkpoint(settings: Settings, run_id: str) -> CheckpointTuple | None:
    """Run `run_id`'s last checkpoint, if it has one."""
    config: Any = {"configurable": {"thread_id": run_id}}
    async with open_checkpointer(settings.checkpoint_location, checkpoint_serializer()) as saver:
        return await saver.aget_tuple(config)
