"""The command line as a new user meets it: long tasks, bad home folders, interrupts, tasks
from files, readable `show` output, and finding runs that live elsewhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from tests.conftest import code_reply, plan_reply

runner = CliRunner()
SCRIPT = {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    monkeypatch.chdir(tmp_path)


def scripted(tmp_path: Path, script: dict[str, Any] = SCRIPT) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return f"scripted:{path}"


def cli(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codehelm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("codehelm 0.")


def test_a_task_from_a_file_or_standard_input(tmp_path: Path) -> None:
    model = scripted(tmp_path)
    (tmp_path / "task.txt").write_text("What is 6 * 7?\nShow your work.\n")
    from_file = runner.invoke(app, ["solve", "@task.txt", "--model", model, "--json"])
    assert from_file.exit_code == 0, from_file.output
    piped = runner.invoke(app, ["solve", "-", "--model", model, "--json"], input="What is 6*7?")
    assert piped.exit_code == 0, piped.output
    listed = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)
    assert [r["prompt"] for r in listed] == ["What is 6*7?", "What is 6 * 7?\nShow your work.\n"]
    missing = runner.invoke(app, ["solve", "@nowhere.txt", "--model", model])
    assert missing.exit_code == 2
    assert "cannot read the task from nowhere.txt" in missing.output
    assert len(missing.output.strip().splitlines()) == 1


def test_show_of_a_task_with_one_huge_word_is_quick_and_clipped(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    word = "x" * 120_000
    solved = cli("solve", word, "--model", scripted(tmp_path), "--json", CODEHELM_HOME=home)
    run_id = json.loads(solved.stdout)["run_id"]
    started = time.monotonic()
    shown = cli("show", run_id, timeout=60, CODEHELM_HOME=home)  # hung for minutes before
    assert shown.returncode == 0, shown.stderr
    assert time.monotonic() - started < 60
    assert max(len(line) for line in shown.stdout.splitlines()) < 400


def test_show_has_headers_and_hides_snapshot_calls(tmp_path: Path) -> None:
    solved = runner.invoke(app, ["solve", "6 * 7", "--model", scripted(tmp_path), "--json"])
    run_id = json.loads(solved.stdout)["run_id"]
    shown = runner.invoke(app, ["show", run_id])
    assert shown.exit_code == 0
    header = shown.stdout.splitlines()[1].split()
    assert header[:6] == ["time", "kind", "agent", "name", "status", "took"]
    assert "snapshot" not in shown.stdout and "print(6 * 7)" in shown.stdout
    everything = runner.invoke(app, ["show", run_id, "--all"])
    assert "snapshot" in everything.stdout


@pytest.mark.parametrize("kind", ["a file", "unwritable"])
def test_an_unusable_home_is_one_line_naming_it(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home-file" if kind == "a file" else Path("/proc/1/codehelm-home")
    if kind == "a file":
        home.write_text("not a folder")
    result = runner.invoke(
        app, ["solve", "6 * 7", "--model", scripted(tmp_path), "--home", str(home)]
    )
    assert result.exit_code == 2, result.output
    assert f"cannot keep runs in {home}" in result.output and "--home" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_runs_and_show_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "not-yet"
    listed = runner.invoke(app, ["runs", "--home", str(home), "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    shown = runner.invoke(app, ["show", "abc123", "--home", str(home)])
    assert shown.exit_code == 2 and "it has no runs yet" in shown.output
    assert not home.exists()


def test_show_finds_an_eval_run_and_says_which_home(tmp_path: Path) -> None:
    eval_home = tmp_path / "my-eval" / "runs"  # where `codehelm eval --out my-eval` keeps runs
    solved = runner.invoke(
        app,
        ["solve", "6 * 7", "--model", scripted(tmp_path), "--home", str(eval_home), "--json"],
    )
    run_id = json.loads(solved.stdout)["run_id"]
    runner.invoke(app, ["solve", "1", "--model", scripted(tmp_path)])  # the default home exists
    shown = runner.invoke(app, ["show", run_id])
    assert shown.exit_code == 2
    assert f"it is an eval run: add --home {eval_home}" in shown.output


def test_ctrl_c_names_the_run_to_resume(tmp_path: Path) -> None:
    slow = {"planner": SCRIPT["planner"], "coder": [code_reply("import time\ntime.sleep(30)")]}
    env = {**os.environ, "CODEHELM_HOME": str(tmp_path / "home"), "CODEHELM_EXEC_TIMEOUT": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "codehelm", "solve", "wait", "--model", scripted(tmp_path, slow)],
        env={**env, "CODEHELM_STEER": "plan"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    listed: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not listed and time.monotonic() < deadline:
        time.sleep(0.3)
        runs = cli("runs", "--json", CODEHELM_HOME=str(tmp_path / "home"))
        listed = json.loads(runs.stdout or "[]")
    time.sleep(1.0)  # into the sleeping program
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"codehelm resume {listed[0]['run_id']}" in stderr
