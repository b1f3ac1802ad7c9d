"""Many runs at once in one process, on SQLite and on PostgreSQL: every run finishes and is
recorded exactly once; a process killed mid-way leaves whole records and resumable runs,
nothing half-written."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import checkpointed_state, resume, solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply

SCRIPT = {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}


def recorded_once(store: TraceStore, run_id: str) -> None:
    """The run's messages are each in the trace once: one task, one answer, one verdict."""
    names = Counter(e.name for e in store.events(run_id, "message"))
    assert (names["task"], names["answer"], names["verdict"]) == (1, 1, 1), names


@pytest.mark.slow  # ~45 s on 2 cores: 400 sandboxes start (each run's and its verifier's)
async def test_200_runs_at_once_all_finish_and_are_each_recorded_once(
    store_settings: Settings,
) -> None:
    settings = store_settings
    results = await asyncio.gather(
        *(
            solve(f"What is 6 * 7? ({i})", settings=settings, model=ScriptedModel(SCRIPT))
            for i in range(200)
        )
    )
    assert all(r.status == "done" and r.answer and r.answer.content == "42" for r in results)
    run_ids = {r.run_id for r in results}
    assert len(run_ids) == 200
    with TraceStore(settings.trace_location) as store:
        runs = store.runs(limit=1000)
        assert sorted(run.run_id for run in runs) == sorted(run_ids)  # each once, none else
        assert all(run.status == "done" and run.answer == "42" for run in runs)
        for run_id in run_ids:
            recorded_once(store, run_id)
    for result in results[::20]:
        state = await checkpointed_state(settings, result.run_id)
        assert state.answer == result.answer


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow  # runs 40 solves in a process it kills, then resumes the unfinished
async def test_a_process_killed_with_many_runs_going_leaves_them_whole_and_resumable(
    store_settings: Settings, write_script
) -> None:  # type: ignore[no-untyped-def]
    home, url = store_settings.home, store_settings.database_url
    model = write_script(SCRIPT)
    program = textwrap.dedent(
        f"""
        import asyncio
        from codehelm.config import Settings
        from codehelm.runtime.runner import solve

        async def main():
            settings = Settings(home={str(home)!r}, database_url={url!r}, model={model!r},
                                steer="plan")
            await asyncio.gather(*(solve(f"What is 6 * 7? ({{i}})", settings=settings)
                                   for i in range(40)))

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", program], stderr=subprocess.PIPE)
    settings = Settings(home=home, database_url=url)
    trace = settings.trace_location
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # kill it once some runs are done, others not
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            if url or settings.trace_path.exists():
                with TraceStore(trace) as store:
                    if sum(run.status == "done" for run in store.runs(limit=100)) >= 5:
                        break
            time.sleep(0.05)
        else:
            raise AssertionError("no run finished in time")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    if not url:  # (PostgreSQL has no such check: it writes whole transactions or nothing)
        assert integrity(settings.trace_path) == "ok"
        assert integrity(settings.checkpoint_path) == "ok"
    with TraceStore(trace) as store:
        runs = store.runs(limit=100)
    statuses = Counter(run.status for run in runs)
    assert set(statuses) <= {"done", "interrupted"} and statuses["interrupted"] > 0, statuses
    resumed = await asyncio.gather(
        *(resume(run.run_id, settings=settings) for run in runs if run.status == "interrupted")
    )
    assert all(r.status == "done" and r.answer and r.answer.content == "42" for r in resumed)
    with TraceStore(trace) as store:
        assert all(run.status == "done" for run in store.runs(limit=100))
        for run in runs:
            recorded_once(store, run.run_id)
