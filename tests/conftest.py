"""Shared fixtures: real sandboxes, run stores in temporary directories, scripted models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codehelm.config import Settings
from codehelm.tools.sandbox.local import LocalSandbox

# `postgres_server` and `database_url`, for the tests of runs kept in PostgreSQL
pytest_plugins = ["tests.postgres"]


def plan_reply(*steps: tuple[str, str]) -> str:
    """A planner reply with `(mode, goal)` steps."""
    return json.dumps({"steps": [{"mode": mode, "goal": goal} for mode, goal in steps]})


def code_reply(code: str) -> str:
    return f"Here is the program.\n```python\n{code}\n```"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", model="scripted:unused.json", steer="plan")


@pytest.fixture
async def sandbox() -> AsyncIterator[LocalSandbox]:
    async with LocalSandbox(timeout=5.0) as box:
        yield box


@pytest.fixture
def write_script(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(script: dict[str, list[str]]) -> str:
        path = tmp_path / "script.json"
        path.write_text(json.dumps(script))
        return f"scripted:{path}"

    return write
