"""`E2BSandbox` through the real E2B SDK in debug mode, beyond the shared contract.

The SDK talks to the local stand-in of `e2b_debug_server.py` (fixtures in conftest.py):
these tests cover what only the E2B backend does, each with the SDK's real requests.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client", reason="the E2B stand-in runs an IPython kernel")

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox import LocalSandbox
from codehelm.tools.sandbox.e2b import REPR_MIME, E2BSandbox, execution_from_e2b
from tests.tools.e2b_debug_server import FakeE2BServer
from tests.tools.processes import pids_running, wait_dead, wait_running

API_KEY = "e2b_debug"  # never sent: in debug mode the SDK skips E2B's API
LOST_STATE = "the interpreter was restarted and earlier variables are lost"
GONE = "the E2B sandbox is no longer running (it was killed or reached its 900 s lifetime)"
_markers = itertools.count(7_340_001)


@pytest.fixture
async def box(e2b_debug: FakeE2BServer, tmp_path: Path) -> AsyncIterator[E2BSandbox]:
    workspace = tmp_path.resolve() / "workspace"
    async with E2BSandbox(api_key=API_KEY, workspace=str(workspace), timeout=5) as sandbox:
        yield sandbox


@pytest.fixture
def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeE2BServer]:
    """A stand-in of the test's own, for tests that end it."""
    server = FakeE2BServer(home=str(tmp_path.resolve()))
    monkeypatch.setenv("E2B_DEBUG", "true")
    monkeypatch.setenv("E2B_SANDBOX_URL", server.start())
    yield server
    server.stop()


async def test_every_call_goes_through_the_sdk_to_the_stand_in(
    box: E2BSandbox, e2b_debug: FakeE2BServer
) -> None:
    await box.files.write("a.txt", "x")
    assert await box.files.read("a.txt") == "x"
    assert [info.path for info in await box.files.list()] == ["a.txt"]
    assert (await box.run_command("cat a.txt", cwd=".")).stdout == "x"
    assert (await box.run_code("open('a.txt').read()")).results == ["'x'"]
    assert set(e2b_debug.requests) == {
        "POST /filesystem.Filesystem/MakeDir",  # the workspace, at start
        "POST /files",
        "GET /files",
        "POST /filesystem.Filesystem/ListDir",
        "POST /process.Process/Start",
        "POST /contexts",
        "POST /execute",
    }


async def test_results_read_as_local_sandbox_reads_them(box: E2BSandbox) -> None:
    # E2B's own text: IPython's pretty form, with a string's quotes stripped by E2B.
    cells = ["'text'", '"it\'s"', "list(range(30))", "{'k': [1.5, None]}", "b'\\x00'", "3 + 4j"]
    async with LocalSandbox() as local:
        for code in cells:
            expected = (await local.run_code(code)).results
            assert (await box.run_code(code)).results == expected, code
    display = await box.run_code("from IPython.display import display\ndisplay('a')\n5")
    assert display.results == ["'a'", "5"]  # display outputs are results too
    assert (await box.run_code("'_codehelm_setup' in dir()")).results == ["False"]


def test_results_fall_back_to_e2b_text_without_the_repr_formatter() -> None:
    from e2b_code_interpreter.models import Execution as E2BExecution
    from e2b_code_interpreter.models import Result

    source = E2BExecution(
        results=[
            Result(text="text", extra={REPR_MIME: "'text'"}, is_main_result=True),
            Result(text="[0,\n 1]"),  # a kernel where the set-up cell failed
            Result(png="iVBORw0KGgo=", extra={}),
        ]
    )
    assert execution_from_e2b(source, 1.0, 100).results == ["'text'", "[0,\n 1]"]


async def test_a_kernel_that_dies_is_reported_and_replaced(
    box: E2BSandbox, e2b_debug: FakeE2BServer
) -> None:
    assert (await box.run_code("x = 1")).ok
    died = await box.run_code("print('bye', flush=True)\nimport os\nos._exit(1)")
    assert died.state_lost and not died.ok and not died.timed_out
    assert died.error is not None and died.error.name == "WorkerDied"
    assert died.error.value.endswith(LOST_STATE)
    after = await box.run_code("'x' in dir()")
    assert after.ok and after.results == ["False"] and not after.state_lost  # said once
    assert len(e2b_debug.fake.kernels) == 1  # the dead one was removed


