"""Does the prompt fit the model's context window? Answered before the call, where knowable.

A prompt that cannot fit fails the same way every time, so it is reported at once in
one line (`ContextWindowError`, exit code 2) instead of being sent, refused and
retried. The embedded model knows its window exactly (llama.cpp's `n_ctx`); for
litellm models the window comes from litellm's model map and the count from its
tokenizer. A model the map does not know (e.g. one behind `--api-base`) is not
checked here: its server's refusal is translated into the same error.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from codehelm.chat import ChatMessage
from codehelm.errors import ContextWindowError
from codehelm.models.provider_errors import SHORTEN

MIN_REPLY_TOKENS = 64
"""Room a prompt must leave for the reply (or `max_tokens`, if smaller)."""


def does_not_fit(
    model: str, prompt_tokens: int, window: int, reply_tokens: int = 0
) -> ContextWindowError:
    """The one-line error for a prompt of `prompt_tokens` that `window` cannot hold."""
    reply = f" plus {reply_tokens} for the reply" if reply_tokens else ""
    return ContextWindowError(
        f"the task does not fit {model}'s context window: the prompt is {prompt_tokens:,} "
        f"tokens{reply}, the model takes {window:,}; {SHORTEN}"
    )


def reply_room(max_tokens: int | None) -> int:
    """Tokens of reply a prompt must leave room for."""
    return min(max_tokens or MIN_REPLY_TOKENS, MIN_REPLY_TOKENS)


def check_fits(litellm: ModuleType, model: str, messages: Sequence[ChatMessage]) -> None:
    """Raise `ContextWindowError` if litellm knows `model`'s input limit and the prompt
    exceeds it (a litellm model's replies have a limit of their own)."""
    try:
        info = litellm.get_model_info(model)
    except Exception:  # litellm raises for models missing from its map
        return
    window = info.get("max_input_tokens") or info.get("max_tokens")
    if not window:
        return
    count = int(litellm.token_counter(model=model, messages=list(messages)))
    if count > window:
        raise does_not_fit(model, count, int(window))
