"""Graph factories for `langgraph.json` (LangGraph server, `langgraph dev`).

The server owns checkpointing, so graphs are compiled without a checkpointer;
model, sandbox and limits come from `Settings` (the `CODEHELM_*` variables).
Post input as `{"task": {"prompt": "What is 2**64?"}}`. With `CODEHELM_APPROVE=1` each
program waits at an interrupt; resume the thread with `Command(resume={"decision": "run"})`
(or `edit` with `code`, or `reject` with `reason`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from codehelm.config import Settings
from codehelm.graphs.compose import RECURSION_LIMIT
from codehelm.graphs.solve import build_solve_graph
from codehelm.models import create_model
from codehelm.tools.sandbox.registry import create_sandbox


@asynccontextmanager
async def solve(config: RunnableConfig) -> AsyncIterator[CompiledStateGraph[Any, Any, Any, Any]]:
    """The solve graph with a sandbox of its own, closed when the server is done with it."""
    settings = Settings()
    async with create_sandbox(settings) as sandbox:
        yield build_solve_graph(
            create_model(settings),
            sandbox,
            policy=settings.steer,
            exec_timeout=settings.exec_timeout,
            max_revisions=settings.max_revisions,
            max_replans=settings.max_replans,
            approve=settings.approve,
            budget=settings.budget(),
        ).with_config(recursion_limit=RECURSION_LIMIT)
