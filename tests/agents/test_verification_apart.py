"""Verification leaves the run's sandbox alone: re-runs and check programs run in a sibling.

Before, the verifier re-ran the program in the run's own interpreter (on a shallow copy of
its globals) and ran check programs there too: side effects happened twice, and a check
that hung restarted the interpreter, so later steps lost their variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Verdict
from codehelm.models import ScriptedModel
from codehelm.state import SolveState
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply

APPENDS = """
try:
    seen
except NameError:
    seen = []
seen.append(1)
with open("log.txt", "a") as log:
    log.write("x")
print(len(seen) * 7)
"""


def checks_of(state: SolveState) -> dict[str, bool | None]:
    verdict = next(m for m in reversed(state.messages) if isinstance(m, Verdict))
    return {check.name: check.passed for check in verdict.checks}


@pytest.mark.parametrize("snapshots", [False, True], ids=["no-snapshots", "snapshots"])
async def test_side_effects_happen_once_in_the_run_sandbox(
    sandbox: LocalSandbox, tmp_path: Path, snapshots: bool
) -> None:
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Count"))], "coder": [code_reply(APPENDS)]}
    )
    graph = build_solve_graph(
        model, sandbox, policy="plan", snapshots=tmp_path / "snaps" if snapshots else None
    )
    state = await run_graph(graph, "Count to seven")
    assert state.answer is not None and state.answer.content == "7"
    assert checks_of(state)["reproduces"] is True  # the re-run happened, elsewhere
    assert (await sandbox.run_code("print(len(seen))")).stdout == "1\n"
    assert await sandbox.files.read("log.txt") == "x"


async def test_a_check_that_never_ends_leaves_the_run_variables(sandbox: LocalSandbox) -> None:
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Compute"))],
            "coder": [code_reply("secret = 41\nprint(secret + 1)")],
            "verifier": [code_reply("while True:\n    pass")],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="plan", self_check=True, exec_timeout=1.0)
    state = await run_graph(graph, "What is 41 + 1?")
    assert state.answer is not None and state.answer.content == "42"
    assert checks_of(state)["self_check"] is None  # a check that cannot run decides nothing
    still = await sandbox.run_code("print(secret)")
    assert still.stdout == "41\n" and not still.state_lost


async def test_a_second_step_re_runs_from_the_first_steps_state(
    sandbox: LocalSandbox, tmp_path: Path
) -> None:
    """With snapshots the re-run starts from exactly the state the step started from."""
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Make a list"), ("code", "Sum it"))],
            "coder": [code_reply("items = [1, 2, 3]\nprint(items)"), code_reply(APPENDS)],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="plan", snapshots=tmp_path / "snaps")
    state = await run_graph(graph, "Count")
    assert state.answer is not None and state.answer.content == "7"
    assert checks_of(state)["reproduces"] is True
    assert (await sandbox.run_code("print(items, seen)")).stdout == "[1, 2, 3] [1]\n"


@pytest.mark.parametrize(("snapshots", "reproduces"), [(False, None), (True, True)])
async def test_files_the_sandbox_was_given_are_in_the_re_runs_start(
    sandbox: LocalSandbox, tmp_path: Path, snapshots: bool, reproduces: bool | None
) -> None:
    """With snapshots the run's first execution is preceded by one, holding the given file.
    Without, the starting state is rebuilt by replay, which may differ: a re-run that then
    fails must not fail a possibly correct answer."""
    await sandbox.files.write("given.txt", "5")  # the run's sandbox had a file, say
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Read"))],
            "coder": [code_reply("print(int(open('given.txt').read()) * 2)")],
        }
    )
    folder = tmp_path / "snaps" if snapshots else None
    graph = build_solve_graph(model, sandbox, policy="plan", snapshots=folder)
    state = await run_graph(graph, "Double it")
    assert state.answer is not None and state.answer.content == "10"
    assert checks_of(state)["reproduces"] is reproduces
