"""Nothing blocks the event loop a graph runs on: file, process, SQLite and socket I/O go
through threads or async APIs. Each test runs under blockbuster, the detector `langgraph dev`
runs graphs under, so a blocking call on the loop fails it here as it would fail the run there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.fix import fix
from codehelm.runtime.research import research
from codehelm.runtime.runner import resume, solve
from codehelm.tools.sandbox.local import LocalSandbox
from codehelm.tools.sandbox.pool import SandboxPool
from codehelm.tools.sandbox.snapshot import restore_snapshot, take_snapshot
from tests.conftest import code_reply, plan_reply
from tests.graphs.fix_repo import FIX_NEW, FIX_OLD, ISSUE, REPRODUCTION, make_repo
from tests.graphs.test_research import EXTRACTION, corpus, scope


@pytest.fixture
def detector() -> Iterator[BlockBuster]:
    """Blockbuster, watching every module; activate it around the code under test only."""
    with blockbuster_ctx() as detector:
        detector.deactivate()
        yield detector


def solve_script() -> ScriptedModel:
    return ScriptedModel(
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}
    )


async def test_a_solve_run_and_its_sandboxes_never_block_the_loop(
    settings: Settings, detector: BlockBuster
) -> None:
    detector.activate()
    try:  # the runner makes the sandbox, the verifier a sibling; snapshots are on
        result = await solve("What is 6 * 7?", settings=settings, model=solve_script())
        again = await resume(result.run_id, settings=settings)  # finished: read back
    finally:
        detector.deactivate()
    assert result.status == "done" and result.answer is not None
    assert result.answer.content == "42" and again.answer == result.answer


async def test_the_sandbox_api_never_blocks_the_loop(tmp_path: Path, detector: BlockBuster) -> None:
    detector.activate()
    try:
        async with LocalSandbox(timeout=2.0) as box:
            await box.files.write("data/in.txt", "6 7")
            assert (await box.run_code("open('data/in.txt').read()")).results == ["'6 7'"]
            assert (await box.run_command("cat data/in.txt", cwd=".")).stdout == "6 7"
            assert [f.path for f in await box.files.list("data")] == ["data/in.txt"]
            ref = await take_snapshot(box, tmp_path / "snap.tar.gz")
            late = await box.run_code("import time; time.sleep(30)", timeout=0.5)
            assert late.timed_out
            assert await restore_snapshot(box, ref) == []
            assert await box.files.read("data/in.txt") == "6 7"
        async with SandboxPool(size=1, timeout=2.0) as pool:
            pooled = await pool.acquire()
            assert (await pooled.run_code("6 * 7")).results == ["42"]
            await pooled.close()
    finally:
        detector.deactivate()


async def test_a_research_run_never_blocks_the_loop(tmp_path: Path, detector: BlockBuster) -> None:
    settings = Settings(home=tmp_path / "home", corpus=corpus(tmp_path), steer="plan")
    model = ScriptedModel(
        {
            "planner": [scope("asyncio.TaskGroup added in version")],
            "mindmap": [EXTRACTION],
            "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
        }
    )
    detector.activate()
    try:
        result = await research("Which version added TaskGroup?", settings=settings, model=model)
    finally:
        detector.deactivate()
    assert result.status == "done" and result.citations


@pytest.mark.slow  # the fix graph builds a virtualenv and runs the repository's tests
async def test_a_fix_run_never_blocks_the_loop(tmp_path: Path, detector: BlockBuster) -> None:
    calc = make_repo(tmp_path / "calc")
    settings = Settings(home=tmp_path / "home", model="scripted:unused.json", fix_candidates=1)
    edit = {"edits": [{"path": "calc/stats.py", "old": FIX_OLD, "new": FIX_NEW}]}
    model = ScriptedModel(
        {
            "localiser": [json.dumps({"functions": ["calc/stats.py::median"]})],
            "reproducer": [json.dumps({"code": REPRODUCTION})],
            "repairer": [json.dumps(edit)],
            "verifier": [json.dumps({"best": 1})],
        }
    )
    detector.activate()
    try:
        result = await fix(calc, ISSUE, settings=settings, model=model)
    finally:
        detector.deactivate()
    assert result.status == "done" and result.verdict == "pass"
