"""Imports stay light: settings, messages and state load no agent, backend or SDK.

The one-way layering itself is checked by import-linter (`lint-imports`, run by
`make test`, contracts in pyproject.toml); these tests check what is actually loaded.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "codehelm.agents",
    "codehelm.graphs",
    "codehelm.models",
    "codehelm.runtime",
    "codehelm.tools",
    "jinja2",
    "litellm",
    "llama_cpp",
    "e2b",
    "e2b_code_interpreter",
    "langgraph",
)


def loaded_by(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def heavy(modules: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    def is_under(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    return [
        m
        for m in modules
        if any(is_under(m, h) for h in HEAVY) and not any(is_under(m, a) for a in allowed)
    ]


@pytest.mark.parametrize("module", ["codehelm.config", "codehelm.messages", "codehelm.state"])
def test_settings_messages_and_state_load_no_backend(module: str) -> None:
    loaded = loaded_by(f"import {module}")
    assert module in loaded
    assert heavy(loaded) == []


def test_the_sandbox_protocol_loads_no_backend() -> None:
    loaded = loaded_by("from codehelm.tools.sandbox import Sandbox")
    assert "codehelm.tools.sandbox.base" in loaded
    assert heavy(loaded, allowed=("codehelm.tools.sandbox.base", "codehelm.tools")) == []
    assert "codehelm.tools.sandbox.local" not in loaded
    assert "codehelm.tools.sandbox.e2b" not in loaded


def test_the_package_loads_nothing_until_a_name_is_used() -> None:
    loaded = loaded_by("import codehelm")
    assert heavy(loaded) == []
    used = loaded_by("from codehelm import LocalSandbox")
    assert "codehelm.tools.sandbox.local" in used
    assert "litellm" not in used and "e2b" not in used
