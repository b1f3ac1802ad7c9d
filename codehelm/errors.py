"""One exception hierarchy; every message says what to do next.

The CLI maps `BadInputError` subclasses to exit code 2 and every other
`CodehelmError` to exit code 1, printing one line and no traceback.
"""

from __future__ import annotations

from codehelm.messages import Usage


class CodehelmError(Exception):
    """Base of all codehelm errors. `exit_code` is what the CLI exits with."""

    exit_code = 1


class BadInputError(CodehelmError):
    """The user asked for something that cannot work (exit code 2)."""

    exit_code = 2


class ConfigError(BadInputError):
    """A setting or flag has an unusable value."""


class ModelNotFoundError(BadInputError):
    """The model string names no known provider or model."""


class MissingAPIKeyError(BadInputError):
    """The provider needs credentials that are not in the environment, or refused them (401)."""


class ContextWindowError(BadInputError):
    """The prompt does not fit the model's context window: shorten it or pick a bigger model."""


class ModelAccessError(BadInputError):
    """The provider denied access to the model (403 forbidden, 402 payment required)."""


class ModelRequestError(BadInputError):
    """The provider rejected the request as invalid (a 4xx other than 401/403/404/408/429)."""


class RunNotFoundError(BadInputError):
    """No run with that id exists in the run store."""


class RunBusyError(BadInputError):
    """The run is still going on in another process."""


class ModelOutputError(CodehelmError):
    """The model's reply could not be parsed into the expected type after all repairs.

    `usage` is what the failed attempts cost, so budgets still count them.
    """

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage if usage is not None else Usage()


class ModelCallError(CodehelmError):
    """The provider failed (after retries) or timed out."""


class SandboxError(CodehelmError):
    """The sandbox could not start or stopped answering."""
