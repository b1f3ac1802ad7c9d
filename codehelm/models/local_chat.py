"""llama.cpp chat formatting that can be stopped mid-generation, and counts its prompt.

llama-cpp-python's `create_chat_completion` takes no stopping criteria, but its
chat handlers take them from the chat formatter. So the model's own chat template
(the GGUF's `tokenizer.chat_template`, as llama-cpp-python would use it) is wrapped
in a formatter that adds one criterion, "has this call been cancelled?", and
installed as the model's chat handler. The same formatter renders a prompt for
counting its tokens exactly before a call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from llama_cpp import Llama, StoppingCriteriaList
from llama_cpp.llama_chat_format import (
    ChatFormatterResponse,
    Jinja2ChatFormatter,
    chat_formatter_to_chat_completion_handler,
)


class InterruptibleChat:
    """Installs itself as `llama`'s chat handler when the model has a chat template."""

    def __init__(self, llama: Llama) -> None:
        self._llama = llama
        self._cancel: threading.Event | None = None
        template = llama.metadata.get("tokenizer.chat_template")
        self._format: Jinja2ChatFormatter | None = None
        if template and llama.chat_format == "chat_template.default" and llama.chat_handler is None:
            eos, bos = llama.token_eos(), llama.token_bos()
            self._format = Jinja2ChatFormatter(
                template=template,
                eos_token=_token_text(llama, eos),
                bos_token=_token_text(llama, bos),
                stop_token_ids=[eos],
            )
            llama.chat_handler = chat_formatter_to_chat_completion_handler(self._formatter)

    @contextmanager
    def stopping_on(self, cancel: threading.Event) -> Iterator[None]:
        """Generations in this block stop at the next token once `cancel` is set."""
        self._cancel = cancel
        try:
            yield
        finally:
            self._cancel = None

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """The prompt's length in tokens, as the chat handler will tokenize it."""
        if self._format is None:  # no template of ours: count the text alone
            text = "\n".join(m.get("content") or "" for m in messages)
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=True))
        rendered = self._format(messages=messages)  # type: ignore[arg-type]
        return len(
            self._llama.tokenize(
                rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
            )
        )

    def _formatter(self, **kwargs: Any) -> ChatFormatterResponse:
        assert self._format is not None
        rendered = self._format(**kwargs)
        criteria = list(rendered.stopping_criteria or [])
        rendered.stopping_criteria = StoppingCriteriaList([*criteria, self._cancelled])
        return rendered

    def _cancelled(self, tokens: Any, logits: Any) -> bool:
        return self._cancel is not None and self._cancel.is_set()


def _token_text(llama: Llama, token: int) -> str:
    """A special token's text, as `Llama.__init__` derives it for the chat template."""
    return llama._model.token_get_text(token) if token != -1 else ""
