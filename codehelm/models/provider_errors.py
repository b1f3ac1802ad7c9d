"""Provider failures, as litellm raises them, translated into codehelm's errors.

litellm maps every provider's failures onto OpenAI-style exception classes, but
not faithfully: a 403 can arrive as a bare `APIError`, a malformed 200 body or a
missing API key as a 500 `InternalServerError`, and an exception raised inside a
custom provider (our embedded model) as an `APIConnectionError`. So the class
decides where it is reliable and the status code and message decide the rest.

`translate` returns one of: a `CodehelmError` (final: the gateway never retries it),
a `TransientModelError` (429, 5xx, connection failures, timeouts: retried), or a
`SchemaRejectedError` (the provider refuses JSON-schema output: the caller falls
back to another way of asking for JSON).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

from codehelm.errors import (
    CodehelmError,
    ContextWindowError,
    MissingAPIKeyError,
    ModelAccessError,
    ModelCallError,
    ModelNotFoundError,
    ModelRequestError,
)
from codehelm.models.gateway import SchemaRejectedError, TransientModelError

SHORTEN = "shorten the task or use a model with a larger context window"

_CONTEXT = re.compile(
    r"context_length_exceeded|maximum context length|"
    r"exceeds? (?:the )?(?:model'?s? )?context (?:window|length)",
    re.IGNORECASE,
)
_RESPONSE_FORMAT = re.compile(r"response_format|json_schema", re.IGNORECASE)
_MALFORMED = re.compile(
    r"Empty or invalid response|response with no 'choices'|'choices' that is not a list|"
    r"Invalid response object",
)
_MISSING_KEY = re.compile(r"Missing credentials|api_key client option", re.IGNORECASE)
_REJECTS = (400, 422, 500)
"""Statuses a refused response_format comes back with (llama.cpp's server answers 500)."""
_PREFIX = re.compile(r"^(?:litellm\.)?\w*(?:Error|Exception|Timeout)(?::|\s+-)\s+")


def translate(
    exc: Exception,
    model: str,
    *,
    api_base: str | None = None,
    asked_schema: bool = False,
    remote: bool = True,
) -> Exception:
    """The error to raise for `exc`, raised by `litellm.acompletion(model=model, ...)`.

    `asked_schema`: the call asked for JSON-schema output. `remote`: the model is
    reached over the network (for the embedded model nothing is a connection problem).
    """
    own = _codehelm_error_in(exc)
    if own is not None:
        return own
    import litellm

    status = _status(exc)
    said = provider_says(exc)
    where = f" at {api_base}" if api_base else ""
    if isinstance(exc, litellm.ContextWindowExceededError) or _CONTEXT.search(said):
        return ContextWindowError(
            f"the task does not fit {model}'s context window: {said}; {SHORTEN}"
        )
    if asked_schema and _RESPONSE_FORMAT.search(said) and (status is None or status in _REJECTS):
        return SchemaRejectedError(f"{model} refuses JSON-schema output: {said}")
    if isinstance(exc, litellm.JSONSchemaValidationError):  # litellm's opt-in reply check
        return ModelCallError(f"{model}: the reply does not match the JSON schema: {said}")
    if isinstance(exc, litellm.APIResponseValidationError) or _MALFORMED.search(said):
        return ModelCallError(
            f"{model}: the server{where} did not answer with an OpenAI chat completion "
            f"({said}); check that the API base points at an OpenAI-compatible /v1 endpoint"
        )
    if isinstance(exc, litellm.AuthenticationError) or status == 401 or _MISSING_KEY.search(said):
        return MissingAPIKeyError(
            f"{model}: the provider refused the credentials ({said}); "
            "set a valid API key for it in the environment"
        )
    if isinstance(exc, litellm.PermissionDeniedError) or status in (402, 403):
        return ModelAccessError(
            f"{model}: the provider denied access ({status}: {said}); "
            "check that your account and key may use this model"
        )
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return ModelNotFoundError(
            f"{model}: the provider{where} does not know this model ({said}); check the model name"
        )
    if isinstance(exc, litellm.ContentPolicyViolationError):
        return ModelCallError(f"{model} refused the request under its content policy: {said}")
    if isinstance(exc, litellm.BudgetExceededError):
        return ModelCallError(f"{model}: litellm's budget is spent: {said}")
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return TransientModelError(f"rate limited (429): {said}", retry_after=retry_after(exc))
    if isinstance(exc, litellm.Timeout) or status == 408:
        return TransientModelError(f"timed out: {said}")
    if isinstance(exc, litellm.APIConnectionError):
        if remote:
            return TransientModelError(f"could not reach the server{where}: {said}")
        return ModelCallError(f"{model} failed: {said}")
    if status is not None and status >= 500:
        return TransientModelError(f"server error {status}: {said}", retry_after=retry_after(exc))
    if status is not None and status >= 400:
        return ModelRequestError(
            f"{model}: the provider rejected the request ({status}: {said}); "
            "check the model's parameters and the request"
        )
    return ModelCallError(f"{model} failed: {type(exc).__name__}: {said}")


def provider_says(exc: BaseException, limit: int = 300) -> str:
    """The provider's own message, on one line, without litellm's class-name prefixes."""
    text = " ".join(str(exc).split())
    if "Exception - " in text:
        text = text.split("Exception - ", 1)[1]
    while (stripped := _PREFIX.sub("", text, count=1)) != text:
        text = stripped
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked to wait (`Retry-After` or `retry-after-ms`), if it said."""
    headers: Mapping[str, str] | None = getattr(exc, "litellm_response_headers", None)
    if not headers:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    value = headers.get("retry-after")
    try:
        if millis:
            return max(0.0, float(millis) / 1000)
        return max(0.0, float(value)) if value else None
    except ValueError:
        return _seconds_until(value) if value else None


def _seconds_until(http_date: str) -> float | None:
    try:
        return max(0.0, email.utils.mktime_tz(email.utils.parsedate_tz(http_date)) - time.time())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _status(exc: BaseException) -> int | None:
    status: Any = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _codehelm_error_in(exc: BaseException) -> CodehelmError | None:
    """A codehelm error that litellm wrapped (one raised inside the embedded provider)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, CodehelmError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None
