"""The run store and resume (on SQLite and on PostgreSQL): finished runs are not redone,
live runs are not resumed twice, cancelled calls are recorded as such, snapshots survive
links out of the workspace and do not pile up. (That a served graph applies the settings'
budgets is tested against a real server in tests/graphs/test_langgraph_dev.py.)"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from codehelm.config import Settings
from codehelm.errors import RunBusyError
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import resume, solve
from codehelm.runtime.trace import RunStore, TracedSandbox, TraceStore
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply


async def test_resuming_a_finished_run_does_nothing_but_answer(store_settings: Settings) -> None:
    settings = store_settings
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Add"))], "coder": [code_reply("print(1 + 1)")]}
    )
    first = await solve("1 + 1", settings=settings, model=model)
    # Neither a model nor a sandbox may be made: both would fail here.
    elsewhere = settings.model_copy(update={"model": "nosuch/model", "sandbox": "nosuch"})
    with TraceStore(settings.trace_location) as store:
        before = len(store.events(first.run_id))
    again = await resume(first.run_id, settings=elsewhere)
    assert again.answer is not None and again.answer.content == "2"
    assert again.status == "done" and again.stop_reason == first.stop_reason
    with TraceStore(settings.trace_location) as store:
        assert len(store.events(first.run_id)) == before


def test_a_run_alive_in_another_process_is_not_resumed(  # type: ignore[no-untyped-def]
    store_settings: Settings, write_script
) -> None:
    model = write_script(
        {
            "planner": [plan_reply(("code", "Wait"))],
            "coder": [code_reply("import time\ntime.sleep(30)\nprint(1)")],
        }
    )
    home, url = store_settings.home, store_settings.database_url
    env = {**os.environ, "CODEHELM_HOME": str(home), "CODEHELM_STEER": "plan"}
    env["CODEHELM_EXEC_TIMEOUT"] = "60"
    if url:
        env["CODEHELM_DATABASE_URL"] = url
    proc = subprocess.Popen(
        [sys.executable, "-m", "codehelm", "solve", "wait", "--model", model, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if url or (home / "trace.sqlite").exists():
                with TraceStore(store_settings.trace_location) as store:
                    running = [r for r in store.runs() if r.status == "running"]
                    run_id = running[0].run_id if running else None
        assert run_id is not None, "the run never started"
        with pytest.raises(RunBusyError, match=f"still running in process {proc.pid}"):
            asyncio.run(resume(run_id, settings=Settings(home=home, database_url=url)))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


async def test_a_cancelled_tool_call_is_recorded_as_cancelled(
    store_settings: Settings, sandbox: LocalSandbox
) -> None:
    async with RunStore.open(store_settings.trace_location) as runs:
        await runs.start_run("r1", "solve", "wait", {})
        traced = TracedSandbox(sandbox, runs, "r1")
        call = asyncio.ensure_future(traced.run_code("import time; time.sleep(30)", timeout=60))
        await asyncio.sleep(0.5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    with TraceStore(store_settings.trace_location) as store:
        [event] = store.events("r1", "tool_call")
        assert event.status == "cancelled" and event.duration_ms is not None


async def test_snapshots_skip_links_out_of_the_workspace_and_keep_few(settings: Settings) -> None:
    link = "import os\nos.symlink('/etc/hostname', 'outside')\nprint(1)"
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "One"), ("code", "Two"), ("code", "Three"))],
            "coder": [code_reply(link), code_reply("print(2)"), code_reply("print(3)")],
        }
    )
    result = await solve("link, then count", settings=settings, model=model)
    assert result.status == "done" and result.answer is not None
    assert result.answer.content == "3"
    with TraceStore(settings.trace_path) as store:
        reports = [e.payload for e in store.events(result.run_id, "message") if e.name == "error"]
    assert any("outside" in r["detail"] and "left out" in r["error"] for r in reports)
    kept = sorted((settings.snapshot_dir / result.run_id).glob("*.tar.gz"))
    assert len(kept) == 2  # the latest, and the one it started from (for re-checks)
