"""`langgraph dev` (langgraph-cli's in-memory server) serves the graphs of langgraph.json;
the official SDK client drives `solve` with the scripted model and the local sandbox."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import UnprocessableEntityError

from tests.conftest import code_reply, plan_reply

pytestmark = pytest.mark.slow  # the server takes ~10 s to start

ROOT = Path(__file__).parents[2]
SCRIPT = {
    "planner": {
        "slowly": plan_reply(("code", "Sleep, then add two and three")),
        "2 + 3": plan_reply(("code", "Add two and three")),
        "7 * 6": plan_reply(("code", "Multiply seven by six")),
    },
    "coder": {  # by the task, which the coder's prompt holds whatever the plan's goals
        "slowly": code_reply("import time\ntime.sleep(3)\nprint(2 + 3)"),
        "2 + 3": code_reply("print(2 + 3)"),
        "7 * 6": code_reply("print(7 * 6)"),
    },
}
OTHER_MODEL = {"planner": [plan_reply(("code", "Print it"))], "coder": [code_reply("print(99)")]}
RESEARCH_MODEL = {
    "planner": [json.dumps({"queries": ["asyncio.TaskGroup added in version"], "compute": ""})],
    "mindmap": [json.dumps({"entities": ["asyncio.TaskGroup"], "claims": ["added in 3.11"]})],
    "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
}
NOTES = "# asyncio\n\nThe asyncio.TaskGroup class was added in Python 3.11.\n"
SERVER_MAX_STEPS = 15  # CODEHELM_MAX_STEPS of the server: the default budget of its runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server(NamedTuple):
    url: str
    folder: Path  # holds the scripts of its models and its log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A `langgraph dev` process on a free port (no blocking calls allowed), stopped after."""
    tmp = tmp_path_factory.mktemp("langgraph-dev")
    (tmp / "script.json").write_text(json.dumps(SCRIPT))
    (tmp / "other.json").write_text(json.dumps(OTHER_MODEL))
    (tmp / "research.json").write_text(json.dumps(RESEARCH_MODEL))
    (tmp / "corpus").mkdir()
    (tmp / "corpus" / "asyncio.md").write_text(NOTES)
    env = {
        **os.environ,
        "CODEHELM_MODEL": f"scripted:{tmp / 'script.json'}",
        "CODEHELM_STEER": "plan",
        "CODEHELM_HOME": str(tmp / "home"),
        "CODEHELM_MAX_STEPS": str(SERVER_MAX_STEPS),
        "CODEHELM_CORPUS": str(tmp / "corpus"),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
    }
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("langgraph")),
        "dev",
        *("--config", str(ROOT / "langgraph.json")),
        *("--host", "127.0.0.1", "--port", str(port)),
        "--no-browser",
        "--no-reload",
    ]
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, tmp / "server.log")
        yield Server(url, tmp)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        assert b"Blocking call" not in (tmp / "server.log").read_bytes()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"langgraph dev did not answer in 90 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def client(server: Server) -> LangGraphClient:
    return get_client(url=server.url)


def task(prompt: str) -> dict[str, Any]:
    return {"task": {"prompt": prompt}}


async def test_each_graph_takes_the_task_and_answers_with_answer_stop_reason_and_usage(
    client: LangGraphClient,
) -> None:
    for graph in ("solve", "research", "fix"):
        (assistant,) = await client.assistants.search(graph_id=graph)
        schemas = await client.assistants.get_schemas(assistant["assistant_id"])
        assert list(schemas["input_schema"]["properties"]) == ["task"]
        assert schemas["input_schema"]["required"] == ["task"]
        assert set(schemas["output_schema"]["properties"]) == {"answer", "stop_reason", "usage"}
        context = schemas["context_schema"]["properties"]
        assert {"model", "steer", "max_steps", "max_seconds", "exec_timeout"} <= set(context)
        assert "sandbox" not in context and "approve" not in context  # the server's own
        drawn = await client.assistants.get_graph(assistant["assistant_id"])
        assert "start" in {node["id"] for node in drawn["nodes"]}


async def test_a_run_streams_its_updates_and_keeps_its_state_and_history(
    client: LangGraphClient,
) -> None:
    thread = (await client.threads.create())["thread_id"]
    updates = [
        chunk.data
        async for chunk in client.runs.stream(
            thread, "solve", input=task("What is 2 + 3?"), stream_mode="updates"
        )
        if chunk.event == "updates"
    ]
    nodes = [name for update in updates for name in update]
    assert nodes == ["start", "planner", "coder", "executor", "verifier", "advance", "finish"]
    assert updates[-1]["finish"]["answer"]["content"] == "5"

    state = await client.threads.get_state(thread)
    values: Any = state["values"]
    assert state["next"] == [] and values["answer"]["content"] == "5"
    assert values["stop_reason"] == "reproduced" and values["steps"] == 4
    assert values["task"]["budget"]["max_steps"] == SERVER_MAX_STEPS  # CODEHELM_* applied
    history = await client.threads.get_history(thread, limit=20)
    assert [h["next"] for h in reversed(history)][:3] == [["__start__"], ["start"], ["planner"]]


