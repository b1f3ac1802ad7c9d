"""Runs kept in PostgreSQL (`--checkpoints postgres://...`, `CODEHELM_DATABASE_URL`): the CLI
solves, lists, shows and resumes runs there; a bad URL or an unreachable server is one line
naming the URL without its password; a run going on on another machine is not taken for
interrupted, nor resumed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.errors import RunBusyError
from codehelm.runtime.runner import resume
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    monkeypatch.delenv("CODEHELM_DATABASE_URL", raising=False)


def test_the_cli_solves_lists_shows_and_resumes_runs_in_postgres(
    database_url: str, tmp_path: Path, write_script, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    model = write_script(
        {"planner": [plan_reply(("code", "Add"))], "coder": [code_reply("print(2 + 3)")]}
    )
    where = ["--checkpoints", database_url]
    solved = runner.invoke(app, ["solve", "2 + 3", "--model", model, "--json", *where])
    assert solved.exit_code == 0, solved.output
    run_id = json.loads(solved.output)["run_id"]
    assert not (tmp_path / "home" / "trace.sqlite").exists()  # nothing went to SQLite

    monkeypatch.setenv("CODEHELM_DATABASE_URL", database_url)  # the variable does as the flag
    listed = runner.invoke(app, ["runs", "--json"])
    assert listed.exit_code == 0, listed.output
    [run] = json.loads(listed.output)
    assert (run["run_id"], run["status"], run["answer"]) == (run_id, "done", "5")
    assert "database_url" not in run["settings"]  # nor its password

    shown = runner.invoke(app, ["show", run_id, "--json", *where])
    assert shown.exit_code == 0, shown.output
    names = [e["name"] for e in json.loads(shown.output)["events"]]
    assert names.count("answer") == 1 and "verdict" in names

    again = runner.invoke(app, ["resume", run_id, "--json", *where])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["answer"]["content"] == "5"
    assert runner.invoke(app, ["runs", "--json"], env={"CODEHELM_DATABASE_URL": ""}).output == (
        "[]\n"
    )  # the home folder has no runs: they are all in the database


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://me:hunter2@db/runs", "'mysql://me:***@db/runs' is not a PostgreSQL URL"),
        (
            f"postgresql://me:hunter2@127.0.0.1:{_closed_port()}/runs",
            "cannot open the database postgresql://me:***@127.0.0.1:",
        ),
    ],
)
@pytest.mark.parametrize("command", [["runs"], ["show", "r1"], ["resume", "r1"], ["solve", "2"]])
def test_a_bad_or_unreachable_database_is_one_line_without_the_password(
    url: str, message: str, command: list[str]
) -> None:
    result = runner.invoke(app, [*command, "--checkpoints", url])
    assert result.exit_code == 2, result.output
    assert message in result.output and "hunter2" not in result.output
    assert "--checkpoints" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


async def test_a_run_going_on_on_another_machine_is_neither_interrupted_nor_resumed(
    store_settings: Settings,
) -> None:
    with TraceStore(store_settings.trace_location) as store:
        for run_id, host in (("here", None), ("there", "elsewhere")):
            store.start_run(run_id, "solve", "p", {})
            store.db.execute(
                "UPDATE runs SET pid = ?, host = COALESCE(?, host) WHERE run_id = ?",
                (2**22 + 1, host, run_id),  # a pid above Linux's maximum: never alive here
            )
        statuses = {run.run_id: run.status for run in store.runs()}
    assert statuses == {"here": "interrupted", "there": "running"}
    with pytest.raises(RunBusyError, match=f"in process {2**22 + 1} on elsewhere;"):
        await resume("there", settings=store_settings)
