"""Graph factories and request checks for `langgraph.json` (LangGraph server, `langgraph dev`).

Each graph takes the task, `{"task": {"prompt": "What is 2**64?"}}`, and answers with
`answer`, `stop_reason` and `usage`; a new task on a thread starts from a fresh state. A
run's settings are the server's (`CODEHELM_*`), overridden by the run's `context` (or
`configurable`) for the names in `RUN_SETTINGS`. `app` refuses a run whose input or
settings are invalid (422, naming the field) before it starts. The server owns
checkpointing, so graphs are compiled without a checkpointer. Settings that shape the graph
(`steer`) are read again when the server reads a thread's state: set those on an assistant
(`client.assistants.create(graph_id, context=...)`), not per run, to read state mid-run.
With `CODEHELM_APPROVE=1` each program waits at an interrupt; resume the thread with
`Command(resume={"decision": "run"})` (or `edit` with `code`, or `reject` with `reason`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pydantic
from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime
from pydantic import ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codehelm.config import Settings
from codehelm.graphs.compose import RECURSION_LIMIT
from codehelm.graphs.fix import fix_graph
from codehelm.graphs.research import research_graph
from codehelm.graphs.solve import create_solve_graph, solve_options
from codehelm.models import ModelClient, create_model
from codehelm.state import TaskInput
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.sandbox.registry import create_sandbox

RUN_SETTINGS = (
    "model",
    "steer",
    "temperature",
    "seed",
    "model_timeout",
    "max_repairs",
    "exec_timeout",
    "max_revisions",
    "max_replans",
    "candidates",
    "selector",
    "fix_candidates",
    "max_steps",
    "max_tokens",
    "max_cost_usd",
    "max_seconds",
)
"""The settings a run may choose; the rest (sandbox, keys, hosts, home, approve) are the
server's."""


def _unset(name: str) -> Any:
    """Setting `name` as a context field: its type and description, None when left out."""
    field = Settings.model_fields[name]
    annotation: Any = field.annotation
    return annotation | None, Field(default=None, description=field.description)


RunContext = pydantic.create_model(
    "RunContext", __config__=ConfigDict(extra="ignore"), **{n: _unset(n) for n in RUN_SETTINGS}
)
"""The graphs' context schema: a run's settings, each left out is the server's."""

AnyGraph = StateGraph[Any, Any, Any, Any]
GraphBuilder = Callable[[ModelClient, Sandbox, Settings], AnyGraph]
Served = CompiledStateGraph[Any, Any, Any, Any]


def run_settings(values: Mapping[str, Any]) -> Settings:
    """The server's settings with a run's own `values` (its context or configurable) for
    the names in `RUN_SETTINGS`; other names are ignored."""
    return Settings(**{k: v for k, v in values.items() if k in RUN_SETTINGS})


@asynccontextmanager
async def _serve(
    build: GraphBuilder, config: RunnableConfig, runtime: ServerRuntime
) -> AsyncIterator[Served]:
    """The graph `build` makes with the run's settings; a sandbox is opened (and closed
    after) only for a run, not when the server reads schemas or state."""
    settings = run_settings(config.get("configurable") or {})
    model = await asyncio.to_thread(create_model, settings)

    def compiled(sandbox: Sandbox) -> Served:
        graph = build(model, sandbox, settings)
        graph.context_schema = RunContext
        return graph.compile().with_config(recursion_limit=RECURSION_LIMIT)

    box = create_sandbox(settings)
    if runtime.execution_runtime is None:
        yield compiled(box)
        return
    async with box as sandbox:
        yield compiled(sandbox)


def _solve(model: ModelClient, sandbox: Sandbox, settings: Settings) -> AnyGraph:
    options = solve_options(settings)
    options["snapshots"] = None  # the server keeps no run folder to restore a sandbox from
    options["budget"], options["served"] = settings.budget(), True
    return create_solve_graph(model, sandbox, **options)


def _research(model: ModelClient, sandbox: Sandbox, settings: Settings) -> AnyGraph:
    return research_graph(model, sandbox, settings, budget=settings.budget(), served=True)


def _fix(model: ModelClient, sandbox: Sandbox, settings: Settings) -> AnyGraph:
    return fix_graph(model, sandbox, settings, budget=settings.budget(), served=True)


@asynccontextmanager
async def solve(config: RunnableConfig, runtime: ServerRuntime) -> AsyncIterator[Served]:
    """The solve graph."""
    async with _serve(_solve, config, runtime) as graph:
        yield graph


@asynccontextmanager
async def research(config: RunnableConfig, runtime: ServerRuntime) -> AsyncIterator[Served]:
    """The research graph (searches `CODEHELM_SEARCH`, e.g. the corpus `CODEHELM_CORPUS`)."""
    async with _serve(_research, config, runtime) as graph:
        yield graph


@asynccontextmanager
async def fix(config: RunnableConfig, runtime: ServerRuntime) -> AsyncIterator[Served]:
    """The fix graph (the task's `inputs` hold `repo`, a path on the server)."""
    async with _serve(_fix, config, runtime) as graph:
        yield graph


RUN_PATH = re.compile(r"(/threads/[^/]+)?/runs(/stream|/wait|/crons)?")
"""The requests that start runs (their bodies hold `input`, `context` and `config`)."""


def refusal(payload: Any) -> str | None:
    """Why a run must not start with `payload`, a request's body (None: it may)."""
    if not isinstance(payload, dict):
        return None  # the server's own checks answer
    context, config = payload.get("context") or {}, payload.get("config") or {}
    configurable = config.get("configurable") or {} if isinstance(config, dict) else None
    if not isinstance(context, dict) or not isinstance(configurable, dict):
        return None
    unknown = sorted(set(context) - set(RUN_SETTINGS))
    if unknown:
        return f"context: unknown settings {unknown}; a run may set {list(RUN_SETTINGS)}"
    problems: list[str] = []
    if payload.get("input") is not None:
        try:
            TaskInput.model_validate(payload["input"])
        except ValidationError as exc:
            problems += _described("input", exc)
    try:
        run_settings({**configurable, **context})
    except ValidationError as exc:
        problems += _described("context" if context else "configurable", exc)
    return "; ".join(problems) or None


def _described(where: str, exc: ValidationError) -> list[str]:
    return [".".join(map(str, [where, *e["loc"]])) + f": {e['msg']}" for e in exc.errors()]


class RefuseInvalidRuns:
    """ASGI middleware answering 422 to a request that would start a run with an invalid
    input or settings (`refusal`), so no run starts and the thread is left as it was."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        starts_run = scope["type"] == "http" and scope["method"] == "POST"
        if not (starts_run and RUN_PATH.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            why = refusal(json.loads(body))
        except ValueError:
            why = None  # not JSON: the server's own checks answer
        if why is not None:
            await JSONResponse({"detail": why}, status_code=422)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


app = Starlette(middleware=[Middleware(RefuseInvalidRuns)])
"""The custom app of `langgraph.json` (`http.app`): the server's routes behind
`RefuseInvalidRuns`."""