async def test_a_cancelled_run_resumes_from_its_last_checkpoint(client: LangGraphClient) -> None:
    thread = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread, "solve", input=task("2 + 3, slowly"))
    for _ in range(200):  # the coder has written the program; it runs for 3 s
        if (await client.threads.get_state(thread))["next"] == ["executor"]:
            break
        await asyncio.sleep(0.05)
    await client.runs.cancel(thread, run["run_id"], wait=True)

    assert (await client.runs.get(thread, run["run_id"]))["status"] == "interrupted"
    state: Any = await client.threads.get_state(thread)
    assert state["next"] == ["executor"] and state["values"]["answer"] is None

    output: Any = await client.runs.wait(thread, "solve", input=None)
    assert output["answer"]["content"] == "5" and output["stop_reason"] == "reproduced"
    assert (await client.threads.get(thread))["status"] == "idle"


async def test_an_invalid_input_or_setting_is_refused_and_leaves_the_thread_alone(
    client: LangGraphClient,
) -> None:
    thread = (await client.threads.create())["thread_id"]
    refused = [
        ({"input": {}}, "input.task: Field required"),
        ({"input": {"task": {"prompt": ""}}}, "input.task.prompt"),
        ({"input": task("2 + 3"), "context": {"max_steps": 0}}, "context.max_steps"),
        ({"input": task("2 + 3"), "context": {"max_step": 3}}, "unknown settings ['max_step']"),
        (
            {"input": task("2 + 3"), "config": {"configurable": {"steer": "sometimes"}}},
            "configurable.steer",
        ),
    ]
    for request, message in refused:
        with pytest.raises(UnprocessableEntityError, match=re.escape(message)):
            await client.runs.create(thread, "solve", **request)
    with pytest.raises(httpx.HTTPStatusError) as waited:  # runs.wait raises httpx's own error
        await client.runs.wait(thread, "solve", input={})
    assert waited.value.response.status_code == 422
    assert await client.runs.list(thread) == []
    assert (await client.threads.get(thread))["status"] == "idle"


async def test_a_second_task_on_a_thread_is_answered_on_its_own(client: LangGraphClient) -> None:
    thread = (await client.threads.create())["thread_id"]
    first: Any = await client.runs.wait(thread, "solve", input=task("2 + 3"))
    second: Any = await client.runs.wait(thread, "solve", input=task("7 * 6"))
    assert first["answer"]["content"] == "5" and second["answer"]["content"] == "42"
    assert first["usage"]["calls"] == second["usage"]["calls"] == 2  # each its own

    values: Any = (await client.threads.get_state(thread))["values"]
    assert values["steps"] == 4 and values["usage"]["calls"] == 2  # this task's, not both
    tasks = [m["prompt"] for m in values["messages"] if m["type"] == "task"]
    assert tasks == ["7 * 6"]
    history = await client.threads.get_history(thread, limit=50)
    answers = {h["values"]["answer"]["content"] for h in history if h["values"].get("answer")}
    assert answers == {"5", "42"}  # the first task's work stays in the thread's history


async def test_a_run_takes_its_model_and_budget_from_context_or_configurable(
    client: LangGraphClient, server: Server
) -> None:
    thread = (await client.threads.create())["thread_id"]
    stopped: Any = await client.runs.wait(
        thread, "solve", input=task("7 * 6"), context={"max_steps": 1}
    )
    assert stopped["answer"] is None
    assert stopped["stop_reason"].startswith("budget: reached 1 steps")

    other = server.folder / "other.json"
    answered: Any = await client.runs.wait(
        thread,
        "solve",
        input=task("7 * 6"),
        config={"configurable": {"model": f"scripted:{other}", "max_steps": 8}},
    )
    assert answered["answer"]["content"] == "99"
    values: Any = (await client.threads.get_state(thread))["values"]
    assert values["task"]["budget"]["max_steps"] == 8


async def test_the_research_graph_answers_with_a_cited_report(
    client: LangGraphClient, server: Server
) -> None:
    thread = (await client.threads.create())["thread_id"]
    model = {"model": f"scripted:{server.folder / 'research.json'}"}
    question = task("Which Python version added asyncio.TaskGroup?")
    output: Any = await client.runs.wait(thread, "research", input=question, context=model)
    assert "asyncio.TaskGroup was added in Python 3.11 [1]." in output["answer"]["content"]
    assert output["stop_reason"] == "verified"
