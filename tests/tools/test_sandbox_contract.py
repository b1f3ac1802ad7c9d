"""One contract for every `Sandbox` backend, run against real backends (no mocks).

`local` always runs. `e2b` runs only when E2B_API_KEY is set, since it needs E2B's
cloud. `e2b-debug` always runs: `E2BSandbox` through the real E2B SDK in its debug mode,
against a local stand-in for the sandbox's services (`e2b_debug_server.py`). The unit
tests at the end cover what the E2B backend does without the network: its errors, its
path confinement and the mapping of the SDK's own result types.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from codehelm.errors import BadInputError, MissingAPIKeyError, SandboxError
from codehelm.tools.sandbox import FileStore, LocalSandbox, Sandbox
from codehelm.tools.sandbox.e2b import (
    MISSING_KEY,
    E2BSandbox,
    _in_own_session,
    execution_from_e2b,
)

E2B_REASON = "E2B_API_KEY is not set; the E2B backend needs E2B's cloud"
DEBUG_API_KEY = "e2b_debug"  # never sent: in debug mode the SDK skips E2B's API
MARKER = re.compile(r"\n\.\.\.\[truncated \d+ chars\]\.\.\.\n")
LOST_STATE = "the interpreter was restarted and earlier variables are lost"

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param(
        "e2b",
        id="e2b",
        marks=[
            pytest.mark.e2b,
            pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason=E2B_REASON),
        ],
    ),
    pytest.param("e2b-debug", id="e2b-debug"),
]

OpenSandbox = Callable[..., Sandbox]


@pytest.fixture(params=BACKENDS)
async def open_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[OpenSandbox]:
    """Opens sandboxes of the backend under test (with extra options); closes them after."""
    opened: list[Sandbox] = []
    if request.param == "e2b-debug":  # the stand-in's "VM" is this machine: fresh dirs
        request.getfixturevalue("e2b_debug")
        root = request.getfixturevalue("tmp_path").resolve()

    def open_(**options: Any) -> Sandbox:
        box: Sandbox
        if request.param == "local":
            box = LocalSandbox(**options)
        elif request.param == "e2b-debug":
            options.setdefault("workspace", str(root / f"workspace{len(opened)}"))
            box = E2BSandbox(api_key=DEBUG_API_KEY, **options)
        else:
            box = E2BSandbox(api_key=os.environ["E2B_API_KEY"], **options)
        opened.append(box)
        return box

    yield open_
    for box in opened:
        await box.close()


@pytest.fixture
def sb(open_sandbox: OpenSandbox) -> Sandbox:
    """A sandbox of the backend under test, with default options."""
    return open_sandbox()


def workspace(box: Sandbox) -> str:
    return str(box.workspace)  # type: ignore[attr-defined]


# -- the contract: run_code -------------------------------------------------------------


async def test_satisfies_the_protocols(sb: Sandbox) -> None:
    assert isinstance(sb, Sandbox)
    assert isinstance(sb.files, FileStore)


async def test_state_persists_between_calls(sb: Sandbox) -> None:
    first = await sb.run_code("x = 40\ndef inc(v):\n    return v + 1")
    assert first.ok and first.action_id == "" and not first.state_lost
    second = await sb.run_code("inc(x) + 1")
    assert second.ok and second.results == ["42"]


async def test_a_sibling_is_a_new_sandbox_configured_alike(
    open_sandbox: OpenSandbox, request: pytest.FixtureRequest
) -> None:
    box = open_sandbox(timeout=1.5)
    await box.run_code("x = 1")
    async with box.sibling() as sibling:
        assert type(sibling) is type(box) and sibling.timeout == 1.5  # type: ignore[attr-defined]
        missing = await sibling.run_code("x")
        assert missing.error is not None and missing.error.name == "NameError"
        await sibling.run_code("x = 2")
        # The E2B stand-in is one machine, so its sandboxes share files; E2B's do not.
        if "e2b-debug" not in request.node.name:
            await sibling.files.write("only_here.txt", "s")
            assert "only_here.txt" not in [f.path for f in await box.files.list()]
    assert (await box.run_code("x")).results == ["1"]


async def test_stdout_and_stderr_are_captured(sb: Sandbox) -> None:
    execution = await sb.run_code("import sys\nprint('hello')\nprint('oops', file=sys.stderr)")
    assert execution.ok
    assert execution.stdout == "hello\n"
    assert execution.stderr == "oops\n"
    assert execution.results == []
    assert execution.duration_ms > 0


async def test_trailing_expression_becomes_a_result(sb: Sandbox) -> None:
    assert (await sb.run_code("a = [1, 2]\na")).results == ["[1, 2]"]
    assert (await sb.run_code("'text'")).results == ["'text'"]
    assert (await sb.run_code("None")).results == []
    assert (await sb.run_code("print('p')")).results == []
    assert (await sb.run_code("3\nb = 4")).results == []  # not the last statement


async def test_exception_reports_name_value_and_traceback(sb: Sandbox) -> None:
    execution = await sb.run_code("print('start')\ndef f():\n    return 1 / 0\n\nf()")
    assert not execution.ok and not execution.timed_out
    assert execution.stdout == "start\n"
    assert execution.error is not None
    assert execution.error.name == "ZeroDivisionError"
    assert execution.error.value == "division by zero"
    assert "1 / 0" in execution.error.traceback
    assert "ZeroDivisionError" in execution.error.traceback
    assert "\x1b[" not in execution.error.traceback  # no terminal colour codes
    # The interpreter survives an exception: state is kept.
    assert (await sb.run_code("callable(f)")).results == ["True"]


async def test_syntax_error_is_reported(sb: Sandbox) -> None:
    execution = await sb.run_code("x = (1,\nprint('never')")
    assert not execution.ok
    assert execution.error is not None
    assert execution.error.name == "SyntaxError"
    assert "SyntaxError" in execution.error.traceback
    assert execution.stdout == ""
    assert (await sb.run_code("1 + 1")).results == ["2"]


@pytest.mark.parametrize("code", ["while True: pass", "import time\ntime.sleep(30)"])
async def test_timeout_restarts_and_the_sandbox_still_answers(sb: Sandbox, code: str) -> None:
    await sb.run_code("kept = 1")
    started = time.perf_counter()
    execution = await sb.run_code("print('partial', flush=True)\n" + code, timeout=1.0)
    assert time.perf_counter() - started < 6
    assert execution.timed_out and execution.state_lost and not execution.ok
    assert execution.error is not None
    assert execution.error.name == "TimeoutError"
    assert execution.error.value == f"execution exceeded 1.0 s; {LOST_STATE}"
    assert execution.stdout == "partial\n"  # output before the timeout is kept
    after = await sb.run_code("'kept' in globals()")
    assert after.ok and after.results == ["False"] and not after.state_lost


async def test_huge_output_is_truncated_with_a_marker(open_sandbox: OpenSandbox) -> None:
    box = open_sandbox(max_output_chars=1000)
    execution = await box.run_code(
        "for i in range(20_000):\n    print(f'line {i}')\nlist(range(10_000))", timeout=60
    )
    assert execution.ok
    stdout = execution.stdout
    assert stdout.startswith("line 0\nline 1\n")
    assert stdout.endswith("line 19999\n")
    assert MARKER.search(stdout) and len(stdout) < 1100
    assert len(execution.results) == 1
    assert MARKER.search(execution.results[0]) and len(execution.results[0]) < 1100


async def test_unsupported_language_is_bad_input(sb: Sandbox) -> None:
    with pytest.raises(BadInputError, match="only Python"):
        await sb.run_code("console.log(1)", language="javascript")


# -- the contract: files ----------------------------------------------------------------


async def test_files_write_read_list_roundtrip(sb: Sandbox) -> None:
    await sb.files.write("notes/a.txt", "héllo")
    await sb.files.write("data.bin", b"\x00\x01")
    assert await sb.files.read("notes/a.txt") == "héllo"
    assert await sb.files.read_bytes("data.bin") == b"\x00\x01"
    # Code runs in the workspace, so it sees the same files, and files see its output.
    assert (await sb.run_code("open('notes/a.txt', encoding='utf-8').read()")).results == [
        "'héllo'"
    ]
    assert (await sb.run_code("open('out.csv', 'w').write('a,b\\n')")).ok
    assert await sb.files.read("out.csv") == "a,b\n"
    listing = await sb.files.list()
    assert [(f.path, f.is_dir) for f in listing] == [
        ("data.bin", False),
        ("notes", True),
        ("out.csv", False),
    ]
    notes = await sb.files.list("notes")
    assert [(f.path, f.size) for f in notes] == [("notes/a.txt", len("héllo".encode()))]
    assert await sb.files.read(f"{workspace(sb)}/out.csv") == "a,b\n"  # absolute, inside


async def test_missing_file_is_bad_input(sb: Sandbox) -> None:
    with pytest.raises(BadInputError, match=r"no such file in the sandbox workspace: nope\.txt"):
        await sb.files.read("nope.txt")


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd"])
async def test_paths_outside_the_workspace_are_refused(sb: Sandbox, path: str) -> None:
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.read(path)
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.write(path, "x")
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.list(path)


# -- the contract: run_command ----------------------------------------------------------


async def test_run_command_exit_code_and_output(sb: Sandbox) -> None:
    result = await sb.run_command("echo out; echo err >&2; exit 3")
    assert result.stdout == "out\n" and result.stderr == "err\n"
    assert result.exit_code == 3 and not result.ok and not result.timed_out
    ok = await sb.run_command("pwd")
    assert ok.ok and ok.exit_code == 0
    assert ok.stdout.strip() == workspace(sb)


async def test_run_command_cwd_is_confined(sb: Sandbox) -> None:
    await sb.files.write("sub/dir/f.txt", "x")
    result = await sb.run_command("ls; pwd", cwd="sub/dir")
    assert result.ok
    assert result.stdout.splitlines() == ["f.txt", f"{workspace(sb)}/sub/dir"]
    with pytest.raises(BadInputError):
        await sb.run_command("pwd", cwd="..")
    with pytest.raises(BadInputError):
        await sb.run_command("pwd", cwd="missing")


async def test_run_command_timeout(sb: Sandbox) -> None:
    started = time.perf_counter()
    result = await sb.run_command("echo started; sleep 30", timeout=1.0)
    assert time.perf_counter() - started < 6
    assert result.timed_out and result.exit_code is None and not result.ok
    assert result.stdout == "started\n"
    assert (await sb.run_command("echo still here")).stdout == "still here\n"


# -- the contract: lifecycle ------------------------------------------------------------


async def test_close_is_idempotent_and_async_with_works(open_sandbox: OpenSandbox) -> None:
    box = open_sandbox()
    async with box as entered:
        assert entered is box
        assert (await box.run_code("1 + 1")).results == ["2"]
    await box.close()  # a second time: nothing happens
    with pytest.raises(SandboxError, match="closed"):
        await box.run_code("1")
    with pytest.raises(SandboxError, match="closed"):
        await box.run_command("true")
    with pytest.raises(SandboxError, match="closed"):
        await box.files.read("x")


# -- E2B without the network ------------------------------------------------------------


@pytest.fixture
def no_e2b_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)


@pytest.mark.usefixtures("no_e2b_key")
async def test_e2b_without_a_key_fails_at_first_use() -> None:
    box = E2BSandbox()  # constructing needs neither a key nor the network
    assert isinstance(box, Sandbox) and isinstance(box.files, FileStore)
    with pytest.raises(MissingAPIKeyError) as caught:
        await box.run_code("1")
    assert str(caught.value) == MISSING_KEY
    assert MISSING_KEY == (
        "the e2b sandbox needs E2B_API_KEY set in the environment (get one at e2b.dev) "
        "or --sandbox local"
    )
    with pytest.raises(MissingAPIKeyError):
        await box.run_command("true")
    with pytest.raises(MissingAPIKeyError):
        await box.files.read("x")
    with pytest.raises(MissingAPIKeyError):
        await box.start()
    await box.close()
    await box.close()
    with pytest.raises(SandboxError, match="closed"):
        await box.run_code("1")


async def test_e2b_empty_explicit_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2B_API_KEY", "e2b_from_the_environment")
    async with E2BSandbox(api_key="") as box:
        with pytest.raises(MissingAPIKeyError, match="E2B_API_KEY"):
            await box.run_code("1")


@pytest.fixture
async def fake_e2b_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[bytes]]:
    """Points the E2B SDK at a local HTTP server that answers with the raw reply appended."""
    replies: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(replies[0])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("E2B_API_URL", f"http://127.0.0.1:{port}")
    async with server:
        yield replies


async def test_e2b_rejected_key_is_a_missing_key_error(fake_e2b_api: list[bytes]) -> None:
    body = b'{"code": 401, "message": "Invalid API key"}'
    fake_e2b_api.append(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    async with E2BSandbox(api_key="e2b_wrong") as box:
        with pytest.raises(MissingAPIKeyError, match="E2B rejected the API key") as caught:
            await box.run_code("1")
    assert "\n" not in str(caught.value)
    assert "Invalid API key" in str(caught.value)


async def test_e2b_unreachable_service_is_a_one_line_sandbox_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:  # a local port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("E2B_API_URL", f"http://127.0.0.1:{port}")
    async with E2BSandbox(api_key="e2b_any") as box:
        with pytest.raises(SandboxError, match="could not reach E2B") as caught:
            await box.run_code("1")
    assert not isinstance(caught.value, MissingAPIKeyError)
    assert "\n" not in str(caught.value) and "--sandbox local" in str(caught.value)


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "/home/user/other"])
async def test_e2b_refuses_paths_outside_the_workspace_before_connecting(path: str) -> None:
    async with E2BSandbox(api_key="e2b_unused") as box:
        with pytest.raises(BadInputError, match="outside the sandbox workspace"):
            await box.files.read(path)
        with pytest.raises(BadInputError, match="outside the sandbox workspace"):
            await box.files.write(path, "x")
        with pytest.raises(BadInputError, match="outside the sandbox workspace"):
            await box.files.list(path)
        with pytest.raises(BadInputError, match="outside the sandbox workspace"):
            await box.run_command("pwd", cwd=path)
        with pytest.raises(BadInputError, match="NUL"):
            await box.files.read("a\x00b")
        with pytest.raises(BadInputError, match="only Python"):
            await box.run_code("1", language="r")
        with pytest.raises(BadInputError, match="timeout must be positive"):
            await box.run_code("1", timeout=0)


def test_e2b_rejects_bad_options() -> None:
    with pytest.raises(BadInputError):
        E2BSandbox(timeout=0)
    with pytest.raises(BadInputError):
        E2BSandbox(sandbox_timeout=0)
    with pytest.raises(BadInputError):
        E2BSandbox(max_output_chars=-1)
    with pytest.raises(BadInputError, match="absolute"):
        E2BSandbox(workspace="relative/dir")
    assert E2BSandbox(workspace="/tmp/ws/").workspace == "/tmp/ws"


def test_importing_the_e2b_backend_does_not_import_the_sdk() -> None:
    code = (
        "import sys, codehelm.tools.sandbox.e2b\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('e2b', "
        "'e2b_code_interpreter', 'httpx')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# -- the mapping of E2B's result types (the SDK's own classes) --------------------------


def test_execution_from_e2b_maps_logs_results_and_errors() -> None:
    from e2b_code_interpreter.models import Execution as E2BExecution
    from e2b_code_interpreter.models import ExecutionError as E2BError
    from e2b_code_interpreter.models import Logs, Result

    traceback = (
        "\x1b[0;31m------------------------------------------\x1b[0m\n"
        "\x1b[0;31mZeroDivisionError\x1b[0m  Traceback (most recent call last)\n"
        "Cell \x1b[0;32mIn[3], line 3\x1b[0m\n----> 3 1 / 0\n"
        "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"
    )
    source = E2BExecution(
        results=[
            Result(text="<Figure size 640x480 with 1 Axes>", png="iVBORw0KGgo="),
            Result(png="iVBORw0KGgo="),  # no text form: left out
            Result(text="42", is_main_result=True),
        ],
        logs=Logs(stdout=["hel", "lo\n"], stderr=["oops\n"]),
        error=E2BError("ZeroDivisionError", "division by zero", traceback),
        execution_count=3,
    )
    execution = execution_from_e2b(source, 12.5, 20_000)
    assert execution.action_id == ""
    assert execution.stdout == "hello\n"
    assert execution.stderr == "oops\n"
    assert execution.results == ["<Figure size 640x480 with 1 Axes>", "42"]
    assert execution.error is not None
    assert execution.error.name == "ZeroDivisionError"
    assert execution.error.value == "division by zero"
    assert "\x1b" not in execution.error.traceback
    assert execution.error.traceback.endswith("ZeroDivisionError: division by zero")
    assert "----> 3 1 / 0" in execution.error.traceback
    assert execution.duration_ms == 12.5
    assert not execution.timed_out and not execution.state_lost and not execution.ok

    clean = execution_from_e2b(E2BExecution(results=[Result(text="'ok'")]), 1.0, 100)
    assert clean.ok and clean.results == ["'ok'"] and clean.stdout == clean.stderr == ""


def test_execution_from_e2b_truncates_head_and_tail() -> None:
    from e2b_code_interpreter.models import Execution as E2BExecution
    from e2b_code_interpreter.models import ExecutionError as E2BError
    from e2b_code_interpreter.models import Logs, Result

    source = E2BExecution(
        results=[Result(text="r" * 5000)],
        logs=Logs(stdout=["a" * 600, "b" * 600], stderr=["e" * 999]),
        error=E2BError("ValueError", "v" * 3000, "t" * 3000),
    )
    execution = execution_from_e2b(source, 1.0, 1000)
    assert execution.stdout == "a" * 500 + "\n...[truncated 200 chars]...\n" + "b" * 500
    assert execution.stderr == "e" * 999  # under the limit: untouched
    assert execution.results == ["r" * 500 + "\n...[truncated 4000 chars]...\n" + "r" * 500]
    assert execution.error is not None
    assert MARKER.search(execution.error.value) and len(execution.error.value) < 1100
    assert MARKER.search(execution.error.traceback) and len(execution.error.traceback) < 1100


def test_execution_from_e2b_reports_a_restarted_kernel_as_lost_state() -> None:
    from e2b_code_interpreter.models import Execution as E2BExecution
    from e2b_code_interpreter.models import ExecutionError as E2BError
    from e2b_code_interpreter.models import Logs

    source = E2BExecution(
        logs=Logs(stdout=["before\n"]),
        error=E2BError("ContextRestarting", "Context was restarted", ""),
    )
    execution = execution_from_e2b(source, 1.0, 1000)
    assert execution.state_lost and not execution.ok
    assert execution.stdout == "before\n"
    assert execution.error is not None and execution.error.name == "WorkerDied"
    assert execution.error.value.endswith(LOST_STATE)


# -- the shell wrapper E2B commands run in, checked with this machine's bash -------------


def _bash(cmd: str) -> subprocess.CompletedProcess[str]:
    # Like E2B's envd: `bash -l -c`, not the leader of a process group.
    return subprocess.run(
        ["/bin/bash", "-l", "-c", _in_own_session(cmd)],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=Path.cwd(),
    )


def test_command_wrapper_keeps_exit_code_output_and_quoting() -> None:
    done = _bash("""echo "out $((1 + 2))"; echo 'it''s' >&2; exit 3""")
    assert done.returncode == 3
    assert done.stdout == "out 3\n"
    assert done.stderr == "its\n"


def test_command_wrapper_makes_the_command_a_process_group_leader() -> None:
    done = _bash("echo $$; cut -d' ' -f5 /proc/$$/stat")
    assert done.returncode == 0
    pid, pgid = done.stdout.split()
    assert pid == pgid  # so `kill -- -<pid>` reaches everything the command started
