"""LocalSandbox against a real worker process: no mocks."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox import LocalSandbox, bwrap, local, workspace
from codehelm.tools.sandbox.limits import ResourceLimits
from codehelm.tools.sandbox.pool import SandboxPool
from codehelm.tools.sandbox.process import ProcessHandle
from tests.tools.processes import alive, pids_running, wait_dead, wait_running


@pytest.fixture
async def sb() -> AsyncIterator[LocalSandbox]:
    sandbox = LocalSandbox(timeout=5.0)
    yield sandbox
    await sandbox.close()


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


async def test_cell_sources_are_visible_to_inspect(sb: LocalSandbox) -> None:
    await sb.run_code("def double(v):\n    return 2 * v")
    execution = await sb.run_code("import inspect\ninspect.getsource(double)")
    assert execution.results == ["'def double(v):\\n    return 2 * v'"]


async def test_site_builtins_exist(sb: LocalSandbox) -> None:
    execution = await sb.run_code("callable(exit) and callable(quit) and callable(help)")
    assert execution.results == ["True"]
    assert (await sb.run_code("exit(3)")).error.name == "SystemExit"  # type: ignore[union-attr]


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
    execution = await sandbox.run_code("import subprocess\nsubprocess.Popen(['sleep', '1000.17'])")
    assert execution.ok
    (pid,) = await wait_running("sleep 1000.17")  # a pid inside the sandbox means nothing here
    assert pid in sandbox.host_pids()
    workspace = sandbox.workspace
    await sandbox.close()
    await sandbox.close()
    assert not alive(pid)  # close() returns once everything in the sandbox is gone
    assert sandbox.host_pids() == []
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
    assert ok.ok and ok.stdout.strip() == str(sb.workspace)  # mounted at its host path


async def test_run_command_timeout_kills_it(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    result = await sb.run_command("echo started; sleep 30", timeout=0.5)
    assert time.perf_counter() - started < 3
    assert result.timed_out and result.exit_code is None
    assert result.stdout == "started\n"


async def test_run_command_background_process_does_not_hang_it(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    result = await sb.run_command("sleep 30.19 & setsid sleep 30.19 & echo started")
    assert time.perf_counter() - started < 3
    assert result.ok and result.stdout == "started\n"
    assert pids_running("sleep 30.19") == []  # the command's pid namespace died with it


async def test_run_command_output_is_truncated() -> None:
    async with LocalSandbox(max_output_chars=500) as sandbox:
        result = await sandbox.run_command("seq 1 100000")
        assert result.ok
        assert result.stdout.startswith("1\n2\n") and result.stdout.endswith("100000\n")
        assert "...[truncated " in result.stdout and len(result.stdout) < 600


# -- isolation options ------------------------------------------------------------------


async def test_isolation_is_on_by_default(sb: LocalSandbox) -> None:
    assert sb.isolation == "bwrap"
    execution = await sb.run_code("import os, socket\n(os.getuid(), socket.gethostname())")
    assert execution.results == ["(1000, 'sandbox')"]


async def test_missing_bubblewrap_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    sandbox = LocalSandbox()  # made without I/O (e.g. on an event loop): checked as it starts
    with pytest.raises(SandboxError) as caught:
        await sandbox.run_code("1")
    await sandbox.close()
    message = str(caught.value)
    assert "bubblewrap (bwrap) is not installed" in message
    assert "apt-get install bubblewrap" in message and 'isolation="none"' in message


def test_probe_reports_a_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert bwrap.bwrap_problem.__wrapped__() == "bubblewrap (bwrap) is not installed or not on PATH"


def test_bad_isolation_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="isolation"):
        LocalSandbox(isolation="docker")  # type: ignore[arg-type]


async def test_no_isolation_warns_once_and_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_warned", set())
    with pytest.warns(RuntimeWarning, match="WITHOUT isolation"):
        sandbox = LocalSandbox(isolation="none")
    async with sandbox:
        assert (await sandbox.run_code("import os\nos.getcwd()")).results == [
            repr(str(sandbox.workspace))
        ]
        assert (await sandbox.run_command("pwd")).stdout == f"{sandbox.workspace}\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await LocalSandbox(isolation="none").close()  # the second one is quiet


async def test_env_allowlist_passes_named_host_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEHELM_TEST_ALLOWED", "yes")
    monkeypatch.setenv("CODEHELM_TEST_SECRET", "no")
    async with LocalSandbox(env_allowlist=["CODEHELM_TEST_ALLOWED", "UNSET_VAR"]) as sandbox:
        execution = await sandbox.run_code(
            "import os\nsorted(k for k in os.environ if k.startswith(('CODEHELM', 'UNSET')))"
        )
        assert execution.results == ["['CODEHELM_TEST_ALLOWED']"]


async def test_limits_are_applied_to_code_and_commands() -> None:
    limits = ResourceLimits(cpu_seconds=30, memory_mb=512, max_open_files=64, max_file_mb=7)
    async with LocalSandbox(limits=limits) as sandbox:
        execution = await sandbox.run_code(
            "import resource as r\n"
            "[r.getrlimit(x)[0] for x in "
            "(r.RLIMIT_CPU, r.RLIMIT_AS, r.RLIMIT_NOFILE, r.RLIMIT_FSIZE, r.RLIMIT_NPROC)]"
        )
        assert execution.results == [f"[30, {512 << 20}, 64, {7 << 20}, 256]"]
        command = await sandbox.run_command("ulimit -n")
        assert command.stdout == "64\n"


def test_a_limit_of_none_is_left_as_the_host_has_it() -> None:
    assert resource.RLIMIT_CPU not in dict(ResourceLimits(cpu_seconds=None).rlimits())


async def test_numpy_imports_under_the_default_limits(sb: LocalSandbox) -> None:
    pytest.importorskip("numpy")
    execution = await sb.run_code("import numpy as np\nint(np.arange(1000).sum())")
    assert execution.ok, execution.error
    assert execution.results == ["499500"]


async def test_read_only_paths_are_mounted_read_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "table.csv").write_text("a,b\n")
    async with LocalSandbox(read_only_paths=[data]) as sandbox:
        read = await sandbox.run_code(f"open({str(data / 'table.csv')!r}).read()")
        assert read.results == ["'a,b\\n'"]
        write = await sandbox.run_code(f"open({str(data / 'new.txt')!r}, 'w')")
        assert write.error is not None and "Read-only file system" in write.error.value
    assert not (data / "new.txt").exists()
    with pytest.raises(BadInputError):  # checked as it starts (making one does no I/O)
        async with LocalSandbox(read_only_paths=[tmp_path / "missing"]):
            pass


async def test_start_prewarms_the_worker() -> None:
    async with LocalSandbox() as sandbox:
        assert not sandbox.is_alive() and sandbox.host_pids() == []
        await sandbox.start()
        assert sandbox.is_alive() and len(sandbox.host_pids()) >= 2
        execution = await sandbox.run_code("1 + 1")
        assert execution.results == ["2"] and not execution.state_lost


async def test_worker_that_died_idle_is_replaced_on_start(sb: LocalSandbox) -> None:
    await sb.start()
    worker_pid = max(sb.host_pids())
    os.kill(worker_pid, 9)
    assert await wait_dead(worker_pid)
    deadline = time.monotonic() + 3
    while sb.is_alive() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    after = await sb.run_code("1")
    assert after.state_lost and after.results == ["1"]


# -- race-free file access ------------------------------------------------------------------


def test_open_beneath_refuses_a_symlink_planted_after_the_check(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "dir").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = workspace.confine(root, "dir/new.txt")  # checked while "dir" is a directory
    (root / "dir").rmdir()
    os.symlink(outside, root / "dir")  # swapped before the open
    flags = os.O_WRONLY | os.O_CREAT
    with pytest.raises(OSError):
        workspace.open_beneath(root, target, flags, parents=True)
    assert list(outside.iterdir()) == []


async def test_file_api_refuses_a_symlink_swapped_in_mid_call(
    sb: LocalSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (sb.workspace / "dir").mkdir()
    confine = workspace.confine

    def racing_confine(root: Path, path: str) -> Path:
        full = confine(root, path)
        (sb.workspace / "dir").rmdir()  # sandbox code swaps the directory for a symlink
        os.symlink(tmp_path, sb.workspace / "dir")
        return full

    monkeypatch.setattr(workspace, "confine", racing_confine)
    with pytest.raises(BadInputError, match="outside the sandbox workspace"):
        await sb.files.write("dir/planted.txt", "x")
    assert not (tmp_path / "planted.txt").exists()


# -- pool ---------------------------------------------------------------------------------


async def test_pool_hands_out_started_sandboxes_and_refills() -> None:
    async with SandboxPool(size=2, timeout=5.0) as pool:
        await pool.wait_ready()
        assert pool.ready == 2
        started = time.perf_counter()
        first = await pool.acquire()
        acquire_ms = (time.perf_counter() - started) * 1000
        assert first.is_alive() and acquire_ms < 50
        second = await pool.acquire()
        third = await pool.acquire()  # the pool is empty: waits for a refill
        boxes = [first, second, third]
        assert len({box.workspace for box in boxes}) == 3
        assert [(await box.run_code("6 * 7")).results for box in boxes] == [["42"]] * 3
        await first.run_code("kept = 1")
        assert (await second.run_code("'kept' in globals()")).results == ["False"]
        await pool.wait_ready()
        assert pool.ready == 2
        for box in boxes:
            await box.close()
        waiting = list(pool._ready)
    assert all(box.host_pids() == [] for box in waiting)  # close() closed the idle ones
    with pytest.raises(SandboxError, match="closed"):
        await pool.acquire()


async def test_a_pooled_sandboxs_sibling_comes_started_from_the_pool() -> None:
    async with SandboxPool(size=2, timeout=5.0) as pool:
        await pool.wait_ready()
        first = await pool.acquire()
        waiting = pool._ready[0]
        sibling = first.sibling()
        assert sibling is waiting and sibling.is_alive()  # no start-up on the way
        assert pool.take() is None  # none left ready: a sibling is made fresh then
        fresh = first.sibling()
        assert not fresh.is_alive() and (await fresh.run_code("6 * 7")).results == ["42"]
        assert sibling.workspace != first.workspace
        for box in (first, sibling, fresh):
            await box.close()


def test_a_process_handle_past_file_descriptor_1023() -> None:
    child = subprocess.Popen(["sleep", "30"])
    spare = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]  # as 400 sandboxes hold
    try:
        handle = ProcessHandle(child.pid)
        assert handle.fd is not None and handle.fd > 1023 and not handle.exited()
        handle.kill()
        child.wait()
        assert handle.exited()
        handle.close()
    finally:
        for fd in spare:
            os.close(fd)


def test_pool_options_are_checked() -> None:
    with pytest.raises(BadInputError):
        SandboxPool(size=0)
    with pytest.raises(BadInputError):
        SandboxPool(workspace=Path("/tmp"))
    with pytest.raises(BadInputError):
        SandboxPool(timeout=-1)


async def test_pool_skips_a_sandbox_that_died_while_waiting() -> None:
    async with SandboxPool(size=1) as pool:
        await pool.wait_ready()
        (waiting,) = pool._ready
        os.kill(max(waiting.host_pids()), 9)
        deadline = time.monotonic() + 3
        while waiting.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        sandbox = await pool.acquire()
        assert sandbox is not waiting and sandbox.is_alive()
        assert waiting.host_pids() == []
        await sandbox.close()


async def test_closing_a_pool_while_its_sandboxes_start_ends() -> None:
    """A start cancelled inside asyncio's subprocess creation could wait forever for its
    child; close() lets starts finish and closes them (also one that ended just before)."""
    for delay_ms in range(0, 50, 5):
        pool = await SandboxPool(size=4).start()
        await asyncio.sleep(delay_ms / 1000)
        starting = list(pool._starting)
        closing = asyncio.ensure_future(pool.close())
        await asyncio.wait({closing}, timeout=30)  # does not cancel it: close() must end
        assert closing.done(), f"close() hung with sandboxes starting ({delay_ms} ms)"
        started = [t.result() for t in starting if not t.cancelled() and not t.exception()]
        assert [box.host_pids() for box in started] == [[]] * len(started), delay_ms
