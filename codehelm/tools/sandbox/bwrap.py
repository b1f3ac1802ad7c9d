"""Bubblewrap isolation for `LocalSandbox`: the command line, its namespaces and mount plan.

Every sandbox process (the worker and each shell command) starts as

    bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts [--unshare-net]
          --unshare-cgroup-try --uid 1000 --gid 1000 --hostname sandbox
          --die-with-parent --new-session --cap-drop ALL --seccomp FD
          --dev /dev --tmpfs /tmp --tmpfs /dev/shm
          <read-only /usr and Python runtime> --ro-bind <private etc> /etc
          --proc /proc <read-only or hidden /proc knobs> --bind <workspace> <workspace>
          --remount-ro / --chdir <workspace> --info-fd FD --block-fd FD -- <command>

What the sandbox sees of the host, all read-only: /usr (and the /bin, /sbin, /lib* links or
directories), the Python runtime this process runs on (its prefix, base prefix and
site-packages directories, at their own paths), and an /etc of its own: generated passwd,
group, hosts, hostname and resolv.conf, plus copies of a few non-secret host files (loader
cache, CA certificates, time zone, name-service switch; never shadow, pip/npm/git
configs or /etc/ssl/private). Not mounted: /root, /home, /run, /var, /sys, /srv, /mnt,
the host's /etc and /tmp. The root is read-only; /tmp and /dev/shm are size-limited private
tmpfs; the workspace is the only writable host directory, mounted at its host path, so a
path printed by sandbox code is valid for the host and the file API too.

Running as root. bubblewrap (not setuid) maps the sandbox's uid 1000 to the uid that
started it, so a root host gives sandbox processes host uid 0, without capabilities.
Anything the kernel guards by file ownership alone is then open to them, which is why
/proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus and /proc/fs are read-only and
/proc/kcore, kallsyms, keys, timer_list and friends are hidden (Docker's lists), why the
root is read-only, and why the seccomp filter refuses set-user-ID and set-group-ID mode
bits (no sandbox file can become a root-owned setuid program on the host). As a normal
user none of that is needed, but it is applied all the same.

The seccomp filter makes namespace and mount syscalls fail with EPERM (unshare, setns,
clone with CLONE_NEW* flags, mount and the new mount API, pivot_root, chroot), plus
kernel-facing ones a sandbox has no use for (bpf, perf_event_open, userfaultfd, keyctl,
io_uring, kexec, modules, syslog, open_by_handle_at), and chmod/open/mknod with S_ISUID or
S_ISGID. clone3 and openat2 fail with ENOSYS so libc falls back to clone and openat, whose
arguments the filter can inspect. Syscalls of a foreign ABI (x32, i386 on x86_64) kill
the process. The filter itself is assembled in `seccomp.py`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import py_compile
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from codehelm.tools.sandbox._worker import OUTPUT_FILE
from codehelm.tools.sandbox.seccomp import seccomp_pipe

SANDBOX_UID = 1000
SANDBOX_GID = 1000
HOSTNAME = "sandbox"
WORKER_SOURCE = Path(__file__).with_name("_worker.py")
OUTPUT_SOURCE = Path(__file__).with_name("output.py")  # loaded by the worker at start
WORKER_DIR = "/opt/codehelm"  # where the compiled worker and output.py are mounted
WORKER_PATH = f"{WORKER_DIR}/worker.pyc"
PROBE_TIMEOUT = 15.0

INSTALL_HINT = (
    "Install bubblewrap (e.g. `apt-get install bubblewrap`), or pass "
    'LocalSandbox(isolation="none") to run code without isolation (unsafe for untrusted code).'
)

# Non-secret files from /etc that ordinary programs need (dynamic loader, TLS roots, time
# zone, name service switch, services, MIME types). Missing ones are skipped. They are
# copied (symlinks as symlinks) into a private directory mounted as /etc: one mount.
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "timezone",
    "ssl/certs",
    "ssl/openssl.cnf",
    "ca-certificates",
    "ca-certificates.conf",
    "pki/tls/certs",
    "pki/ca-trust/extracted",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "protocols",
    "services",
    "mime.types",
    "magic",
    "magic.mime",
    "locale.alias",
    "os-release",
)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /proc entries made read-only or hidden, as Docker does. This matters most when the host
# runs as root: bubblewrap then maps the sandbox user to host uid 0 (without capabilities),
# and files that the kernel guards by ownership alone, such as /proc/sys/kernel/core_pattern,
# would otherwise be writable. bwrap only covers the ones it finds writable itself.
PROC_READ_ONLY = ("bus", "fs", "irq", "sys", "sysrq-trigger")
PROC_MASKED = (
    "acpi",
    "asound",
    "driver",
    "scsi",
    "iomem",
    "kallsyms",
    "kcore",
    "keys",
    "kmsg",
    "kpagecgroup",
    "kpagecount",
    "kpageflags",
    "latency_stats",
    "mtrr",
    "pagetypeinfo",
    "sched_debug",
    "slabinfo",
    "timer_list",
    "timer_stats",
    "vmallocinfo",
)

GENERATED_ETC = {
    "passwd": (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"sandbox:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:/tmp:/bin/sh\n"  # HOME is the workspace
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "group": f"root:x:0:\nsandbox:x:{SANDBOX_GID}:\nnogroup:x:65534:\n",
    "hosts": f"127.0.0.1\tlocalhost {HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "hostname": f"{HOSTNAME}\n",
    "resolv.conf": "",  # no name servers; the host's is mounted over it with network=True
}


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


# -- what gets mounted ------------------------------------------------------------------


def _covered(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


@functools.cache
def _proc_entries() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The PROC_READ_ONLY and PROC_MASKED (directories, files) entries this kernel has."""
    exists = [f"/proc/{name}" for name in PROC_READ_ONLY if os.path.exists(f"/proc/{name}")]
    masked = [f"/proc/{name}" for name in PROC_MASKED if os.path.exists(f"/proc/{name}")]
    dirs = [path for path in masked if os.path.isdir(path)]
    files = [path for path in masked if not os.path.isdir(path)]
    return tuple(exists), tuple(dirs), tuple(files)


