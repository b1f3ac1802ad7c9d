"""A deterministic model for tests and examples.

Replies are scripted per agent and turn, or per agent and prompt; they go
through the same `ModelGateway` as real models, so parsing, repairs and usage
are exercised.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codehelm.chat import ChatMessage
from codehelm.errors import ConfigError, ModelOutputError
from codehelm.models.gateway import ModelGateway, RawReply

ReplyFn = Callable[[str, int, Sequence[ChatMessage]], str]
"""`(agent, turn, messages) -> reply`, for replies that depend on the prompt."""

Script = Mapping[str, Sequence[str] | Mapping[str, str] | ReplyFn]


class ScriptedBackend:
    """Replies from `script[agent]`; `"*"` serves agents the script does not name.

    `script[agent]` is a list (one reply per turn; the last repeats once the
    list is used up, so one entry says "always answer X"), a mapping from a
    text to find in the latest user message to the reply (`"*"`: otherwise),
    or a `ReplyFn`. Tokens are counted as words.
    """

    def __init__(self, script: Script, *, model: str = "scripted") -> None:
        self.model = model
        self.script = dict(script)
        self.turns: dict[str, int] = defaultdict(int)
        self.calls: list[tuple[str, list[ChatMessage]]] = []

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply:
        replies = self.script.get(agent, self.script.get("*"))
        if replies is None:
            raise ModelOutputError(f"the script has no replies for agent {agent!r}")
        turn = self.turns[agent]
        self.turns[agent] += 1
        self.calls.append((agent, list(messages)))
        if callable(replies):
            text = replies(agent, turn, messages)
        elif isinstance(replies, Mapping):
            text = _reply_for_prompt(replies, messages, agent)
        else:
            if not replies:
                raise ModelOutputError(f"the script's reply list for {agent!r} is empty")
            text = replies[min(turn, len(replies) - 1)]
        prompt_words = sum(len(m["content"].split()) for m in messages)
        return RawReply(
            text=text, prompt_tokens=prompt_words, completion_tokens=len(text.split()), cost_usd=0.0
        )


def _reply_for_prompt(
    replies: Mapping[str, str], messages: Sequence[ChatMessage], agent: str
) -> str:
    prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    for needle, reply in replies.items():
        if needle != "*" and needle in prompt:
            return reply
    if "*" in replies:
        return replies["*"]
    raise ModelOutputError(f"the script has no reply for agent {agent!r} matching this prompt")


class ScriptedModel(ModelGateway):
    """A `ModelClient` that answers from a script: `ScriptedModel({"coder": ["```python..."]})`."""

    backend: ScriptedBackend

    def __init__(self, script: Script, **gateway_options: Any) -> None:
        super().__init__(ScriptedBackend(script), **gateway_options)

    @property
    def calls(self) -> list[tuple[str, list[ChatMessage]]]:
        """Every call so far as `(agent, messages)`."""
        return self.backend.calls

    @classmethod
    def from_file(cls, path: str | Path, **gateway_options: Any) -> ScriptedModel:
        """Load a JSON script: `{agent: [reply per turn, ...] or {text in prompt: reply}}`."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"script file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"script file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(_is_replies(v) for v in data.values()):
            raise ConfigError(
                f"script file {path} must map agent names to lists of replies "
                "or to objects from prompt text to reply"
            )
        return cls(data, **gateway_options)


def _is_replies(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(r, str) for r in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(r, str) for k, r in value.items())
    return False
