"""The command line: exit codes, one-line errors, JSON output, fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from tests.conftest import code_reply, plan_reply

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CODEHELM_MODEL", "E2B_API_KEY"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "2+2", "--model", "nosuchprovider/model-x"], "unknown model"),
        (["solve", "2+2", "--model", "openai/gpt-4o-mini"], "needs OPENAI_API_KEY"),
        (["solve", "2+2", "--model", "local/llama-9000"], "unknown embedded model"),
        (["solve", "2+2", "--model", "scripted:/no/such/file.json"], "script file not found"),
        (["solve", "   "], "the task is empty"),
        (["solve", "2+2", "--sandbox", "e2b"], "needs E2B_API_KEY"),
        (["solve", "2+2", "--sandbox", "docker"], "unknown sandbox 'docker'; known: e2b, local"),
        (["solve", "2+2", "--steer", "yolo"], "invalid setting steer"),
        (["solve", "2+2", "--max-steps", "0"], "invalid setting max_steps"),
        (["solve", "2+2", "--selector", "best"], "invalid setting selector"),
        (["show", "abc123"], "no run 'abc123'"),
        (["resume", "abc123"], "no run 'abc123'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_environment_setting_is_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEHELM_MAX_STEPS", "many")
    result = runner.invoke(app, ["solve", "2+2"])
    assert result.exit_code == 2 and "invalid setting max_steps" in result.output


def script(tmp_path: Path, data: dict[str, list[str]]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(data))
    return f"scripted:{path}"


def test_solve_json_then_runs_and_show(tmp_path: Path) -> None:
    model = script(
        tmp_path,
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]},
    )
    solved = runner.invoke(app, ["solve", "What is 6 * 7?", "--model", model, "--json"])
    assert solved.exit_code == 0, solved.output
    result = json.loads(solved.stdout)
    assert result["answer"]["content"] == "42" and result["status"] == "done"
    run_id = result["run_id"]

    listed = runner.invoke(app, ["runs", "--json"])
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]
    table = runner.invoke(app, ["runs"])  # 80 columns: the id must stay whole to be usable
    assert run_id in table.stdout and "done" in table.stdout

    shown = runner.invoke(app, ["show", run_id, "--json"])
    events = json.loads(shown.stdout)["events"]
    assert {e["kind"] for e in events} == {"message", "model_call", "tool_call"}

    text = runner.invoke(app, ["show", run_id])
    assert "model_call" in text.output and "print(6 * 7)" in text.output


def test_solve_prints_progress_and_answer(tmp_path: Path) -> None:
    model = script(
        tmp_path,
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]},
    )
    result = runner.invoke(app, ["solve", "What is 6 * 7?", "--model", model])
    assert result.exit_code == 0
    assert "Answer: 42" in result.stdout
    for agent in ("planner", "coder", "executor", "verifier"):
        assert agent in result.stderr


def test_a_run_without_answer_exits_1(tmp_path: Path) -> None:
    model = script(tmp_path, {"planner": [plan_reply(("code", "x"))], "coder": ["no code"]})
    result = runner.invoke(app, ["solve", "anything", "--model", model])
    assert result.exit_code == 1
    assert "No answer" in result.stdout and "gave up" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from codehelm.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('litellm', 'langgraph', 'llama_cpp') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stdout
