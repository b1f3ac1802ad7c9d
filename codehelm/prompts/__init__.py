"""Prompt templates: one jinja2 file per agent task, rendered into chat turns.

A template marks turns with lines `### system`, `### user` and `### assistant`,
so few-shot examples are real chat turns (small models follow those best).
Variables are strict: a missing one is an error, not a blank.

Only the template's own text can start a turn. Each substituted value (`{{ ... }}`) is
sealed while the template renders, the turns are cut at the role lines of that text,
and only then is each value put back into its turn. So a task, a program or an error
message containing a line `### assistant` stays text inside its turn: no input can
forge a model turn. Loops in a template may still produce turns (one pair per failed
attempt, say), because their role lines are template text; a role line that reaches the
output through `{{ ... }}` (a macro's result, say) is sealed like any value.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, Template

from codehelm.chat import ChatMessage

# Read at import, so rendering never reads a file (it runs on agents' event loops).
_SOURCES = {
    entry.name: entry.read_text(encoding="utf-8")
    for entry in resources.files(__name__).iterdir()
    if entry.name.endswith(".j2")
}
_TURN = re.compile(r"^### (system|user|assistant)[ \t]*$", re.MULTILINE)
_SEALED = re.compile("\0([0-9a-f]*)\0")


def _seal(value: Any) -> str:
    """A substituted value as hex between NULs: it can hold no line, so no role line."""
    return "\0" + str(value).encode("utf-8", "surrogatepass").hex() + "\0"


def _unseal(text: str) -> str:
    return _SEALED.sub(lambda m: bytes.fromhex(m[1]).decode("utf-8", "surrogatepass"), text)


@cache
def _environment() -> Environment:
    return Environment(
        loader=DictLoader(_SOURCES),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
        finalize=_seal,
    )


@cache
def _template(name: str) -> Template:
    return _environment().get_template(f"{name}.j2")


def render(name: str, **variables: Any) -> list[ChatMessage]:
    """Render `prompts/<name>.j2` into chat messages."""
    parts = _TURN.split(_template(name).render(**variables))
    if parts[0].strip():
        raise ValueError(f"prompt {name!r} has text before its first '### role' line")
    return [
        {"role": role, "content": _unseal(content).strip()}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
