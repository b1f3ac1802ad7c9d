"""Every exception class litellm raises from a chat call maps to a codehelm error.

The HTTP tests (`test_provider_errors.py`) show what real responses turn into; this
table covers the classes no test server can make litellm raise (guardrails, budgets,
payment, content policy, mid-stream failures...).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from codehelm.errors import (
    CodehelmError,
    ContextWindowError,
    MissingAPIKeyError,
    ModelAccessError,
    ModelCallError,
    ModelNotFoundError,
    ModelRequestError,
)
from codehelm.models import SchemaRejectedError, TransientModelError
from codehelm.models.litellm_backend import load_litellm
from codehelm.models.provider_errors import provider_says, retry_after, translate

E = load_litellm().exceptions
M, P = "openai/x", "openai"


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://h/v1"))


CASES: list[tuple[str, Any, type[Exception]]] = [
    ("auth", E.AuthenticationError("bad key", P, M), MissingAPIKeyError),
    ("caller-auth", E.CallerCredentialAuthenticationError("bad key", P, M), MissingAPIKeyError),
    ("not-found", E.NotFoundError("no such model", M, P), ModelNotFoundError),
    ("bad-request", E.BadRequestError("temperature must be <= 2", M, P), ModelRequestError),
    ("image-fetch", E.ImageFetchError("cannot fetch image", M, P), ModelRequestError),
    ("malformed-field", E.MalformedRequestFieldError("bad field", M, P), ModelRequestError),
    ("endpoint", E.UnsupportedEndpointError("no such endpoint", M, P), ModelRequestError),
    ("endpoint-model", E.EndpointNotSupportedByModelError("no chat", M, P), ModelRequestError),
    (
        "unprocessable",
        E.UnprocessableEntityError("bad body", M, P, response(422)),
        ModelRequestError,
    ),
    ("invalid", E.InvalidRequestError("bad", M, P), ModelRequestError),
    ("rejected", E.RejectedRequestError("rejected", M, P, request_data={}), ModelRequestError),
    ("unknown-provider", E.LiteLLMUnknownProvider(M, "nope"), ModelRequestError),
    ("guardrail", E.GuardrailRaisedException("g", "blocked by guardrail"), ModelRequestError),
    ("pii", E.BlockedPiiEntityError("email", "g"), ModelRequestError),
    ("teapot", E.APIError(418, "I'm a teapot", P, M), ModelRequestError),
    ("permission", E.PermissionDeniedError("forbidden", P, M, response(403)), ModelAccessError),
    ("payment", E.PaymentRequiredError("top up", M, P), ModelAccessError),
    ("forbidden-api-error", E.APIError(403, "forbidden", P, M), ModelAccessError),
    ("context", E.ContextWindowExceededError("too long", M, P), ContextWindowError),
    ("policy", E.ContentPolicyViolationError("refused", M, P), ModelCallError),
    ("budget", E.BudgetExceededError(current_cost=2.0, max_budget=1.0), ModelCallError),
    ("validation", E.APIResponseValidationError("bad reply", P, M), ModelCallError),
    ("json-schema", E.JSONSchemaValidationError(M, P, "{}", "{}"), ModelCallError),
    ("other", ValueError("something else"), ModelCallError),
    ("rate", E.RateLimitError("slow down", P, M), TransientModelError),
    ("caller-rate", E.CallerCredentialRateLimitError("slow down", P, M), TransientModelError),
    ("timeout", E.Timeout("timed out", M, P), TransientModelError),
    ("connection", E.APIConnectionError("refused", P, M), TransientModelError),
    ("unavailable", E.ServiceUnavailableError("overloaded", P, M), TransientModelError),
    ("bad-gateway", E.BadGatewayError("502", P, M), TransientModelError),
    ("internal", E.InternalServerError("oops", P, M), TransientModelError),
    ("api-error-503", E.APIError(503, "unavailable", P, M), TransientModelError),
    ("mid-stream", E.MidStreamFallbackError("cut", M, P), TransientModelError),
]


@pytest.mark.parametrize(("exc", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_litellm_exception_maps_to_one_error(exc: Exception, expected: type) -> None:
    mapped = translate(exc, M)
    assert type(mapped) is expected, provider_says(exc)
    assert M in str(mapped) or isinstance(mapped, TransientModelError)
    assert "\n" not in str(mapped)


def test_only_transient_errors_are_retryable() -> None:
    for _, exc, expected in CASES:
        mapped = translate(exc, M)
        assert isinstance(mapped, CodehelmError) != (expected is TransientModelError)


def test_a_refused_response_format_is_a_schema_rejection_only_when_one_was_asked() -> None:
    refused = E.UnsupportedParamsError("openai does not support parameters: ['response_format']")
    assert isinstance(translate(refused, M, asked_schema=True), SchemaRejectedError)
    assert isinstance(translate(refused, M, asked_schema=False), ModelRequestError)
    # llama.cpp's server refuses `json_schema` with a 500 naming the field
    server = E.InternalServerError("response_format.type: Input should be 'json_object'", P, M)
    assert isinstance(translate(server, M, asked_schema=True), SchemaRejectedError)
    assert isinstance(translate(server, M), TransientModelError)


def test_the_embedded_model_has_no_connection_to_retry() -> None:
    wrapped = E.APIConnectionError("llama_decode returned -1", P, "local/smollm2")
    assert isinstance(translate(wrapped, "local/smollm2", remote=False), ModelCallError)
    too_long = E.APIConnectionError("Requested tokens (5000) exceed context window of 4096", P, M)
    assert isinstance(translate(too_long, "local/smollm2", remote=False), ContextWindowError)


def test_a_codehelm_error_raised_inside_litellm_comes_out_unchanged() -> None:
    ours = ContextWindowError("the task does not fit")
    try:
        try:
            raise ours
        except ContextWindowError as inner:
            raise E.APIConnectionError(str(inner), P, M) from inner
    except E.APIConnectionError as outer:
        assert translate(outer, M) is ours


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "3"}, 3.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
def test_retry_after_is_read_from_the_response(headers: dict[str, str], seconds: float) -> None:
    exc = E.RateLimitError("slow down", P, M, response=response(429, headers))
    assert retry_after(exc) == seconds


def test_retry_after_as_an_http_date() -> None:
    exc = E.RateLimitError(
        "slow", P, M, response=response(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    assert retry_after(exc) == 0.0  # a date in the past: no wait


def test_provider_messages_lose_litellm_prefixes() -> None:
    exc = E.ContextWindowExceededError(
        "OpenAIException - This model's maximum context length is 8", M, P
    )
    assert provider_says(exc) == "This model's maximum context length is 8"
