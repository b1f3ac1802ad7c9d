"""Research on a fixture web served on 127.0.0.1, found through a SearXNG-compatible JSON
endpoint: citations resolve to fetched pages holding their quotes, and sources that are
private (through a redirect), too large or not text are skipped with the reason recorded."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.research import research
from codehelm.runtime.runner import resume
from codehelm.runtime.trace import TraceStore
from codehelm.tools.extract import extract_main_text
from tests.graphs.test_research import scope
from tests.tools.web_fixtures import FixtureWeb, serve_fixture_web

RESULTS = [  # a researcher reads the first 4 hits
    ("A practical introduction to asyncio", "/articles/asyncio.html"),
    ("Cloud metadata", "/redirect/metadata"),
    ("Everything about Python", "/huge"),
    ("Loop diagram", "/image.png"),
]


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with serve_fixture_web() as served:
        yield served


@pytest.fixture
def searxng(web: FixtureWeb) -> Iterator[str]:
    """A SearXNG-compatible `/search?format=json` answering every query with RESULTS."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            results = [
                {"title": title, "url": web.url(path), "content": title, "engine": "fixture"}
                for title, path in RESULTS
            ]
            body = json.dumps({"query": "q", "results": results}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_research_on_the_web_cites_fetched_pages_and_skips_the_rest(
    tmp_path: Path, web: FixtureWeb, searxng: str
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        search="searxng",
        searxng_url=searxng,
        allow_hosts=["127.0.0.1"],
    )
    model = ScriptedModel(
        {
            "planner": [scope("TaskGroup recommended Python")],
            "writer": ["Since Python 3.11, TaskGroup is the recommended choice [1]."],
        }
    )
    result = await research(
        "Since which Python version is TaskGroup recommended?", settings=settings, model=model
    )
    assert result.answer is not None, result.stop_reason
    assert "Since Python 3.11, TaskGroup is the recommended choice [1]." in result.answer
    page = web.page("asyncio")
    text = extract_main_text(page.body, content_type=page.content_type)
    assert result.citations and all(c.source == web.url(page.path) for c in result.citations)
    assert all(" ".join(c.quote.split()) in " ".join(text.split()) for c in result.citations)
    with TraceStore(settings.trace_path) as store:
        skipped = [
            e.payload["detail"]
            for e in store.events(result.run_id, "message")
            if e.payload.get("type") == "error"
        ]
    assert any("169.254.169.254 is a link-local address" in why for why in skipped)
    assert any("/huge: too large" in why for why in skipped)
    assert any("image/png is not a text document" in why for why in skipped)
    assert web.requests["/redirect/metadata"] >= 1  # the hop to the metadata address never ran


KILLED_RUN = """
import asyncio, json, sys, time
from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.research import research
from codehelm.runtime.runner import resume

def writer(agent, turn, messages):
    open(sys.argv[3], "w").close()  # tell the test: the researchers and the map are done
    time.sleep(120)  # killed here
    return "never"

settings = Settings.model_validate(json.loads(sys.argv[1]))
model = ScriptedModel({"planner": [sys.argv[2]], "writer": writer})
asyncio.run(research("Since which Python version is TaskGroup recommended?",
                     settings=settings, model=model, run_id="killed1"))
"""


def wait_for(flag: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not flag.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the run never reached the writer"
        time.sleep(0.1)


async def test_a_killed_research_run_resumes_without_fetching_or_asking_twice(
    tmp_path: Path, web: FixtureWeb, searxng: str
) -> None:
    settings = Settings(
        home=tmp_path / "home", search="searxng", searxng_url=searxng, allow_hosts=["127.0.0.1"]
    )
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            settings.model_dump_json(),
            scope("TaskGroup recommended"),
            str(tmp_path / "writing"),
        ],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(tmp_path / "writing", proc)
        fetched = dict(web.requests)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert fetched[web.page("asyncio").path] >= 1
    model = ScriptedModel({"writer": ["Since Python 3.11, TaskGroup is recommended [1]."]})
    result = await resume("killed1", settings=settings, model=model)
    assert result.status == "done" and result.answer is not None
    assert "Since Python 3.11, TaskGroup is recommended [1]." in result.answer.content
    assert [agent for agent, _ in model.calls] == ["writer"]  # no model call made twice
    assert dict(web.requests) == fetched  # nothing fetched twice
