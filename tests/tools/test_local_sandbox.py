"""LocalSandbox against a real worker process: no mocks."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox import FileStore, LocalSandbox, Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[LocalSandbox]:
    sandbox = LocalSandbox(timeout=5.0)
    yield sandbox
    await sandbox.close()


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _wait_dead(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_satisfies_the_protocols(sb: LocalSandbox) -> None:
    assert isinstance(sb, Sandbox)
    assert isinstance(sb.files, FileStore)


# -- run_code ---------------------------------------------------------------------------


async def test_state_persists_between_calls(sb: LocalSandbox) -> None:
    first = await sb.run_code("x = 40\ndef inc(v):\n    return v + 1")
    assert first.ok and first.action_id == "" and not first.state_lost
    second = await sb.run_code("inc(x) + 1")
    assert second.results == ["42"]


async def test_stdout_and_stderr_are_captured(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import sys\nprint('hello')\nprint('oops', file=sys.stderr)")
    assert execution.stdout == "hello\n"
    assert execution.stderr == "oops\n"
    assert execution.results == []
    assert execution.duration_ms > 0


async def test_trailing_expression_becomes_a_result(sb: LocalSandbox) -> None:
    assert (await sb.run_code("a = [1, 2]\na")).results == ["[1, 2]"]
    assert (await sb.run_code("'text'")).results == ["'text'"]
    assert (await sb.run_code("None")).results == []
    assert (await sb.run_code("print('p')")).results == []  # print returns None
    assert (await sb.run_code("3\nb = 4")).results == []  # not the last statement


async def test_exception_reports_name_value_and_user_traceback(sb: LocalSandbox) -> None:
    execution = await sb.run_code("print('start')\ndef f():\n    return 1 / 0\n\nf()")
    assert not execution.ok
    assert execution.stdout == "start\n"
    assert execution.error is not None
    assert execution.error.name == "ZeroDivisionError"
    assert execution.error.value == "division by zero"
    traceback = execution.error.traceback
    assert "return 1 / 0" in traceback and "line 3, in f" in traceback
    assert "_worker.py" not in traceback
    # The interpreter survives an exception: state is kept.
    assert (await sb.run_code("f")).results[0].startswith("<function f")


async def test_syntax_error_is_reported_cleanly(sb: LocalSandbox) -> None:
    execution = await sb.run_code("x = (1,\nprint('never')")
    assert execution.error is not None
    assert execution.error.name == "SyntaxError"
    assert "_worker.py" not in execution.error.traceback
    assert "ast.py" not in execution.error.traceback
    assert "SyntaxError" in execution.error.traceback
    assert execution.stdout == ""


async def test_system_exit_is_an_error_not_a_crash(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    execution = await sb.run_code("import sys\nsys.exit(5)")
    assert execution.error is not None and execution.error.name == "SystemExit"
    assert (await sb.run_code("kept")).results == ["1"]


@pytest.mark.parametrize("code", ["while True: pass", "import time\ntime.sleep(5)"])
async def test_timeout_restarts_with_fresh_state(sb: LocalSandbox, code: str) -> None:
    await sb.run_code("kept = 1")
    started = time.perf_counter()
    execution = await sb.run_code("print('partial')\n" + code, timeout=0.5)
    assert time.perf_counter() - started < 3
    assert execution.timed_out and execution.state_lost and not execution.ok
    assert execution.error is not None
    assert execution.error.name == "TimeoutError"
    assert execution.error.value == (
        "execution exceeded 0.5 s; the interpreter was restarted and earlier variables are lost"
    )
    assert execution.stdout == "partial\n"  # output before the timeout is kept
    after = await sb.run_code("'kept' in globals()")
    assert after.results == ["False"] and not after.state_lost


async def test_default_timeout_comes_from_the_constructor() -> None:
    async with LocalSandbox(timeout=0.3) as sandbox:
        execution = await sandbox.run_code("import time\ntime.sleep(3)")
        assert execution.timed_out
        assert execution.error is not None and "0.3 s" in execution.error.value


async def test_dead_worker_is_detected_and_replaced(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    execution = await sb.run_code("import os\nos._exit(3)")
    assert execution.state_lost and not execution.timed_out
    assert execution.error is not None
    assert execution.error.name == "WorkerDied"
    assert "exited with code 3" in execution.error.value
    after = await sb.run_code("'kept' in globals()")
    assert after.results == ["False"]


async def test_worker_killed_by_a_signal_is_detected(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert execution.error is not None and "SIGKILL" in execution.error.value
    assert (await sb.run_code("1 + 1")).results == ["2"]


async def test_huge_output_is_truncated_with_a_marker() -> None:
    async with LocalSandbox(max_output_chars=1000) as sandbox:
        execution = await sandbox.run_code(
            "for i in range(100_000):\n    print(f'line {i}')\nlist(range(10_000))"
        )
        stdout = execution.stdout
        assert stdout.startswith("line 0\nline 1\n")
        assert stdout.endswith("line 99999\n")
        assert "...[truncated " in stdout and len(stdout) < 1100
        assert "...[truncated " in execution.results[0] and len(execution.results[0]) < 1100
        # Child processes flooding fd 1 are drained and truncated too, without blocking.
        spam = await sandbox.run_code("import os\nos.system('yes | head -c 5000000')")
        assert spam.ok and "...[truncated " in spam.stdout and len(spam.stdout) < 1100


async def test_os_level_output_of_children_does_not_break_the_protocol(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import os, subprocess\n"
        "print('a')\n"
        "os.system('echo hi; echo err >&2')\n"
        "subprocess.run(['echo', 'from-run'])\n"
        "print('b')\n"
        "7"
    )
    assert execution.stdout == "a\nhi\nfrom-run\nb\n"  # in order
    assert execution.stderr == "err\n"
    assert execution.results == ["7"]
    assert (await sb.run_code("6 * 7")).results == ["42"]


async def test_prints_of_forked_children_are_captured(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import multiprocessing\n"
        "child = multiprocessing.get_context('fork').Process(target=print, args=('forked',))\n"
        "child.start(); child.join()\n"
        "child.exitcode"
    )
    assert execution.stdout == "forked\n"
    assert execution.results == ["0"]


async def test_unsupported_language_is_bad_input(sb: LocalSandbox) -> None:
    with pytest.raises(BadInputError, match="only Python"):
        await sb.run_code("console.log(1)", language="javascript")


async def test_concurrent_calls_are_serialized(sb: LocalSandbox) -> None:
    await sb.run_code("n = 0")
    step = "import time\nv = n\ntime.sleep(0.01)\nn = v + 1"
    await asyncio.gather(*(sb.run_code(step) for _ in range(5)))
    assert (await sb.run_code("n")).results == ["5"]


async def test_cancelled_call_drops_the_worker_and_says_so(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    task = asyncio.ensure_future(sb.run_code("import time\ntime.sleep(5)"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = await sb.run_code("'kept' in globals()")
    assert after.state_lost and after.results == ["False"]


# -- isolation and lifecycle ------------------------------------------------------------


async def test_host_environment_is_not_inherited(
    sb: LocalSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEHELM_TEST_SECRET", "s3cret")
    code = await sb.run_code("import os\nos.environ.get('CODEHELM_TEST_SECRET')")
    assert code.ok and code.results == []
    child = await sb.run_code("import os\nos.system('echo [$CODEHELM_TEST_SECRET]')")
    assert child.stdout == "[]\n"
    command = await sb.run_command("echo [$CODEHELM_TEST_SECRET]")
    assert command.stdout == "[]\n"
    home = await sb.run_code("import os\nos.environ['HOME'] == os.getcwd()")
    assert home.results == ["True"]


async def test_explicit_env_is_passed() -> None:
    async with LocalSandbox(env={"GREETING": "hi"}) as sandbox:
        assert (await sandbox.run_code("import os\nos.environ['GREETING']")).results == ["'hi'"]
        assert (await sandbox.run_command("echo $GREETING")).stdout == "hi\n"


async def test_close_kills_background_processes_and_is_idempotent() -> None:
    sandbox = LocalSandbox()
    execution = await sandbox.run_code("import subprocess\nsubprocess.Popen(['sleep', '1000']).pid")
    pid = int(execution.results[0])
    assert _alive(pid)
    workspace = sandbox.workspace
    await sandbox.close()
    await sandbox.close()
    assert await _wait_dead(pid)
    assert not workspace.exists()  # a workspace we created is removed
    with pytest.raises(SandboxError):
        await sandbox.run_code("1")
    with pytest.raises(SandboxError):
        await sandbox.files.read("x")


async def test_given_workspace_is_kept(tmp_path: Path) -> None:
    async with LocalSandbox(workspace=tmp_path / "ws") as sandbox:
        await sandbox.run_code("open('made.txt', 'w').write('by code')")
    assert (tmp_path / "ws" / "made.txt").read_text() == "by code"


# -- files ------------------------------------------------------------------------------


async def test_files_read_write_list(sb: LocalSandbox) -> None:
    await sb.files.write("notes/a.txt", "héllo")
    await sb.files.write("data.bin", b"\x00\x01")
    assert await sb.files.read("notes/a.txt") == "héllo"
    assert await sb.files.read_bytes("data.bin") == b"\x00\x01"
    # The worker's cwd is the workspace, so code sees the same files.
    assert (await sb.run_code("open('notes/a.txt').read()")).results == ["'héllo'"]
    await sb.run_code("open('out.csv', 'w').write('a,b\\n')")
    assert await sb.files.read("out.csv") == "a,b\n"
    listing = await sb.files.list()
    assert [(f.path, f.is_dir) for f in listing] == [
        ("data.bin", False),
        ("notes", True),
        ("out.csv", False),
    ]
    assert [f.path for f in await sb.files.list("notes")] == ["notes/a.txt"]
    assert (await sb.files.list("notes"))[0].size == len("héllo".encode())
    assert await sb.files.read(str(sb.workspace / "out.csv")) == "a,b\n"  # absolute inside


async def test_missing_file_is_bad_input(sb: LocalSandbox) -> None:
    with pytest.raises(BadInputError, match=r"no such file in the sandbox workspace: nope\.txt"):
        await sb.files.read("nope.txt")


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd"])
async def test_paths_outside_the_workspace_are_refused(sb: LocalSandbox, path: str) -> None:
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.read(path)
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.write(path, "x")
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.list(path)


async def test_symlink_pointing_outside_is_refused(sb: LocalSandbox, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, sb.workspace / "link.txt")
    os.symlink(tmp_path, sb.workspace / "linkdir")
    with pytest.raises(BadInputError, match="outside"):
        await sb.files.read("link.txt")
    with pytest.raises(BadInputError, match="outside"):
        await sb.files.write("linkdir/new.txt", "x")
    assert not (tmp_path / "new.txt").exists()


# -- run_command ------------------------------------------------------------------------


async def test_run_command_output_and_exit_code(sb: LocalSandbox) -> None:
    result = await sb.run_command("echo out; echo err >&2; exit 3")
    assert result.stdout == "out\n" and result.stderr == "err\n"
    assert result.exit_code == 3 and not result.ok and not result.timed_out
    ok = await sb.run_command("pwd")
    assert ok.ok and ok.stdout.strip() == str(sb.workspace)


async def test_run_command_cwd_is_confined(sb: LocalSandbox) -> None:
    await sb.files.write("sub/dir/f.txt", "x")
    result = await sb.run_command("ls; pwd", cwd="sub/dir")
    assert result.stdout.splitlines() == ["f.txt", str(sb.workspace / "sub" / "dir")]
    with pytest.raises(BadInputError):
        await sb.run_command("pwd", cwd="..")
    with pytest.raises(BadInputError):
        await sb.run_command("pwd", cwd="missing")


async def test_run_command_timeout_kills_it(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    result = await sb.run_command("echo started; sleep 30", timeout=0.5)
    assert time.perf_counter() - started < 3
    assert result.timed_out and result.exit_code is None
    assert result.stdout == "started\n"


async def test_run_command_background_process_does_not_hang_it(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    result = await sb.run_command("sleep 30 & echo $!")
    assert time.perf_counter() - started < 3
    assert result.ok
    assert await _wait_dead(int(result.stdout))


async def test_run_command_output_is_truncated() -> None:
    async with LocalSandbox(max_output_chars=500) as sandbox:
        result = await sandbox.run_command("seq 1 100000")
        assert result.ok
        assert result.stdout.startswith("1\n2\n") and result.stdout.endswith("100000\n")
        assert "...[truncated " in result.stdout and len(result.stdout) < 600
