"""Run a deep-research task: the research graph through the runner (checkpoints, trace,
budget, resume), then the report, its citations and the mind map, exported."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

from codehelm.agents.mindmap import MindMap
from codehelm.agents.writer import Citation
from codehelm.config import Settings
from codehelm.graphs.research import ResearchState, research_graph
from codehelm.messages import Usage
from codehelm.models import ModelClient
from codehelm.runtime.runner import OnUpdate, checkpointed_state, solve
from codehelm.runtime.trace import RunStatus
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.search.registry import create_search_provider


class ResearchResult(BaseModel):
    """How a research run ended. `answer` is the report (Markdown), None when the run
    abstained (no usable evidence) or stopped before it had any; `mindmap` is the JSON
    export of the run's mind map (an HTML drawing lies beside it)."""

    run_id: str
    status: RunStatus
    answer: str | None
    abstained: bool
    citations: list[Citation]
    mindmap: str | None
    stop_reason: str | None
    usage: Usage
    steps: int
    wall_s: float


async def research(
    question: str,
    *,
    settings: Settings | None = None,
    model: ModelClient | None = None,
    sandbox: Sandbox | None = None,
    run_id: str | None = None,
    on_update: OnUpdate | None = None,
) -> ResearchResult:
    """Research `question` in the corpus or with the search engine `settings` name."""
    settings = settings or Settings()
    # A bad setting fails now (an index is built); opening a corpus reads the disk: a thread.
    async with await asyncio.to_thread(create_search_provider, settings):
        pass
    run = await solve(
        question,
        settings=settings,
        model=model,
        sandbox=sandbox,
        run_id=run_id,
        graph=research_graph,
        on_update=on_update,
    )
    return await research_result(settings, run.run_id, run.status, run.wall_s)


async def research_result(
    settings: Settings, run_id: str, status: RunStatus, wall_s: float
) -> ResearchResult:
    """The `ResearchResult` of a research run, from its last checkpoint."""
    state = await checkpointed_state(settings, run_id, ResearchState)
    path = settings.home / "mindmaps" / f"{run_id}.json"
    mindmap = await asyncio.to_thread(export_mindmap, state, path)  # files: off the event loop
    answer = state.answer.content if state.answer else None
    return ResearchResult(
        run_id=run_id,
        status=status,
        answer=answer,
        abstained=answer is None and (state.stop_reason or "").startswith("abstained"),
        citations=state.citations if answer else [],
        mindmap=str(mindmap) if mindmap else None,
        stop_reason=state.stop_reason,
        usage=state.usage,
        steps=state.steps,
        wall_s=wall_s,
    )


def export_mindmap(state: ResearchState, path: Path) -> Path | None:
    """Write the run's mind map as JSON and as a standalone HTML page beside it."""
    if not state.mindmap.nodes:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    mind_map = MindMap.from_data(state.mindmap)
    mind_map.to_json(path)
    mind_map.to_html(path.with_suffix(".html"))
    return path
