"""Finding the JSON object in a model's reply, before anyone pays for a repair call.

Small models wrap their JSON in prose, follow it with an explanation, or write
near-JSON (trailing commas, single quotes, comments). Each of those is recovered
here for free; only a reply with no recoverable object goes back to the model.
A cut-off object is not "repaired": closing it would silently drop its end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import json_repair
from pydantic import ValidationError

from codehelm.chat import ChatMessage

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()
_MAX_STARTS = 20
"""How many `{` in a reply are tried as the start of the object (prose may contain braces)."""


def extract_json(text: str) -> str:
    """The JSON object in a reply, as JSON text.

    Accepts the bare object, a fenced block, an object inside or followed by prose, and
    near-JSON that `json_repair` can fix once the object's braces balance.
    """
    text = text.strip()
    if not text:
        raise ValueError("the reply was empty")
    fenced = _FENCE.search(text)
    if fenced and not text.startswith("{"):
        text = fenced.group(1).strip()
    starts = [m.start() for m in re.finditer(r"\{", text)][:_MAX_STARTS]
    if not starts:
        raise ValueError("the reply contained no JSON object")
    for start in starts:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return text[start:end]
    return _repaired(text[starts[0] :])


def _repaired(text: str) -> str:
    """Near-JSON starting at `{`, fixed by json_repair, or a ValueError saying what is wrong."""
    span = _balanced_object(text)
    if span is None:
        raise ValueError("the JSON object is cut off (its closing brace is missing)")
    value: Any = json_repair.loads(span)
    if not isinstance(value, dict) or not value:
        raise ValueError("the reply contained no valid JSON object")
    return json.dumps(value)


def _balanced_object(text: str) -> str | None:
    """`text` up to the brace that closes its first `{`, skipping strings in either quote."""
    depth, quote, escaped = 0, "", False
    for i, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[: i + 1]
    return None


def with_json_instructions(
    messages: Sequence[ChatMessage], json_schema: dict[str, Any]
) -> list[ChatMessage]:
    """`messages` with the schema spelled out in the last user turn, for providers that
    cannot constrain their output to it."""
    instruction = "Reply with only a JSON object that matches this JSON schema: " + json.dumps(
        json_schema, separators=(",", ":")
    )
    out = [dict(m) for m in messages]
    for message in reversed(out):
        if message["role"] == "user":
            message["content"] = f"{message['content']}\n\n{instruction}"
            return out
    return [*out, {"role": "user", "content": instruction}]


def describe_parse_error(exc: Exception) -> str:
    """A short, model-readable description of why a reply did not parse."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "reply"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)
