"""The graph factory that langgraph.json points at builds a working solve graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codehelm.graphs import server
from codehelm.messages import Task
from codehelm.state import SolveState
from tests.conftest import code_reply, plan_reply


async def test_langgraph_json_factory_runs_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = json.loads((Path(__file__).parents[2] / "langgraph.json").read_text())
    assert config["graphs"]["solve"] == "./codehelm/graphs/server.py:solve"
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"planner": [plan_reply(("code", "Add"))], "coder": [code_reply("print(5)")]})
    )
    monkeypatch.setenv("CODEHELM_MODEL", f"scripted:{script}")
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    async with server.solve({}) as graph:
        result = await graph.ainvoke({"task": Task(prompt="2 + 3")})
    assert SolveState.model_validate(result).answer.content == "5"  # type: ignore[union-attr]
