"""Prompt templates: one jinja2 file per agent task, rendered into chat turns.

A template marks turns with lines `### system`, `### user` and `### assistant`,
so few-shot examples are real chat turns (small models follow those best).
Variables are strict: a missing one is an error, not a blank.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from codehelm.chat import ChatMessage

_TURN = re.compile(r"^### (system|user|assistant)[ \t]*$", re.MULTILINE)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("codehelm", "prompts"),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


@cache
def _template(name: str) -> Template:
    return _environment().get_template(f"{name}.j2")


def render(name: str, **variables: Any) -> list[ChatMessage]:
    """Render `prompts/<name>.j2` into chat messages."""
    text = _template(name).render(**variables)
    parts = _TURN.split(text)
    if parts[0].strip():
        raise ValueError(f"prompt {name!r} has text before its first '### role' line")
    return [
        {"role": role, "content": content.strip()}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
