"""The model gateway: one client for every provider, with typed output, repairs and retries.

`ModelGateway` owns what is common to all models — timeouts, retries with
backoff, usage accounting, structured output with bounded repair — and hands
the raw chat call to a `Backend` (litellm for real providers, a script for
tests). Agents only see the `ModelClient` protocol.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from codehelm.chat import ChatMessage
from codehelm.errors import ModelCallError, ModelOutputError
from codehelm.messages import Usage
from codehelm.models.json_output import describe_parse_error, extract_json, with_json_instructions

T = TypeVar("T", bound=BaseModel)

MAX_BACKOFF = 30.0
"""Longest pause between two attempts that the gateway picks itself."""
MAX_RETRY_AFTER = 60.0
"""Longest pause a provider's Retry-After header can ask for."""


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

    @property
    def name(self) -> str: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion: ...

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]: ...


@functools.lru_cache(maxsize=64)  # bounded: some agents make a schema class per call
def _json_schema_text(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema())


def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """`schema`'s JSON schema, a fresh copy; pydantic takes milliseconds to make one, so
    each model class's is made once."""
    loaded: dict[str, Any] = json.loads(_json_schema_text(schema))
    return loaded


class TransientModelError(Exception):
    """A backend failure worth retrying (rate limit, connection, overloaded server, timeout).

    `retry_after` is the pause in seconds the provider asked for, if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SchemaRejectedError(Exception):
    """The provider refuses output constrained to a JSON schema.

    A backend raises it for a call with `json_schema`; the gateway then asks again with
    the schema written into the prompt instead. A backend that learnt this may raise it
    without calling the provider again.
    """


class _TimedOut(TransientModelError):
    """One attempt outlived the gateway's timeout."""


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
    """A `ModelClient` over any `Backend`.

    Each attempt gets `timeout` seconds. Transient failures (`TransientModelError`, timeouts
    included) are tried again up to `retries` times, after a jittered exponential pause that
    starts at `backoff` seconds and is at least what the provider's Retry-After asked for.
    Every other failure is final at once.
    """

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
        self._backoff_wait = wait_exponential(multiplier=backoff, max=MAX_BACKOFF) + wait_random(
            0, backoff
        )

    async def complete(
        self, messages: Sequence[ChatMessage], *, agent: str = "", **params: Any
    ) -> Completion:
        return await self._call(messages, params, agent=agent, json_schema=None)

    async def structured(
        self, messages: Sequence[ChatMessage], schema: type[T], *, agent: str = "", **params: Any
    ) -> Structured[T]:
        """Ask for JSON matching `schema`; feed validation errors back up to `max_repairs` times.

        The output is constrained to the schema where the backend can; where the provider
        refuses that, the schema goes into the prompt and the repairs do the rest.
        """
        json_schema = json_schema_of(schema)
        constraint: dict[str, Any] | None = json_schema
        transcript = list(messages)
        usage = Usage()
        error = ""
        for attempt in range(self.max_repairs + 1):
            try:
                reply = await self._call(transcript, params, agent=agent, json_schema=constraint)
            except SchemaRejectedError:
                if constraint is None:
                    raise
                constraint, transcript = None, with_json_instructions(transcript, json_schema)
                reply = await self._call(transcript, params, agent=agent, json_schema=None)
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

        async def attempt() -> Completion:
            start = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    raw = await self.backend.call(
                        messages, merged, agent=agent, json_schema=json_schema
                    )
            except TimeoutError as exc:
                raise _TimedOut(f"did not answer within {self.timeout:g} s") from exc
            usage = Usage(
                model=self.name,
                prompt_tokens=raw.prompt_tokens,
                completion_tokens=raw.completion_tokens,
                cost_usd=raw.cost_usd,
                latency_ms=(time.perf_counter() - start) * 1000,
                calls=1,
            )
            return Completion(text=raw.text, usage=usage)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TransientModelError),
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except _TimedOut as exc:
            raise ModelCallError(
                f"{self.name} did not answer within {self.timeout:g} s "
                f"({_attempts(self.retries + 1)}; raise the model timeout with "
                "CODEHELM_MODEL_TIMEOUT)"
            ) from exc
        except TransientModelError as exc:
            raise ModelCallError(
                f"{self.name} failed after {_attempts(self.retries + 1)}: {exc}"
            ) from exc

    def _wait(self, state: RetryCallState) -> float:
        """Jittered exponential backoff, but never shorter than the provider's Retry-After."""
        pause = self._backoff_wait(state)
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(failure, "retry_after", None)
        return max(pause, min(asked, MAX_RETRY_AFTER)) if asked is not None else pause


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"
