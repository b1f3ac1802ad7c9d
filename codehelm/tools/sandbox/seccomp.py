"""The seccomp filter of every bubblewrap sandbox: a classic-BPF program, assembled here.

bubblewrap installs it (`--seccomp FD`) on the sandbox's first process, so everything in
the sandbox inherits it. What it does, per syscall number of the machine's native ABI:

- EPERM for namespace and mount syscalls (unshare, setns, clone with CLONE_NEW* flags,
  mount and the new mount API, pivot_root, chroot) and for kernel-facing ones a sandbox
  has no use for (bpf, perf_event_open, userfaultfd, keyctl, io_uring, kexec, modules,
  syslog, open_by_handle_at, ...);
- EPERM for chmod/open/mknod asking for S_ISUID or S_ISGID (a sandbox started by root
  writes workspace files as host uid 0: none of them may become a setuid program);
- ENOSYS for clone3 and openat2, whose flags and mode sit behind a pointer the filter
  cannot read, so libc falls back to clone and openat, which it can;
- KILL_PROCESS for a foreign ABI (i386 or x32 on x86_64), whose numbers mean other calls.

It is written by hand because libseccomp's Python bindings are not on PyPI and the
ctypes wrappers that are go unmaintained; `tests/tools/test_seccomp.py` runs the program
through a BPF evaluator to check the verdicts. x86_64 and aarch64 are supported; elsewhere
`seccomp_program()` is None and sandboxes run without the filter.
"""

from __future__ import annotations

import functools
import os
import platform
import struct
import sys

__all__ = ["build_program", "seccomp_pipe", "seccomp_program"]

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


def build_program(machine: str) -> bytes:
    """The filter for `machine` ("x86_64" or "aarch64") as little-endian `struct sock_filter`
    records, ready for bubblewrap's `--seccomp`."""
    blocked = sorted({*_BLOCKED[machine].values(), *_BLOCKED_COMMON.values()})
    # Jump targets may be labels, resolved once the layout is known.
    prog: list[_Insn] = [
        (_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _AUDIT_ARCH[machine]),
        (_RET, 0, 0, _KILL_PROCESS),
        (_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        prog.append((_JGE, "kill", 0, _X32_BIT))
    prog += [(_JEQ, "eperm", 0, nr) for nr in blocked]
    prog += [
        (_JEQ, "enosys", 0, _CLONE3),
        (_JEQ, "enosys", 0, _OPENAT2),  # its mode is behind a pointer; libc falls back
        (_JEQ, "clone", 0, _CLONE[machine]),
    ]
    checks: list[tuple[str, list[_Insn]]] = []
    for nr, mode, flags in _MODE_SYSCALLS[machine]:
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


@functools.cache
def seccomp_program() -> bytes | None:
    """The filter for this machine, or None where it is not supported."""
    machine = platform.machine()
    if machine not in _AUDIT_ARCH or sys.byteorder != "little":
        return None
    return build_program(machine)


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
