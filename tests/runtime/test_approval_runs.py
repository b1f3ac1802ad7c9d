"""Approval through the runner and the CLI: a paused run is stored, outlives its process,
and `codehelm resume` asks again and continues it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import resume, solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply

SCRIPT = {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 8)")]}


async def test_without_anyone_to_ask_the_run_pauses_then_resumes(settings: Settings) -> None:
    paused = await solve(
        "What is 6 * 7?", settings=settings, model=ScriptedModel(SCRIPT), approve=True
    )
    assert paused.status == "paused" and paused.answer is None
    assert paused.pending is not None and paused.pending["code"] == "print(6 * 8)"
    with TraceStore(settings.trace_path) as store:
        assert store.get_run(paused.run_id).status == "paused"

    asked: list[dict[str, Any]] = []

    async def edit(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request)
        return {"decision": "edit", "code": request["code"].replace("8", "7")}

    done = await resume(paused.run_id, settings=settings, model=ScriptedModel({}), on_approval=edit)
    assert done.status == "done" and done.answer is not None and done.answer.content == "42"
    assert [r["code"] for r in asked] == ["print(6 * 8)"]
    with TraceStore(settings.trace_path) as store:
        record = store.get_run(paused.run_id)
        assert record.status == "done" and record.answer == "42"
        approvals = [
            e.payload for e in store.events(paused.run_id, "message") if e.name == "approval"
        ]
        assert [a["decision"] for a in approvals] == ["edit"]


async def test_each_program_is_asked_about(settings: Settings) -> None:
    model = ScriptedModel(
        {"planner": SCRIPT["planner"], "coder": [code_reply("print(1)"), code_reply("print(42)")]}
    )
    decisions = iter([{"decision": "reject", "reason": "that is not 6 * 7"}, {"decision": "run"}])

    async def decide(request: dict[str, Any]) -> dict[str, Any]:
        return next(decisions)

    result = await solve(
        "What is 6 * 7?", settings=settings, model=model, approve=True, on_approval=decide
    )
    assert result.status == "done" and result.answer is not None
    assert result.answer.content == "42"
    assert next(decisions, None) is None  # both programs were asked about


def run_cli(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "codehelm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODEHELM_HOME": str(home), "CODEHELM_STEER": "plan", **(env or {})},
    )


def test_a_paused_run_outlives_its_process(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    home = tmp_path / "home"
    first = run_cli(
        home, "solve", "What is 6 * 8?", "--approve", "--json", "--model", f"scripted:{script}"
    )
    assert first.returncode == 3, first.stderr  # paused: nobody answered on stdin
    paused = json.loads(first.stdout)
    assert paused["status"] == "paused" and "print(6 * 8)" in first.stderr
    listed = run_cli(home, "runs", "--json")
    assert [r["status"] for r in json.loads(listed.stdout)] == ["paused"]

    second = run_cli(home, "resume", paused["run_id"], stdin="r\n")
    assert second.returncode == 0, second.stderr
    assert "Answer: 48" in second.stdout and "approved" in second.stderr


def test_the_cli_edits_in_the_editor_and_rejects_with_a_reason(
    tmp_path: Path, monkeypatch: Any
) -> None:
    script = tmp_path / "script.json"
    coder = [code_reply("print(6 * 8)"), code_reply("print(7 * 6)")]
    script.write_text(json.dumps({"planner": SCRIPT["planner"], "coder": coder}))
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    monkeypatch.setenv("EDITOR", "sed -i s/7/6/")  # the "person" edits 7 * 6 into 6 * 6
    result = CliRunner().invoke(
        app,
        ["solve", "What is 6 * 7?", "--approve", "--model", f"scripted:{script}"],
        input="x\nwrong numbers\ne\n",
    )
    assert result.exit_code == 0, result.output
    assert "rejected: wrong numbers" in result.stderr
    assert "edited, then run" in result.stderr
    assert "Answer: 36" in result.stdout
