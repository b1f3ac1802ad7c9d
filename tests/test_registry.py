"""Backends by name: built-in and registered sandboxes and models; unknown names list the known."""

from __future__ import annotations

from pathlib import Path

import pytest

from codehelm.config import Settings
from codehelm.errors import ConfigError, MissingAPIKeyError, ModelNotFoundError
from codehelm.models import MODELS, ModelGateway, ScriptedModel, create_model, make_model
from codehelm.registry import Registry
from codehelm.tools.sandbox import SANDBOXES, LocalSandbox, create_sandbox


class QuickSandbox(LocalSandbox):
    """A sandbox a user might register: local, with a short fixed timeout."""

    @classmethod
    def from_settings(cls, settings: Settings) -> QuickSandbox:
        return cls(timeout=1.0)


def echo_model(target: str, **options: object) -> ModelGateway:
    return ScriptedModel({"*": [target]}, **options)  # type: ignore[arg-type]


def test_an_unknown_sandbox_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown sandbox 'docker'; known: e2b, local"):
        create_sandbox(Settings(home=tmp_path, sandbox="docker"))


async def test_the_local_sandbox_is_made_from_settings(tmp_path: Path) -> None:
    async with create_sandbox(Settings(home=tmp_path, exec_timeout=3.5)) as box:
        assert isinstance(box, LocalSandbox) and box.timeout == 3.5
        assert (await box.run_code("print(2 + 2)")).stdout == "4\n"


def test_e2b_needs_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="E2B_API_KEY"):
        create_sandbox(Settings(home=tmp_path, sandbox="e2b"))


async def test_a_registered_sandbox_is_created_by_name(tmp_path: Path) -> None:
    SANDBOXES.register("quick", f"{__name__}:QuickSandbox")
    try:
        async with create_sandbox(Settings(home=tmp_path, sandbox="quick")) as box:
            assert isinstance(box, QuickSandbox) and box.timeout == 1.0
            slow = await box.run_code("import time; time.sleep(3)")
            assert slow.timed_out
    finally:
        SANDBOXES.unregister("quick")


async def test_a_registered_model_backend_is_created_by_name() -> None:
    MODELS.register("echo", echo_model)
    try:
        model = make_model("echo:hello there", retries=0)
        reply = await model.complete([{"role": "user", "content": "hi"}], agent="coder")
        assert reply.text == "hello there"
    finally:
        MODELS.unregister("echo")


def test_model_strings_go_to_litellm_unless_a_backend_is_named(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('{"coder": ["print(1)"]}')
    model = create_model(Settings(home=tmp_path, model=f"scripted:{script}", model_retries=5))
    assert isinstance(model, ScriptedModel) and model.retries == 5
    # "nosuch" is not a registered name, so the whole string is a (bad) litellm model
    with pytest.raises(ModelNotFoundError, match="unknown model 'nosuch:thing'"):
        make_model("nosuch:thing")


def test_registry_names_must_be_identifiers() -> None:
    with pytest.raises(ConfigError, match="identifiers"):
        Registry("sandbox", {}).register("my sandbox", "x:y")