async def test_a_timed_out_kernel_is_removed(box: E2BSandbox, e2b_debug: FakeE2BServer) -> None:
    timed_out = await box.run_code("while True: pass", timeout=0.5)
    assert timed_out.timed_out and timed_out.state_lost
    assert (await box.run_code("1")).results == ["1"]
    assert len(e2b_debug.fake.kernels) == 1
    assert sum(r.startswith("DELETE /contexts/") for r in e2b_debug.requests) == 1


async def test_a_timed_out_command_is_killed_with_all_it_started(box: E2BSandbox) -> None:
    marker = str(next(_markers))
    result = await box.run_command(f"sleep {marker} & sleep 30", timeout=1)
    assert result.timed_out and result.exit_code is None
    for pid in pids_running(marker):
        assert await wait_dead(pid), "the background process outlived the timeout"


@pytest.mark.parametrize("attempt", range(5))
async def test_a_cancelled_command_is_killed(box: E2BSandbox, attempt: int) -> None:
    marker = str(next(_markers))
    task = asyncio.ensure_future(box.run_command(f"sleep {marker}", timeout=60))
    pids = await wait_running(marker)  # mostly before the SDK has seen the command start
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for pid in pids:
        assert await wait_dead(pid), "the cancelled command is still running"


async def test_bad_paths_are_bad_input(box: E2BSandbox) -> None:
    # The same errors as LocalSandbox, each from envd's own answer.
    await box.files.write("d/f.txt", "x")
    with pytest.raises(BadInputError, match=r"cannot read d: .*is a directory"):
        await box.files.read("d")
    with pytest.raises(BadInputError, match=r"cannot write d: .*is a directory"):
        await box.files.write("d", "y")
    with pytest.raises(BadInputError, match=r"cannot write d/f\.txt/g: d/f\.txt is not a dir"):
        await box.files.write("d/f.txt/g", "y")
    with pytest.raises(BadInputError, match=r"not a directory: d/f\.txt"):
        await box.files.list("d/f.txt")
    with pytest.raises(BadInputError, match="no such directory in the sandbox workspace: no"):
        await box.files.list("no")
    with pytest.raises(BadInputError, match=r"not a directory in the sandbox workspace: d/f\.txt"):
        await box.run_command("pwd", cwd="d/f.txt")


@pytest.mark.parametrize("kernel", [False, True], ids=["before-a-kernel", "with-a-kernel"])
async def test_an_ended_sandbox_says_so_everywhere(
    box: E2BSandbox, e2b_debug: FakeE2BServer, kernel: bool
) -> None:
    await box.start()
    if kernel:
        assert (await box.run_code("1")).ok
    e2b_debug.fake.gone = True  # E2B's proxy now answers 502 "sandbox ... was not found"
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: box.run_code("1"),
        lambda: box.run_command("true"),
        lambda: box.files.read("a.txt"),
        lambda: box.files.write("a.txt", "x"),
        lambda: box.files.list(),
    ]
    for call in calls:
        with pytest.raises(SandboxError) as caught:
            await call()
        assert str(caught.value).startswith(GONE)


async def test_an_unreachable_sandbox_is_a_one_line_sandbox_error(
    own_server: FakeE2BServer, tmp_path: Path
) -> None:
    async with E2BSandbox(api_key=API_KEY, workspace=str(tmp_path / "ws")) as sandbox:
        assert (await sandbox.run_code("1")).ok
        own_server.stop()
        # refused, or (a kept-alive connection) closed mid-request: either way one line
        with pytest.raises(SandboxError, match=r"could not run code: .*(refused|closed)") as caught:
            await sandbox.run_code("2")
        assert "\n" not in str(caught.value)


def test_the_stand_in_listens_on_the_loopback_only(e2b_debug_server: FakeE2BServer) -> None:
    assert e2b_debug_server.url.startswith("http://127.0.0.1:")
