"""What a run page shows from the run's last checkpoint: a research run's mind map, report
and citations, a fix run's patch and tests, and a paused run's pending approval."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from codehelm.agents.mindmap import MindMap
from codehelm.agents.mindmap_render import draw_html
from codehelm.agents.writer import Citation
from codehelm.config import Settings
from codehelm.errors import CodehelmError
from codehelm.graphs.research import ResearchState
from codehelm.runtime.checkpoints import open_checkpointer
from codehelm.runtime.database import is_url
from codehelm.runtime.fix import FixResult, fix_result
from codehelm.runtime.runner import checkpoint_serializer, checkpointed_state
from codehelm.runtime.trace import RunRecord

_SVG = re.compile(r"<svg.*</svg>", re.DOTALL)


async def _has_checkpoints(settings: Settings) -> bool:
    """Whether there are checkpoints to read: a SQLite file must be there already (opening
    it would create it; looked for off the event loop); a PostgreSQL database is asked."""
    location = settings.checkpoint_location
    return is_url(location) or await asyncio.to_thread(Path(location).is_file)


class Research(BaseModel):
    report: str | None
    citations: list[Citation]
    mindmap_svg: str | None
    stop_reason: str | None


async def research(settings: Settings, run_id: str) -> Research | None:
    """The report, its citations and the mind map drawn as SVG (None: no checkpoint yet)."""
    if not await _has_checkpoints(settings):
        return None
    try:
        state = await checkpointed_state(settings, run_id, ResearchState)
    except CodehelmError:
        return None
    drawing = None
    if state.mindmap.nodes:
        found = _SVG.search(draw_html(MindMap.from_data(state.mindmap)))
        drawing = found.group(0) if found else None
    return Research(
        report=state.answer.content if state.answer else None,
        citations=state.citations,
        mindmap_svg=drawing,
        stop_reason=state.stop_reason,
    )


async def fix(settings: Settings, record: RunRecord) -> FixResult | None:
    """The fix run's patch, checks and candidates (None: no checkpoint yet)."""
    if not await _has_checkpoints(settings):
        return None
    try:
        return await fix_result(settings, record.run_id, record.status, record.wall_s)
    except CodehelmError:
        return None


async def pending_approval(settings: Settings, run_id: str) -> dict[str, Any] | None:
    """What a paused run waits for: the approver's request (`code`, `goal`, ...), if any."""
    if not await _has_checkpoints(settings):
        return None
    config: Any = {"configurable": {"thread_id": run_id}}
    async with open_checkpointer(settings.checkpoint_location, checkpoint_serializer()) as saver:
        saved = await saver.aget_tuple(config)
    for _, channel, value in (saved.pending_writes or []) if saved else []:
        if channel == "__interrupt__":
            interrupts = value if isinstance(value, list | tuple) else [value]
            request = getattr(interrupts[0], "value", None)
            return request if isinstance(request, dict) else None
    return None