def proc_mounts() -> list[str]:
    """bwrap arguments: a fresh /proc with the host-wide knobs read-only or hidden."""
    read_only, masked_dirs, masked_files = _proc_entries()
    args = ["--proc", "/proc"]
    for path in read_only:
        args += ["--ro-bind", path, path]
    empty = os.path.join(runtime_dir(), "empty")
    for path in masked_dirs:
        args += ["--ro-bind", empty, path]
    for path in masked_files:
        args += ["--ro-bind", "/dev/null", path]
    return args


@functools.cache
def system_mounts() -> tuple[str, ...]:
    """bwrap arguments for the read-only operating-system part of the sandbox."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return tuple(args)


@functools.cache
def site_dirs() -> tuple[str, ...]:
    """The site-packages directories of this process's interpreter (for the worker)."""
    dirs = [*site.getsitepackages(), *(p for p in sys.path if p.endswith("-packages"))]
    return tuple(dict.fromkeys(p for p in dirs if os.path.isdir(p)))


@functools.cache
def python_mounts() -> tuple[str, ...]:
    """bwrap arguments mounting this process's Python runtime read-only, at the same paths."""
    system = ["/usr", *SYSTEM_LINKS]
    candidates = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(sys.executable),
        os.path.dirname(os.path.realpath(sys.executable)),
        *site_dirs(),
    ]
    roots: list[tuple[str, str]] = []  # (source, destination)
    for candidate in candidates:
        path = os.path.abspath(candidate)
        real = os.path.realpath(path)
        if real == "/" or path == "/":
            raise OSError(f"cannot isolate a Python runtime installed at {path!r}")
        for source, dest in ((real, real), (real, path)):
            if not _covered(dest, system) and not _covered(dest, [d for _, d in roots]):
                roots.append((source, dest))
    # Mount parents before children, so a nested bind is not hidden by its parent's.
    roots.sort(key=lambda pair: pair[1].count("/"))
    args: list[str] = []
    for source, dest in roots:
        args += ["--ro-bind", source, dest]
    return tuple(args)


_runtime_dir: str | None = None


