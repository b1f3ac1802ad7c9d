"""Runs through the runner: checkpoints and trace in real SQLite files, kill -9 and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codehelm.config import Settings
from codehelm.errors import RunNotFoundError
from codehelm.messages import MESSAGE
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import resume, solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply


async def test_a_run_is_traced_and_stored(settings: Settings) -> None:
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}
    )
    seen: list[str] = []
    result = await solve(
        "What is 6 * 7?", settings=settings, model=model, on_update=lambda n, _: seen.append(n)
    )
    assert result.status == "done" and result.answer is not None
    assert result.answer.content == "42" and result.stop_reason == "reproduced"
    assert result.verdict == "uncertain"
    assert seen == ["planner", "coder", "executor", "verifier", "advance", "finish"]
    with TraceStore(settings.trace_path) as store:
        record = store.get_run(result.run_id)
        assert record.status == "done" and record.answer == "42"
        assert record.tokens == result.usage.total_tokens > 0
        calls = store.events(result.run_id, "model_call")
        assert [(c.agent, c.status) for c in calls] == [("planner", "ok"), ("coder", "ok")]
        assert calls[1].payload["reply"] == code_reply("print(6 * 7)")
        tools = store.events(result.run_id, "tool_call")
        assert all(t.status == "ok" and t.duration_ms is not None for t in tools)
        program, recheck = [t for t in tools if t.name != "snapshot"]
        assert (program.name, program.agent, program.payload["stdout"]) == (
            "run_code",
            "executor",
            "42\n",
        )
        # the verifier re-ran it in a sandbox of its own, from the state it started from
        assert (recheck.name, recheck.agent, recheck.payload["stdout"]) == (
            "recheck",
            "verifier",
            "42\n",
        )
        saved = [t for t in tools if t.name == "snapshot" and t.agent == "executor"]
        # before and after the program: the sandbox held nothing (a printing program leaves
        # no variable), so there is no state file to tidy up and nothing to restore
        assert ["_codehelm_save_state" in t.payload["code"] for t in saved] == [True, True]
        restored = [t for t in tools if t.name == "snapshot" and t.agent == "verifier"]
        assert restored == []
        messages = store.events(result.run_id, "message")
        assert [e.name for e in messages] == [
            "task",
            "plan",
            "code_action",
            "execution",
            "answer",
            "verdict",
        ]
        restored = [MESSAGE.validate_python(e.payload) for e in messages]
        assert restored[1].type == "plan" and restored[1].steps[0].goal == "Multiply"


async def test_wall_time_budget_interrupts_a_long_step(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_seconds": 1.0, "exec_timeout": 30.0})
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Wait"))],
            "coder": [code_reply("import time; time.sleep(20)")],
        }
    )
    start = time.monotonic()
    result = await solve("Wait a while", settings=settings, model=model)
    assert time.monotonic() - start < 10
    assert result.status == "stopped" and result.answer is None
    assert result.stop_reason is not None and result.stop_reason.startswith("budget:")


async def test_resuming_an_unknown_run_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        await resume("nope", settings=settings)


async def test_resuming_a_finished_run_returns_its_result(settings: Settings) -> None:
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Add"))], "coder": [code_reply("print(1 + 1)")]}
    )
    first = await solve("1 + 1", settings=settings, model=model)
    again = await resume(first.run_id, settings=settings, model=model)
    assert again.answer is not None and again.answer.content == "2"
    assert len(model.calls) == 2  # nothing was asked again


def test_kill_and_resume_repeats_no_completed_work(tmp_path: Path, write_script) -> None:  # type: ignore[no-untyped-def]
    """kill -9 during step 2's execution; resume redoes neither step 1 nor any model call,
    and step 2 still sees the variable step 1 defined (restored from the snapshot)."""
    quick = "base = 6 * 7\nprint(base)"
    slow = "import time\ntime.sleep(1.5)\nprint(base + 1)"
    model = write_script(
        {
            "planner": [plan_reply(("code", "Quick"), ("code", "Slow"))],
            "coder": [code_reply(quick), code_reply(slow)],
        }
    )
    home = tmp_path / "home"
    env = {
        **os.environ,
        "CODEHELM_HOME": str(home),
        "CODEHELM_MODEL": model,
        "CODEHELM_STEER": "plan",
    }
    cli = [sys.executable, "-m", "codehelm"]
    proc = subprocess.Popen(
        [*cli, "solve", "Quick then slow", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run_id = wait_for_running_slow_execution(home / "trace.sqlite", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with TraceStore(home / "trace.sqlite") as store:
        assert store.get_run(run_id).status == "interrupted"

    done = subprocess.run(
        [*cli, "resume", run_id, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert '"content": "43"' in done.stdout
    with TraceStore(home / "trace.sqlite") as store:
        agents = [e.agent for e in store.events(run_id, "model_call")]
        assert agents == ["planner", "coder", "coder"]  # none repeated
        tools = store.events(run_id, "tool_call")
        restores = [e.payload for e in tools if e.name == "restore_snapshot"]
        assert len(restores) == 1 and "base" in restores[0]["restored"]
        codes = [e.payload.get("code") for e in tools if e.name == "run_code"]
        assert codes.count(quick) == 1  # step 1 ran once
        assert codes.count(slow) == 2  # the killed execution, and its re-run
        assert store.get_run(run_id).status == "done"


def wait_for_running_slow_execution(trace: Path, proc: subprocess.Popen) -> str:  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        if trace.exists():
            with TraceStore(trace) as store:
                for run in store.runs():
                    running = [
                        e
                        for e in store.events(run.run_id, "tool_call")
                        if e.status == "running" and "sleep" in e.payload["code"]
                    ]
                    if running:
                        return run.run_id
        time.sleep(0.05)
    raise AssertionError("the slow execution never started")
