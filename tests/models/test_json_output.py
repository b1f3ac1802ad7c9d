"""JSON in a reply is found and mended for free: no repair call for prose or near-JSON."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from codehelm.models import ChatMessage, ScriptedModel
from codehelm.models.json_output import extract_json, with_json_instructions

PROMPT: list[ChatMessage] = [{"role": "user", "content": "give me a point"}]


class Point(BaseModel):
    x: int
    y: int


@pytest.mark.parametrize(
    "reply",
    [
        '{"x": 1, "y": 2}\n\nThis point lies in the first quadrant {as asked}.',
        '{"x": 1, "y": 2,}',
        "{'x': 1, 'y': 2}",
        "Here you go: {'x': 1, 'y': 2,} -- the point.",
        '```json\n{"x": 1, "y": 2, // y is positive\n}\n```',
        'I think {x} means the first. {"x": 1, "y": 2} is it.',
    ],
    ids=["json-then-prose", "trailing-comma", "single-quotes", "mixed", "comment", "brace-prose"],
)
async def test_near_json_is_accepted_without_a_repair_call(reply: str) -> None:
    model = ScriptedModel({"a": [reply, '{"x": 9, "y": 9}']})
    parsed = await model.structured(PROMPT, Point, agent="a")
    assert parsed.value == Point(x=1, y=2)
    assert parsed.repairs == 0 and len(model.calls) == 1 and parsed.usage.calls == 1


def test_extract_json_finds_fenced_and_embedded_objects() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json('Sure! {"a": 1} hope it helps') == '{"a": 1}'
    assert extract_json('{"a": "}"} and {"b": 2}') == '{"a": "}"}'
    assert json.loads(extract_json("{'a': \"it's\", 'b': [1, 2,],}")) == {"a": "it's", "b": [1, 2]}


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        ("   ", "empty"),
        ("no braces here", "no JSON"),
        ('{"x": 1, "y": 2', "cut off"),
        ("{'x': 'unterminated}", "cut off"),
    ],
)
def test_extract_json_refuses_what_it_cannot_recover(reply: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        extract_json(reply)


def test_json_instructions_go_into_the_last_user_turn() -> None:
    messages: list[ChatMessage] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a point?"},
        {"role": "assistant", "content": "{}"},
    ]
    out = with_json_instructions(messages, Point.model_json_schema())
    assert out[0] == messages[0] and out[2] == messages[2]
    assert out[1]["content"].startswith("a point?\n\nReply with only a JSON object")
    assert messages[1]["content"] == "a point?"  # the caller's list is not changed
    only_system = with_json_instructions([messages[0]], {"type": "object"})
    assert only_system[-1]["role"] == "user"
