"""Reasoner: plan step -> candidate `Answer` by textual reasoning, no code."""

from __future__ import annotations

import re
from typing import Any

from codehelm.agents.base import step_goal
from codehelm.messages import Answer
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.state import SolveState

_ANSWER = re.compile(r"^\s*\**answer\**\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def extract_text_answer(reply: str) -> str:
    """The text after the last `Answer:` line, else the last non-empty line."""
    found = _ANSWER.findall(reply)
    if found:
        return str(found[-1]).strip().rstrip(".")
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return lines[-1] if lines else ""


class Reasoner:
    name = "reasoner"

    def __init__(self, model: ModelClient) -> None:
        self.model = model

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        step = state.step
        assert step is not None, "the reasoner runs only while a plan step is open"
        prompt = render(
            "reasoner",
            goal=step_goal(state),
            task=state.task.prompt,
            context=state.context(),
            attempts=[
                {"text": a.content, "feedback": a.feedback}
                for a in state.attempts
                if a.mode == "text"
            ],
        )
        reply = await self.model.complete(prompt, agent=self.name)
        candidate = Answer(
            content=extract_text_answer(reply.text),
            rationale=reply.text,
            step_id=step.id,
            mode="text",
            usage=reply.usage,
            run_id=state.task.run_id,
            sender=self.name,
        )
        return {"candidate": candidate, "messages": [candidate], "usage": reply.usage}
