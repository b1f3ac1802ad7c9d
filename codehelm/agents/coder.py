"""Coder: plan step -> `CodeAction` (one Python program that prints the answer)."""

from __future__ import annotations

import ast
import re
from typing import Any

from codehelm.agents.base import step_goal
from codehelm.messages import CodeAction, ErrorReport
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.state import Attempt, SolveState

_BLOCK = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(reply: str) -> str | None:
    """The Python program in a reply: its fenced blocks joined, or the reply itself if it parses.

    An unterminated fence (a reply cut off by the token limit) still counts.
    """
    blocks = [b.strip() for b in _BLOCK.findall(reply) if b.strip()]
    if blocks:
        return "\n\n".join(blocks)
    text = reply.strip()
    if "print(" not in text:
        return None
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text


def borrowed_literals(code: str, examples: str, own: str) -> list[str]:
    """Literals of `code` (strings of 3+ characters, numbers of 2+ digits) that the prompt's
    examples contain and the task's own text does not: a small model copies its few-shot
    example ("strawberry".count for a question about "potato")."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
            continue
        if isinstance(node.value, str) and len(node.value.strip()) >= 3:
            text = node.value.strip()
        elif isinstance(node.value, int | float) and abs(node.value) >= 10:
            text = str(node.value)
        else:
            continue
        whole = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)", re.IGNORECASE)
        if whole.search(examples) and not whole.search(own):
            found.append(text)
    return list(dict.fromkeys(found))


class Coder:
    """Writes code for the current step; failed attempts and their errors go in the prompt."""

    name = "coder"

    def __init__(self, model: ModelClient, *, temperature: float | None = None) -> None:
        self.model = model
        self.temperature = temperature  # None: the model's default (greedy for local)

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        step = state.step
        assert step is not None, "the coder runs only while a plan step is open"
        prompt = render(
            "coder",
            goal=step_goal(state),
            task=state.task.prompt,
            context=state.context(),
            attempts=[
                {"code": a.content, "feedback": a.feedback}
                for a in state.attempts
                if a.mode == "code"
            ],
        )
        params = {} if self.temperature is None else {"temperature": self.temperature}
        reply = await self.model.complete(prompt, agent=self.name, **params)
        stamp = {"run_id": state.task.run_id, "sender": self.name}
        code = extract_code(reply.text)
        few_shot = render("coder", goal="", task="", context="", attempts=[])[:-1]
        examples = "\n".join(m["content"] for m in few_shot)
        own = f"{step.goal}\n{state.task.prompt}\n{state.context()}"
        borrowed = borrowed_literals(code, examples, own) if code else []
        if code is None or borrowed:
            feedback = (
                f"the program uses {', '.join(map(repr, borrowed))} from the example, not from"
                " the task; use the task's own values"
                if borrowed
                else "the reply had no Python code block; answer with one ```python block"
            )
            error = ErrorReport(error=f"coder: {feedback}", detail=reply.text[:2000], **stamp)
            return {
                "action": None,
                "messages": [error],
                "usage": reply.usage,
                "attempts": [
                    *state.attempts,
                    Attempt(mode="code", content=reply.text, feedback=feedback),
                ],
            }
        action = CodeAction(step_id=step.id, code=code, purpose=step.goal, **stamp)
        return {"action": action, "execution": None, "messages": [action], "usage": reply.usage}
