"""`solve_once`: a job run again (a Ray retry after its worker died) takes up its run instead
of starting a second one; on SQLite and on PostgreSQL (`store_settings`)."""

from __future__ import annotations

import pytest

from codehelm.config import Settings
from codehelm.errors import ConfigError, RunBusyError
from codehelm.runtime.runner import solve, solve_once
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply

ADD = {"planner": [plan_reply(("code", "Add"))], "coder": [code_reply("print(1 + 1)")]}


async def test_a_finished_run_is_answered_again_without_running(  # type: ignore[no-untyped-def]
    store_settings: Settings, write_script
) -> None:
    settings = store_settings.model_copy(update={"model": write_script(ADD)})
    first = await solve_once("1 + 1", "job-1", settings=settings)
    assert first.run_id == "job-1" and first.answer is not None and first.answer.content == "2"
    with TraceStore(settings.trace_location) as store:
        events = len(store.events("job-1"))
    # Neither a model nor a sandbox may be made a second time: both would fail here.
    elsewhere = settings.model_copy(update={"model": "nosuch/model", "sandbox": "nosuch"})
    again = await solve_once("1 + 1", "job-1", settings=elsewhere)
    assert again.answer is not None and again.answer.content == "2" and again.status == "done"
    with TraceStore(settings.trace_location) as store:
        assert [r.run_id for r in store.runs()] == ["job-1"]
        assert len(store.events("job-1")) == events


async def test_a_run_that_died_before_its_first_checkpoint_starts_over(  # type: ignore[no-untyped-def]
    store_settings: Settings, write_script
) -> None:
    settings = store_settings.model_copy(update={"model": write_script(ADD)})
    with TraceStore(settings.trace_location) as store:  # what a worker killed at once leaves
        store.start_run("job-2", "solve", "1 + 1", {})
        store.record("job-2", "message", agent="user", name="task", status="ok", payload={})
    result = await solve_once("1 + 1", "job-2", settings=settings)
    assert result.status == "done" and result.answer is not None and result.answer.content == "2"
    with TraceStore(settings.trace_location) as store:
        assert store.get_run("job-2").status == "done"
        tasks = [e for e in store.events("job-2") if e.name == "task"]
        assert len(tasks) == 1 and tasks[0].payload != {}  # the dead attempt's events are gone


async def test_solve_refuses_the_id_of_a_run_that_exists(  # type: ignore[no-untyped-def]
    settings: Settings, write_script
) -> None:
    settings = settings.model_copy(update={"model": write_script(ADD)})
    await solve("1 + 1", settings=settings, run_id="mine")
    with pytest.raises(ConfigError, match="run mine already exists: resume it"):
        await solve("2 + 2", settings=settings, run_id="mine")


async def test_a_run_left_running_on_another_machine_is_taken_over_only_when_asked(  # type: ignore[no-untyped-def]
    store_settings: Settings, write_script
) -> None:
    settings = store_settings.model_copy(update={"model": write_script(ADD)})
    await solve_once("1 + 1", "job-3", settings=settings)
    with TraceStore(settings.trace_location) as store:  # as a worker lost with its node leaves it
        store.db.execute(
            "UPDATE runs SET status = 'running', host = 'gone' WHERE run_id = ?", ("job-3",)
        )
    with pytest.raises(RunBusyError, match=r"still running in process \d+ on gone"):
        await solve_once("1 + 1", "job-3", settings=settings)
    result = await solve_once("1 + 1", "job-3", settings=settings, take_over=True)
    assert result.status == "done" and result.answer is not None and result.answer.content == "2"
    with TraceStore(settings.trace_location) as store:
        assert store.get_run("job-3").host != "gone"
