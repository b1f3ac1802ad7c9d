"""The model gateway: one client for every provider, with typed output, repairs and retries.

`ModelGateway` owns what is common to all models — timeouts, retries with
backoff, usage accounting, structured output with bounded repair — and hands
the raw chat call to a `Backend` (litellm for real providers, a script for
tests). Agents only see the `ModelClient` protocol.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from codehelm.chat import ChatMessage
from codehelm.errors import ModelCallError, ModelOutputError
from codehelm.messages import Usage

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Completion:
    """A model's text reply and what it cost."""

    text: str
    usage: Usage


@dataclass(frozen=True)
class Structured(Generic[T]):
    """A reply parsed into `value`; `usage` covers every attempt, repairs included."""

    value: T
    usage: Usage
    repairs: int = 0


@runtime_checkable
class ModelClient(Protocol):
    """What agents call. `agent` names the caller (for scripted replies and the trace)."""

    name: str

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion: ...

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]: ...


class TransientModelError(Exception):
    """A backend failure worth retrying (rate limit, connection, overloaded server)."""


@dataclass(frozen=True)
class RawReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


class Backend(Protocol):
    """One raw chat call. `json_schema`, when given, asks for output constrained to it."""

    model: str

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply: ...


class ModelGateway:
    """A `ModelClient` over any `Backend`."""

    def __init__(
        self,
        backend: Backend,
        *,
        timeout: float = 300.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_repairs: int = 2,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.name = backend.model
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_repairs = max_repairs
        self.defaults = defaults or {}

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion:
        return await self._call(messages, params, agent=agent, json_schema=None)

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]:
        """Ask for JSON matching `schema`; feed validation errors back up to `max_repairs` times."""
        json_schema = schema.model_json_schema()
        transcript = list(messages)
        usage = Usage()
        error = ""
        for attempt in range(self.max_repairs + 1):
            reply = await self._call(transcript, params, agent=agent, json_schema=json_schema)
            usage = usage + reply.usage
            try:
                value = schema.model_validate_json(extract_json(reply.text))
                return Structured(value=value, usage=usage, repairs=attempt)
            except (ValidationError, ValueError) as exc:
                error = describe_parse_error(exc)
            transcript += [
                {"role": "assistant", "content": reply.text},
                {
                    "role": "user",
                    "content": f"That reply was not valid: {error}. "
                    "Reply again with only the JSON object.",
                },
            ]
        raise ModelOutputError(
            f"{self.name} gave no valid {schema.__name__} after {self.max_repairs + 1} "
            f"attempts (agent {agent or '?'}): {error}",
            usage=usage,
        )

    async def _call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> Completion:
        merged = {**self.defaults, **params}
        for attempt in range(self.retries + 1):
            start = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    raw = await self.backend.call(
                        messages, merged, agent=agent, json_schema=json_schema
                    )
            except TimeoutError as exc:
                raise ModelCallError(
                    f"{self.name} did not answer within {self.timeout:g} s "
                    "(raise the model timeout with CODEHELM_MODEL_TIMEOUT)"
                ) from exc
            except TransientModelError as exc:
                if attempt == self.retries:
                    raise ModelCallError(
                        f"{self.name} failed after {self.retries + 1} attempts: {exc}"
                    ) from exc
                await asyncio.sleep(self.backoff * 2**attempt)
                continue
            usage = Usage(
                model=self.name,
                prompt_tokens=raw.prompt_tokens,
                completion_tokens=raw.completion_tokens,
                cost_usd=raw.cost_usd,
                latency_ms=(time.perf_counter() - start) * 1000,
                calls=1,
            )
            return Completion(text=raw.text, usage=usage)
        raise AssertionError("unreachable")


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> str:
    """The JSON object in a reply: the whole reply, a fenced block, or the outermost braces."""
    text = text.strip()
    if not text:
        raise ValueError("the reply was empty")
    if text.startswith("{"):
        return text
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("the reply contained no JSON object")
    return text[start : end + 1]


def describe_parse_error(exc: Exception) -> str:
    """A short, model-readable description of why a reply did not parse."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "reply"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)