def runtime_dir() -> str:
    """This process's private directory of what sandboxes mount from it (made once).

    etc/: the sandbox's /etc (generated passwd, group, hosts, hostname; copies of
    ETC_ENTRIES); empty/: mounted over hidden /proc directories; worker/: worker.pyc and
    the output.pyc it loads, compiled once here so no sandbox spends its start compiling
    them, and mounted as WORKER_DIR.
    """
    global _runtime_dir
    if _runtime_dir is not None and os.path.isdir(_runtime_dir):
        return _runtime_dir
    directory = tempfile.mkdtemp(prefix="codehelm-sandbox-")
    try:
        os.chmod(directory, 0o755)
        etc = os.path.join(directory, "etc")
        os.mkdir(etc, 0o755)
        for entry in ETC_ENTRIES:
            source, target = f"/etc/{entry}", os.path.join(etc, entry)
            if not os.path.lexists(source):
                continue
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            with contextlib.suppress(OSError):
                if os.path.isdir(source) and not os.path.islink(source):
                    shutil.copytree(source, target, symlinks=True)
                elif os.path.islink(source):
                    os.symlink(os.readlink(source), target)
                else:
                    shutil.copy2(source, target)
        for name, text in GENERATED_ETC.items():
            path = os.path.join(etc, name)
            with open(path, "w") as handle:
                handle.write(text)
            os.chmod(path, 0o644)
        os.mkdir(os.path.join(directory, "empty"), 0o555)
        worker = os.path.join(directory, "worker")
        os.mkdir(worker, 0o755)
        for script, compiled in ((WORKER_SOURCE, "worker.pyc"), (OUTPUT_SOURCE, OUTPUT_FILE)):
            py_compile.compile(str(script), cfile=os.path.join(worker, compiled), doraise=True)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    atexit.register(shutil.rmtree, directory, True)
    _runtime_dir = directory
    return directory


def worker_file() -> str:
    """The compiled worker on the host (run directly under isolation="none")."""
    return os.path.join(runtime_dir(), "worker", "worker.pyc")


def _process_isolation(*, network: bool) -> list[str]:
    """bwrap arguments for the namespaces, identity and privileges of a sandbox's processes."""
    return [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *(() if network else ("--unshare-net",)),
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_GID),
        "--hostname",
        HOSTNAME,
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]


def bwrap_argv(
    inner: Sequence[str],
    *,
    bwrap: str,
    workspace: Path,
    cwd: str,
    network: bool,
    tmp_bytes: int,
    read_only_paths: Sequence[str] = (),
    info_fd: int | None = None,
    block_fd: int | None = None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The full bwrap command line running `inner` in a sandbox.

    bwrap reports its sandbox's first process (pid 1 inside) as JSON on `info_fd`, then
    waits, namespaces set up, until a byte arrives on `block_fd`: the caller applies
    limits to that process in between. The seccomp program is read from `seccomp_fd`.
    """
    argv = [
        bwrap,
        *_process_isolation(network=network),
        # The private /tmp first: a Python runtime (a virtualenv in a checkout) may live under
        # /tmp, and its read-only bind must land on top of the tmpfs, not under it.
        *("--dev", "/dev"),
        *("--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"),
        *("--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm"),
        *system_mounts(),
        *python_mounts(),
    ]
    runtime = runtime_dir()
    argv += ["--ro-bind", os.path.join(runtime, "etc"), "/etc"]
    if network and os.path.exists("/etc/resolv.conf"):
        argv += ["--ro-bind", os.path.realpath("/etc/resolv.conf"), "/etc/resolv.conf"]
    argv += proc_mounts()
    for path in read_only_paths:  # after /tmp: they may lie under it
        argv += ["--ro-bind", path, path]
    argv += [
        *("--ro-bind", os.path.join(runtime, "worker"), WORKER_DIR),
        *("--bind", str(workspace), str(workspace)),
        *("--remount-ro", "/"),  # the root itself: only /tmp, /dev/shm, the workspace are rw
        *("--chdir", cwd),
    ]
    for flag, fd in (("--info-fd", info_fd), ("--block-fd", block_fd), ("--seccomp", seccomp_fd)):
        if fd is not None:
            argv += [flag, str(fd)]
    return [*argv, "--", *inner]


# -- availability -----------------------------------------------------------------------


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot isolate a sandbox here, or None if it can (checked once)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed or not on PATH"
    true = shutil.which("true") or "/bin/true"
    argv = [
        bwrap,
        *_process_isolation(network=False),
        *system_mounts(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    fd = seccomp_pipe()
    if fd is not None:
        argv += ["--seccomp", str(fd)]
    argv += ["--", true]
    try:
        result = subprocess.run(
            argv,
            pass_fds=() if fd is None else (fd,),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            env={"PATH": os.defpath},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap failed to run: {exc}"
    finally:
        if fd is not None:
            os.close(fd)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        return f"bubblewrap could not create a sandbox ({detail})"
    return None
