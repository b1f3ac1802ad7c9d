"""Bubblewrap isolation for `LocalSandbox`: the mount plan, the namespaces and a seccomp filter.

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
the process.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import platform
import py_compile
import shutil
import site
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

SANDBOX_UID = 1000
SANDBOX_GID = 1000
HOSTNAME = "sandbox"
WORKER_SOURCE = Path(__file__).with_name("_worker.py")
WORKER_PATH = "/opt/codehelm/worker.pyc"  # where the compiled worker is mounted
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
    ETC_ENTRIES); empty/: mounted over hidden /proc directories; worker.pyc: the worker,
    compiled once here so no sandbox spends its start compiling it.
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
        py_compile.compile(
            str(WORKER_SOURCE), cfile=os.path.join(directory, "worker.pyc"), doraise=True
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    atexit.register(shutil.rmtree, directory, True)
    _runtime_dir = directory
    return directory


def worker_file() -> str:
    """The compiled worker on the host (run directly under isolation="none")."""
    return os.path.join(runtime_dir(), "worker.pyc")


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
        *("--ro-bind", os.path.join(runtime, "worker.pyc"), WORKER_PATH),
        *("--bind", str(workspace), str(workspace)),
        *("--remount-ro", "/"),  # the root itself: only /tmp, /dev/shm, the workspace are rw
        *("--chdir", cwd),
    ]
    for flag, fd in (("--info-fd", info_fd), ("--block-fd", block_fd), ("--seccomp", seccomp_fd)):
        if fd is not None:
            argv += [flag, str(fd)]
    return [*argv, "--", *inner]


# -- seccomp ----------------------------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Syscalls that fail with EPERM, by architecture.
_BLOCKED = {
    "x86_64": {
        "unshare": 272,
        "setns": 308,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "acct": 163,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "init_module": 175,
        "delete_module": 176,
        "quotactl": 179,
        "kexec_load": 246,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "perf_event_open": 298,
        "name_to_handle_at": 303,
        "open_by_handle_at": 304,
        "finit_module": 313,
        "kexec_file_load": 320,
        "bpf": 321,
        "userfaultfd": 323,
        "syslog": 103,
    },
    "aarch64": {
        "unshare": 97,
        "setns": 268,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "chroot": 51,
        "acct": 89,
        "swapon": 224,
        "swapoff": 225,
        "reboot": 142,
        "init_module": 105,
        "delete_module": 106,
        "quotactl": 60,
        "kexec_load": 104,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "perf_event_open": 241,
        "name_to_handle_at": 264,
        "open_by_handle_at": 265,
        "finit_module": 273,
        "kexec_file_load": 294,
        "bpf": 280,
        "userfaultfd": 282,
        "syslog": 116,
    },
}
# The same number on every architecture (the unified syscall table).
_BLOCKED_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
_CLONE = {"x86_64": 56, "aarch64": 220}
_CLONE3 = 435
_OPENAT2 = 437
# Syscalls that take a file mode: (number, index of the mode argument, index of the open
# flags argument or None). Setting S_ISUID/S_ISGID fails, so nothing the sandbox writes
# to the workspace can become a set-user-ID program on the host (as root, its files
# belong to host uid 0).
_MODE_SYSCALLS = {
    "x86_64": [
        (2, 2, 1),  # open(path, flags, mode)
        (257, 3, 2),  # openat(dirfd, path, flags, mode)
        (85, 1, None),  # creat(path, mode)
        (90, 1, None),  # chmod(path, mode)
        (91, 1, None),  # fchmod(fd, mode)
        (268, 2, None),  # fchmodat(dirfd, path, mode)
        (452, 2, None),  # fchmodat2(dirfd, path, mode, flags)
        (133, 1, None),  # mknod(path, mode, dev)
        (259, 2, None),  # mknodat(dirfd, path, mode, dev)
    ],
    "aarch64": [
        (56, 3, 2),  # openat
        (52, 1, None),  # fchmod
        (53, 2, None),  # fchmodat
        (452, 2, None),  # fchmodat2
        (33, 2, None),  # mknodat
    ],
}
_SET_ID_BITS = 0o6000
_O_CREAT_OR_TMPFILE = 0o100 | 0o20000000
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
_CLONE_NAMESPACES |= 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
_X32_BIT = 0x40000000

_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38


_Insn = tuple[int, int | str, int | str, int]  # code, jump if true, jump if false, k


def _arg(index: int) -> int:
    """Offset of the low 32 bits of syscall argument `index` in `struct seccomp_data`."""
    return 16 + 8 * index


@functools.cache
def seccomp_program() -> bytes | None:
    """The filter as raw `struct sock_filter` records, or None on unsupported machines."""
    arch = platform.machine()
    if arch not in _AUDIT_ARCH or sys.byteorder != "little":
        return None
    blocked = sorted({*_BLOCKED[arch].values(), *_BLOCKED_COMMON.values()})
    # Jump targets may be labels, resolved once the layout is known.
    prog: list[_Insn] = [
        (_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _AUDIT_ARCH[arch]),
        (_RET, 0, 0, _KILL_PROCESS),
        (_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
    ]
    if arch == "x86_64":
        prog.append((_JGE, "kill", 0, _X32_BIT))
    prog += [(_JEQ, "eperm", 0, nr) for nr in blocked]
    prog += [
        (_JEQ, "enosys", 0, _CLONE3),
        (_JEQ, "enosys", 0, _OPENAT2),  # its mode is behind a pointer; libc falls back
        (_JEQ, "clone", 0, _CLONE[arch]),
    ]
    checks: list[tuple[str, list[_Insn]]] = []
    for nr, mode, flags in _MODE_SYSCALLS[arch]:
        label = f"mode{nr}"
        prog.append((_JEQ, label, 0, nr))
        body: list[_Insn] = []
        if flags is not None:  # open/openat: the mode only counts when creating
            body += [(_LD_ABS_W, 0, 0, _arg(flags)), (_JSET, 1, 0, _O_CREAT_OR_TMPFILE)]
            body.append((_RET, 0, 0, _ALLOW))
        body += [(_LD_ABS_W, 0, 0, _arg(mode)), (_JSET, "eperm", 0, _SET_ID_BITS)]
        body.append((_RET, 0, 0, _ALLOW))
        checks.append((label, body))
    prog.append((_RET, 0, 0, _ALLOW))
    labels: dict[str, int] = {}
    checks.append(("clone", [(_LD_ABS_W, 0, 0, _arg(0)), (_JSET, "eperm", 0, _CLONE_NAMESPACES)]))
    checks[-1][1].append((_RET, 0, 0, _ALLOW))
    for label, body in checks:
        labels[label] = len(prog)
        prog += body
    for label, action in (
        ("enosys", _ERRNO | _ENOSYS),
        ("eperm", _ERRNO | _EPERM),
        ("kill", _KILL_PROCESS),
    ):
        labels[label] = len(prog)
        prog.append((_RET, 0, 0, action))

    def offset(index: int, target: int | str) -> int:
        jump = target if isinstance(target, int) else labels[target] - index - 1
        if not 0 <= jump <= 255:
            raise ValueError("seccomp jump out of range")
        return jump

    return b"".join(
        struct.pack("<HBBI", code, offset(i, jt), offset(i, jf), k)
        for i, (code, jt, jf, k) in enumerate(prog)
    )


def seccomp_pipe() -> int | None:
    """A pipe read end holding the seccomp program (bwrap reads it to EOF)."""
    program = seccomp_program()
    if program is None:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # far below the pipe buffer: never blocks
    finally:
        os.close(write_end)
    return read_end


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
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_GID),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
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


# -- host-side process bookkeeping -----------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode(errors="replace")
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()  # the command name may contain spaces


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as dead)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _children() -> dict[int, list[int]]:
    """Parent pid -> live child pids, by one scan of /proc."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            fields = _stat_fields(int(name))
            if fields is not None and fields[0] not in ("Z", "X"):
                children.setdefault(int(fields[1]), []).append(int(name))
    return children


def children_of(pid: int) -> list[int]:
    return sorted(_children().get(pid, []))


def process_tree(root: int) -> list[int]:
    """`root` (if alive) and all its live descendants, as host pids."""
    children = _children()
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(children.get(pid, ()))
    return tree if pid_alive(root) else tree[1:]
