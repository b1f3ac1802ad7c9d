"""Containment and fault suite for the isolated `LocalSandbox` (bubblewrap): no mocks.

Every case attacks the host from inside a real sandbox and asserts two things: the host is
unaffected (files, processes, network, environment), and the sandbox answers with a clear
error or a contained result, and keeps working afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from codehelm.tools.sandbox import LocalSandbox
from codehelm.tools.sandbox.bwrap import bwrap_problem
from codehelm.tools.sandbox.limits import ResourceLimits
from tests.tools.processes import alive, pids_running, wait_running

pytestmark = pytest.mark.skipif(
    bwrap_problem() is not None, reason=f"bubblewrap cannot isolate here: {bwrap_problem()}"
)


@pytest.fixture
async def sb() -> AsyncIterator[LocalSandbox]:
    async with LocalSandbox(timeout=5.0) as sandbox:
        yield sandbox


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


async def _still_answers(sandbox: LocalSandbox) -> None:
    after = await sandbox.run_code("6 * 7")
    assert after.ok and after.results == ["42"]


@pytest.fixture
def canary() -> Iterator[subprocess.Popen[bytes]]:
    """A host process that sandbox code must not be able to touch."""
    process = subprocess.Popen(["sleep", "300.31"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def host_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on the host's 127.0.0.1 that greets and records who connected."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    connections: list[bytes] = []
    stop = False

    def serve() -> None:
        while not stop:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(b"hello from the host")
                connections.append(b"connected")

    import threading

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop = True
    thread.join(2)
    server.close()


# -- reading host secrets ---------------------------------------------------------------


async def test_host_files_outside_the_workspace_are_invisible(
    sb: LocalSandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"  # the host's /tmp, outside the workspace
    secret.write_text("s3cret")
    execution = await sb.run_code(f"open({str(secret)!r}).read()")
    assert execution.error is not None and execution.error.name == "FileNotFoundError"
    assert secret.read_text() == "s3cret"


async def test_home_directories_are_not_mounted(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import os\n"
        "[os.path.exists(p) for p in ('/home', '/root/.bashrc', '/root/.ssh', '/var', '/run')]"
    )
    assert execution.results == ["[False, False, False, False, False]"]
    listing = await sb.run_code("import os\nos.listdir('/root') if os.path.isdir('/root') else []")
    python_home = [p for p in Path(sys.base_prefix).parts[1:3] if p != "root"]
    assert set(eval(listing.results[0])) <= set(python_home)  # only the way to Python


async def test_host_environment_is_invisible(
    sb: LocalSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEHELM_TEST_SECRET", "s3cret-value")
    execution = await sb.run_code(
        "import os\n"
        "own = open('/proc/self/environ', 'rb').read()\n"
        "try:\n"
        "    init = open('/proc/1/environ', 'rb').read()\n"
        "except OSError as exc:\n"
        "    init = repr(exc).encode()\n"
        "(b's3cret' in own, b's3cret' in init, 'CODEHELM_TEST_SECRET' in os.environ)"
    )
    assert execution.results == ["(False, False, False)"]
    command = await sb.run_command("cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'")
    assert "s3cret" not in command.stdout and "CODEHELM_TEST_SECRET" not in command.stdout


async def test_host_processes_are_invisible(
    sb: LocalSandbox, canary: subprocess.Popen[bytes]
) -> None:
    execution = await sb.run_code(
        "import os\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "cmds = [open(f'/proc/{p}/cmdline', 'rb').read() for p in pids]\n"
        "(len(pids) < 10, any(b'300.31' in c for c in cmds), os.getpid() < 10)"
    )
    assert execution.results == ["(True, False, True)"]
    assert canary.poll() is None


async def test_host_credentials_in_etc_are_not_mounted(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import os\n"
        "paths = ['/etc/shadow', '/etc/gshadow', '/etc/ssl/private', '/etc/pip.conf',\n"
        "         '/etc/gitconfig', '/etc/npmrc', '/etc/machine-id', '/etc/environment']\n"
        "[p for p in paths if os.path.exists(p)]"
    )
    assert execution.results == ["[]"]
    passwd = await sb.run_code("open('/etc/passwd').read()")
    users = {line.split(":")[0] for line in eval(passwd.results[0]).splitlines()}
    assert users == {"root", "sandbox", "nobody"}  # generated, not the host's


async def test_symlink_in_the_workspace_to_a_host_file_reads_nothing(
    sb: LocalSandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    os.symlink(secret, sb.workspace / "link.txt")  # e.g. planted by an earlier tool
    os.symlink("/root", sb.workspace / "rootlink")
    execution = await sb.run_code(
        "import os\n"
        "try:\n"
        "    text = open('link.txt').read()\n"
        "except OSError as exc:\n"
        "    text = type(exc).__name__\n"
        "(text, sorted(os.listdir('rootlink')) if os.path.isdir('rootlink') else [])"
    )
    assert execution.ok and "s3cret" not in execution.results[0]
    assert execution.results[0].startswith("('FileNotFoundError', ")
    assert secret.read_text() == "s3cret"


async def test_symlink_made_by_sandbox_code_is_refused_by_the_file_api(
    sb: LocalSandbox,
) -> None:
    made = await sb.run_code(
        "import os\nos.symlink('/etc/hostname', 'host.txt')\nos.symlink('/usr', 'usr')"
    )
    assert made.ok
    with pytest.raises(Exception, match="outside the sandbox workspace"):
        await sb.files.read("host.txt")
    with pytest.raises(Exception, match="outside the sandbox workspace"):
        await sb.files.write("usr/planted.txt", "x")
    assert not Path("/usr/planted.txt").exists()


# -- writing outside the workspace ------------------------------------------------------


@pytest.mark.parametrize("target", ["/usr/lib/codehelm-planted", "/etc/codehelm-planted"])
async def test_writing_system_directories_fails(sb: LocalSandbox, target: str) -> None:
    execution = await sb.run_code(f"open({target!r}, 'w').write('x')")
    assert execution.error is not None
    assert execution.error.name in ("OSError", "PermissionError", "FileNotFoundError")
    assert not Path(target).exists()


async def test_overwriting_etc_passwd_fails_and_host_copy_is_unchanged(sb: LocalSandbox) -> None:
    before = _digest("/etc/passwd")
    execution = await sb.run_code("open('/etc/passwd', 'a').write('evil::0:0::/:/bin/sh\\n')")
    assert execution.error is not None and "Read-only file system" in execution.error.value
    command = await sb.run_command("echo evil >> /etc/passwd")
    assert command.exit_code != 0
    assert _digest("/etc/passwd") == before


async def test_python_runtime_is_read_only(sb: LocalSandbox) -> None:
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    planted = Path(site_packages) / "codehelm_planted.py"
    execution = await sb.run_code(f"open({str(planted)!r}, 'w').write('import os')")
    assert execution.error is not None and "Read-only file system" in execution.error.value
    assert not planted.exists()


async def test_sandbox_tmp_is_private(sb: LocalSandbox) -> None:
    name = f"codehelm-private-{os.getpid()}-{time.monotonic_ns()}"
    execution = await sb.run_code(
        f"open('/tmp/{name}', 'w').write('x')\nimport os\nos.listdir('/tmp')"
    )
    assert execution.ok and name in execution.results[0]
    assert not Path("/tmp", name).exists()  # the host's /tmp never saw it


async def test_hard_link_to_a_host_file_fails(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import os\nos.link('/etc/hostname', 'stolen')")
    assert execution.error is not None and execution.error.name in ("OSError", "PermissionError")
    assert not (sb.workspace / "stolen").exists()


async def test_proc_and_sys_cannot_change_the_kernel(sb: LocalSandbox) -> None:
    before = Path("/proc/sys/kernel/hostname").read_text()
    execution = await sb.run_code(
        "import os\n"
        "try:\n"
        "    open('/proc/sys/kernel/hostname', 'w').write('pwned')\n"
        "    written = True\n"
        "except OSError:\n"
        "    written = False\n"
        "(written, os.path.exists('/sys/kernel'), os.path.exists('/dev/mem'))"
    )
    assert execution.results == ["(False, False, False)"]
    assert Path("/proc/sys/kernel/hostname").read_text() == before


# -- network ----------------------------------------------------------------------------


async def test_host_loopback_server_is_unreachable(
    sb: LocalSandbox, host_server: tuple[int, list[bytes]]
) -> None:
    port, connections = host_server
    execution = await sb.run_code(
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
    )
    assert execution.error is not None and execution.error.name == "ConnectionRefusedError"
    assert connections == []


async def test_public_address_fails_fast(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    execution = await sb.run_code("import socket\nsocket.create_connection(('1.1.1.1', 80), 3)")
    assert time.perf_counter() - started < 2.5
    assert execution.error is not None and "unreachable" in execution.error.value.lower()


async def test_dns_lookups_fail(sb: LocalSandbox) -> None:
    started = time.perf_counter()
    execution = await sb.run_code("import socket\nsocket.getaddrinfo('example.com', 443)")
    assert time.perf_counter() - started < 3
    assert execution.error is not None and execution.error.name == "gaierror"


async def test_only_loopback_exists(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import socket\n[name for _, name in socket.if_nameindex()]")
    assert execution.results == ["['lo']"]


async def test_network_true_reaches_the_host_loopback(
    host_server: tuple[int, list[bytes]],
) -> None:
    port, connections = host_server
    async with LocalSandbox(network=True) as sandbox:
        execution = await sandbox.run_code(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).recv(100)"
        )
        assert execution.results == ["b'hello from the host'"]
    assert connections == [b"connected"]


# -- processes and resources ------------------------------------------------------------


async def test_fork_loop_is_bounded_by_max_processes() -> None:
    async with LocalSandbox(timeout=10.0, limits=ResourceLimits(max_processes=40)) as sandbox:
        execution = await sandbox.run_code(
            "import os, time\n"
            "pids, error = [], None\n"
            "try:\n"
            "    for _ in range(1000):\n"
            "        pid = os.fork()\n"
            "        if pid == 0:\n"
            "            time.sleep(30)\n"
            "            os._exit(0)\n"
            "        pids.append(pid)\n"
            "except OSError as exc:\n"
            "    error = type(exc).__name__\n"
            "for pid in pids:\n"
            "    os.kill(pid, 9)\n"
            "    os.waitpid(pid, 0)\n"
            "(len(pids) < 40, error)"
        )
        assert execution.results == ["(True, 'BlockingIOError')"]
        await _still_answers(sandbox)
    assert subprocess.run(["true"]).returncode == 0  # the host can still start processes


async def test_shell_fork_bomb_is_contained_and_cleaned_up() -> None:
    async with LocalSandbox(limits=ResourceLimits(max_processes=64)) as sandbox:
        started = time.perf_counter()
        result = await sandbox.run_command("bomb() { bomb | bomb & }; bomb; sleep 1", timeout=3)
        assert time.perf_counter() - started < 8
        assert result.timed_out or result.exit_code is not None
        assert sandbox.host_pids() == []  # the command's whole pid namespace is gone
        await _still_answers(sandbox)
    assert subprocess.run(["true"]).returncode == 0


async def test_memory_bomb_is_a_memory_error(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    execution = await sb.run_code("block = bytearray(8 * 1024 ** 3)")
    assert execution.error is not None and execution.error.name == "MemoryError"
    assert (await sb.run_code("kept")).results == ["1"]  # the worker survived


async def test_growing_memory_is_stopped_by_the_limit() -> None:
    async with LocalSandbox(limits=ResourceLimits(memory_mb=256)) as sandbox:
        execution = await sandbox.run_code(
            "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
        )
        assert execution.error is not None and execution.error.name == "MemoryError"
        await sandbox.run_code("del chunks")
        await _still_answers(sandbox)


async def test_memory_bomb_in_a_child_process_is_contained(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-c', 'bytearray(8 * 1024 ** 3)'], "
        "capture_output=True, text=True)\n"
        "(r.returncode, 'MemoryError' in r.stderr)"
    )
    assert execution.results == ["(1, True)"]


async def test_infinite_loop_times_out_and_restarts(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    started = time.perf_counter()
    execution = await sb.run_code("while True:\n    pass", timeout=0.5)
    assert time.perf_counter() - started < 3
    assert execution.timed_out and execution.state_lost
    assert (await sb.run_code("'kept' in globals()")).results == ["False"]


async def test_sleeping_past_the_timeout(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import time\ntime.sleep(60)", timeout=0.5)
    assert execution.timed_out and execution.error is not None
    assert "KeyboardInterrupt" in execution.error.traceback  # interrupted where it slept
    await _still_answers(sb)


async def test_cpu_limit_kills_a_runaway_worker() -> None:
    async with LocalSandbox(timeout=20.0, limits=ResourceLimits(cpu_seconds=1)) as sandbox:
        started = time.perf_counter()
        execution = await sandbox.run_code("while True:\n    pass")
        assert time.perf_counter() - started < 10
        assert execution.state_lost and execution.error is not None
        assert execution.error.name == "WorkerDied"
        assert "CPU time limit" in execution.error.value
        await _still_answers(sandbox)


async def test_huge_output_is_truncated() -> None:
    async with LocalSandbox(max_output_chars=2000) as sandbox:
        execution = await sandbox.run_code("print('x' * 50_000_000)")
        assert execution.ok and len(execution.stdout) < 2200
        assert "...[truncated " in execution.stdout
        command = await sandbox.run_command("head -c 50000000 /dev/zero | tr '\\0' y")
        assert command.ok and len(command.stdout) < 2200


async def test_disk_fill_is_stopped_by_the_file_size_limit() -> None:
    async with LocalSandbox(limits=ResourceLimits(max_file_mb=4)) as sandbox:
        execution = await sandbox.run_code(
            "with open('big.bin', 'wb') as f:\n    f.write(b'0' * (16 * 1024 * 1024))"
        )
        assert execution.error is not None and "File too large" in execution.error.value
        command = await sandbox.run_command("head -c 16000000 /dev/zero > big2.bin")
        assert command.exit_code != 0
        for name in ("big.bin", "big2.bin"):
            assert (sandbox.workspace / name).stat().st_size <= 4 * 1024 * 1024
        await _still_answers(sandbox)


async def test_filling_tmp_stops_at_its_size(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import errno\n"
        "try:\n"
        "    with open('/tmp/fill', 'wb') as f:\n"
        "        for _ in range(64):\n"
        "            f.write(b'0' * (8 * 1024 * 1024))\n"
        "except OSError as exc:\n"
        "    result = exc.errno == errno.ENOSPC\n"
        "result"
    )
    assert execution.results == ["True"]  # 256 MB tmpfs, not the host's memory
    await _still_answers(sb)


async def test_open_file_limit(sb: LocalSandbox) -> None:
    execution = await sb.run_code("handles = [open('/dev/null') for _ in range(5000)]")
    assert execution.error is not None and "Too many open files" in execution.error.value
    await _still_answers(sb)


async def test_signalling_the_parent_cannot_hurt_the_host(
    sb: LocalSandbox, canary: subprocess.Popen[bytes]
) -> None:
    execution = await sb.run_code(
        "import os, signal\n"
        "parent = os.getppid()\n"
        "os.kill(parent, signal.SIGKILL)\n"
        "try:\n"
        "    os.kill(-1, signal.SIGKILL)\n"
        "except OSError:\n"
        "    pass\n"
        "parent"
    )
    assert execution.results == ["1"]  # its parent is the sandbox's init, not the host
    assert canary.poll() is None and alive(os.getpid())
    await _still_answers(sb)


async def test_killing_the_host_process_by_pid_fails(sb: LocalSandbox) -> None:
    execution = await sb.run_code(f"import os\nos.kill({os.getpid()}, 9)")
    assert execution.error is not None and execution.error.name == "ProcessLookupError"


async def test_os_exit_is_reported_and_recovered(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import os\nos._exit(7)")
    assert execution.state_lost and execution.error is not None
    assert "exited with code 7" in execution.error.value
    await _still_answers(sb)


async def test_segfault_is_reported_as_a_dead_worker(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    execution = await sb.run_code("import ctypes\nctypes.string_at(0)")
    assert execution.state_lost and execution.error is not None
    assert execution.error.name == "WorkerDied" and "SIGSEGV" in execution.error.value
    assert (await sb.run_code("'kept' in globals()")).results == ["False"]


async def test_worker_killing_itself(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert execution.error is not None and "SIGKILL" in execution.error.value
    await _still_answers(sb)


async def test_deep_recursion_is_a_recursion_error(sb: LocalSandbox) -> None:
    await sb.run_code("kept = 1")
    execution = await sb.run_code("def f(n):\n    return f(n + 1)\nf(0)")
    assert execution.error is not None and execution.error.name == "RecursionError"
    assert (await sb.run_code("kept")).results == ["1"]


async def test_daemon_outliving_close_is_killed() -> None:
    sandbox = LocalSandbox()
    execution = await sandbox.run_code(
        "import os, subprocess\n"
        "if os.fork() == 0:\n"  # double fork + setsid: the classic daemon
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execvp('sleep', ['sleep', '600.41'])\n"
        "    os._exit(0)\n"
        "subprocess.Popen(['setsid', 'nohup', 'sleep', '600.41'])\n"
        "'spawned'"
    )
    assert execution.ok
    daemons = await wait_running("sleep 600.41")
    while len(daemons) < 2:
        await asyncio.sleep(0.01)
        daemons = pids_running("sleep 600.41")
    await sandbox.close()
    assert [pid for pid in daemons if alive(pid)] == []
    assert pids_running("sleep 600.41") == []


async def test_background_process_of_a_command_dies_with_it(sb: LocalSandbox) -> None:
    result = await sb.run_command("setsid nohup sleep 600.43 >/dev/null 2>&1 & echo ok")
    assert result.ok and result.stdout == "ok\n"
    assert pids_running("sleep 600.43") == []


# -- privileges -------------------------------------------------------------------------


async def test_no_root_and_no_capabilities(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import os\n"
        "status = dict(line.split(':\\t', 1) for line in open('/proc/self/status') "
        "if ':\\t' in line)\n"
        "(os.getuid(), os.geteuid(), os.getgid(), status['CapEff'].strip(), "
        "status['CapBnd'].strip(), status['NoNewPrivs'].strip(), status['Seccomp'].strip())"
    )
    assert execution.results == [
        "(1000, 1000, 1000, '0000000000000000', '0000000000000000', '1', '2')"
    ]


async def test_setuid_fails(sb: LocalSandbox) -> None:
    execution = await sb.run_code("import os\nos.setuid(0)")
    assert execution.error is not None and execution.error.name in ("PermissionError", "OSError")
    assert (await sb.run_code("import os\nos.getuid()")).results == ["1000"]
    command = await sb.run_command("su -c id root </dev/null; sudo -n id")
    assert command.exit_code != 0 and "uid=0" not in command.stdout


async def test_set_user_id_files_cannot_be_made(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import os\n"
        "open('tool', 'w').write('#!/bin/sh\\nid\\n')\n"
        "results = []\n"
        "for mode in (0o4755, 0o2755):\n"
        "    try:\n"
        "        os.chmod('tool', mode)\n"
        "    except PermissionError:\n"
        "        results.append('refused')\n"
        "try:\n"
        "    os.open('made', os.O_CREAT | os.O_WRONLY, 0o4755)\n"
        "except PermissionError:\n"
        "    results.append('refused')\n"
        "os.chmod('tool', 0o755)\n"
        "results"
    )
    assert execution.results == ["['refused', 'refused', 'refused']"]
    mode = (sb.workspace / "tool").stat().st_mode
    assert mode & 0o6000 == 0 and mode & 0o777 == 0o755  # ordinary modes still work
    assert not (sb.workspace / "made").exists()


async def test_host_wide_kernel_settings_are_read_only(sb: LocalSandbox) -> None:
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    execution = await sb.run_code("open('/proc/sys/kernel/core_pattern', 'w').write('|/bin/sh')")
    assert execution.error is not None and "Read-only file system" in execution.error.value
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


async def test_root_filesystem_is_read_only(sb: LocalSandbox) -> None:
    result = await sb.run_command("touch /planted; mkdir /etc/planted; echo x > /opt/x")
    assert result.exit_code != 0 and result.stderr.count("Read-only file system") == 3
    assert not Path("/planted").exists() and not Path("/etc/planted").exists()


async def test_namespace_and_mount_syscalls_fail(sb: LocalSandbox) -> None:
    result = await sb.run_command(
        "unshare --user --map-root-user id; echo unshare=$?; "
        "unshare --net true; echo net=$?; "
        "mount -t tmpfs none /tmp; echo mount=$?; chroot / true; echo chroot=$?"
    )
    codes = dict(line.split("=") for line in result.stdout.splitlines() if "=" in line)
    assert codes and all(code != "0" for code in codes.values()), result
    assert "uid=0" not in result.stdout
    execution = await sb.run_code(
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "(libc.unshare(0x10000000), os.strerror(ctypes.get_errno()))"
    )
    assert execution.results == ["(-1, 'Operation not permitted')"]


async def test_hostname_and_cgroup_are_the_sandboxes_own(sb: LocalSandbox) -> None:
    execution = await sb.run_code(
        "import socket\n(socket.gethostname(), open('/proc/self/cgroup').read().split(':')[-1])"
    )
    assert execution.results == ["('sandbox', '/\\n')"]
    assert socket.gethostname() != "sandbox"


async def test_host_signals_reach_nothing_after_close(sb: LocalSandbox) -> None:
    await sb.start()
    pids = sb.host_pids()
    assert len(pids) >= 3  # bwrap's monitor, the sandbox's init, the worker
    await sb.close()
    assert [pid for pid in pids if alive(pid)] == []


def test_a_python_runtime_under_tmp_is_visible_inside(tmp_path: Path) -> None:
    """A checkout (and its virtualenv) under /tmp must not vanish under the private /tmp."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    repo = Path(__file__).resolve().parents[2]
    host_packages = [p for p in sys.path if p.endswith("site-packages")]
    (site_packages / "host.pth").write_text("\n".join([str(repo), *host_packages]) + "\n")
    script = (
        "import asyncio\n"
        "from codehelm.tools.sandbox.local import LocalSandbox\n"
        "async def main():\n"
        "    async with LocalSandbox() as box:\n"
        "        result = await box.run_code('print(1 + 1)')\n"
        "        print(result.stdout.strip() or result.error)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
