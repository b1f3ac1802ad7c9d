"""The viewer never blocks its event loop: every page, and a run's live updates, read the
trace store, checkpoints and eval files off the loop, so one slow read does not hold up
every other page and stream. Served in-process under blockbuster, which fails the request
on a blocking call made on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from codehelm.evals.report import write_report
from codehelm.evals.runner import EvalPlan, run_eval
from codehelm.models import ScriptedModel
from codehelm.runtime.batch import make_batch_runner
from codehelm.runtime.research import research
from codehelm.ui.app import create_app
from codehelm.ui.stores import Stores
from tests.conftest import code_reply, plan_reply
from tests.graphs.test_research import EXTRACTION, corpus, scope
from tests.ui.conftest import MULTIPLY, make_run, run_settings

EVAL = "steering-eval"


@pytest.fixture
def detector() -> Iterator[BlockBuster]:
    """Blockbuster, watching every module; activated around the requests only."""
    with blockbuster_ctx() as detector:
        detector.deactivate()
        yield detector


@pytest.fixture
def stores(home: Path, tmp_path: Path) -> Stores:
    """A home holding a solve run, a paused one and a research run, and an eval folder."""
    script = {
        "planner": [plan_reply(("code", "Compute it"))],
        "coder": [code_reply("print(42)")],
    }
    folder = tmp_path / EVAL
    plan = EvalPlan(families=["multiplication"], n=1, modes=["code"])
    runner = make_batch_runner("local", concurrency=1)
    records = asyncio.run(run_eval(plan, run_settings(home, script), folder, runner))
    write_report(records, folder)
    return Stores(home=home, evals={EVAL: folder})


async def test_no_page_or_stream_blocks_the_loop(
    home: Path, stores: Stores, detector: BlockBuster
) -> None:
    done = await asyncio.to_thread(make_run, home, MULTIPLY, "What is 6 * 7?")
    paused = await asyncio.to_thread(make_run, home, MULTIPLY, "6 * 7?", approve=True)
    model = ScriptedModel(
        {
            "planner": [scope("asyncio.TaskGroup added in version")],
            "mindmap": [EXTRACTION],
            "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
        }
    )
    settings = run_settings(home, {}, corpus=corpus(home.parent))
    found = await research("Which version added TaskGroup?", settings=settings, model=model)
    assert done.status == "done" and paused.status == "paused" and found.status == "done"
    app = create_app(stores)
    transport = httpx.ASGITransport(app=app)
    paths = [
        "/runs",
        "/runs?q=6&status=done",
        f"/runs?store={EVAL}",
        f"/runs/{done.run_id}",
        f"/runs/{done.run_id}?all=1",
        f"/runs/{paused.run_id}",
        f"/runs/{found.run_id}",  # its report and mind map, from the checkpoint
        f"/runs/{done.run_id}/events/1",
        f"/runs/{done.run_id}/stream?after=0",  # a finished run's stream ends by itself
        "/evals",
        f"/evals/{EVAL}",
        f"/evals/{EVAL}/records?mode=code",
        f"/evals/{EVAL}/chart.png",
        "/pygments.css",
    ]
    answers: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        detector.activate()
        try:
            for path in paths:
                answers[path] = await asyncio.wait_for(client.get(path), timeout=30)
        finally:
            detector.deactivate()
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(paths, 200)
    assert "What is 6 * 7?" in answers["/runs"].text
    assert "asyncio.TaskGroup was added in Python 3.11" in answers[f"/runs/{found.run_id}"].text
    assert "event: end" in answers[f"/runs/{done.run_id}/stream?after=0"].text
    assert answers[f"/evals/{EVAL}/chart.png"].content.startswith(b"\x89PNG")
