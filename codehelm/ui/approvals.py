"""Deciding a paused run's pending approval from the browser: the viewer resumes the run
itself (as `codehelm resume` would) with the decision, in the background."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from pydantic import ValidationError

from codehelm.config import Settings
from codehelm.messages import Approval
from codehelm.runtime.runner import resume

_RUNNING: set[asyncio.Task[Any]] = set()  # kept until done, so they are not collected


def decision(form: dict[str, str]) -> dict[str, Any]:
    """An `Approval`'s fields from the form (`ValueError` naming what is missing)."""
    fields: dict[str, Any] = {"decision": form.get("decision", "")}
    if fields["decision"] == "edit":
        fields["code"] = form.get("code", "")
    if fields["decision"] == "reject":
        fields["reason"] = form.get("reason", "")
    try:
        Approval.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return fields


def resume_with(settings: Settings, run_id: str, fields: dict[str, Any]) -> None:
    """Resume `run_id` with this decision; a later approval it asks for leaves it paused."""
    answers = [fields]

    async def answer(request: dict[str, Any]) -> dict[str, Any] | None:
        return answers.pop() if answers else None

    async def run() -> None:
        try:
            await resume(run_id, settings=settings, on_approval=answer)
        except Exception as exc:  # the run records its failure; say it here too
            print(f"codehelm ui: run {run_id} failed: {exc}", file=sys.stderr)

    task = asyncio.create_task(run())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
