"""The sandbox's seccomp filter, run through a classic-BPF evaluator written here.

The program under test is the real one `seccomp.build_program` assembles for bubblewrap;
the evaluator executes it the way the kernel does on a `struct seccomp_data` packed here,
and each case checks the verdict. Syscall numbers, flags and verdict codes are spelled out
independently of the module (from the kernel's headers), so a wrong number there fails.
"""

from __future__ import annotations

import errno
import platform
import struct
import sys
from dataclasses import dataclass

import pytest

from codehelm.tools.sandbox.seccomp import build_program, seccomp_program

# Verdicts (linux/seccomp.h).
ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
EPERM = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO | errno
ENOSYS = 0x00050000 | errno.ENOSYS

# Classic BPF opcodes the filter may use (linux/bpf_common.h).
LD_W_ABS = 0x20
RET_K = 0x06
JUMPS = {
    0x15: lambda a, k: a == k,  # JEQ
    0x35: lambda a, k: a >= k,  # JGE
    0x45: lambda a, k: (a & k) != 0,  # JSET
}
BPF_MAXINSNS = 4096
SECCOMP_DATA = struct.Struct("<iIQ6Q")  # nr, arch, instruction_pointer, args[6]

O_CREAT = 0o100
O_RDONLY = 0
O_WRONLY = 0o1
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIGCHLD = 17
X32_SYSCALL_BIT = 0x40000000
AUDIT_ARCH_I386 = 0x40000003


@dataclass(frozen=True)
class Abi:
    machine: str
    audit_arch: int
    nr: dict[str, int]


X86_64 = Abi(
    "x86_64",
    0xC000003E,
    {
        "read": 0,
        "write": 1,
        "getpid": 39,
        "openat": 257,
        "unshare": 272,
        "setns": 308,
        "mount": 165,
        "bpf": 321,
        "io_uring_setup": 425,
        "clone": 56,
        "clone3": 435,
        "openat2": 437,
        "chmod": 90,
        "fchmodat": 268,
    },
)
AARCH64 = Abi(
    "aarch64",
    0xC00000B7,
    {
        "read": 63,
        "write": 64,
        "getpid": 172,
        "openat": 56,
        "unshare": 97,
        "setns": 268,
        "mount": 40,
        "bpf": 280,
        "io_uring_setup": 425,
        "clone": 220,
        "clone3": 435,
        "openat2": 437,
        "fchmodat": 53,
    },
)


def run_filter(program: bytes, nr: int, arch: int, *args: int) -> int:
    """What the kernel's classic-BPF interpreter returns for this syscall."""
    data = SECCOMP_DATA.pack(nr, arch, 0x401000, *args, *[0] * (6 - len(args)))
    code = list(struct.iter_unpack("<HBBI", program))
    accumulator, pc = 0, 0
    while True:
        assert pc < len(code), "the program ran off its end"
        op, jump_true, jump_false, k = code[pc]
        pc += 1
        if op == LD_W_ABS:
            assert k % 4 == 0 and k + 4 <= len(data), f"load out of bounds: {k}"
            (accumulator,) = struct.unpack_from("<I", data, k)
        elif op in JUMPS:
            pc += jump_true if JUMPS[op](accumulator, k) else jump_false
        elif op == RET_K:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {op:#x}")


@pytest.fixture(params=[X86_64, AARCH64], ids=lambda abi: abi.machine)
def abi(request: pytest.FixtureRequest) -> Abi:
    return request.param  # type: ignore[no-any-return]


def verdict(abi: Abi, name: str, *args: int) -> int:
    return run_filter(build_program(abi.machine), abi.nr[name], abi.audit_arch, *args)


def test_program_is_a_valid_size(abi: Abi) -> None:
    program = build_program(abi.machine)
    assert len(program) % 8 == 0 and 0 < len(program) // 8 <= BPF_MAXINSNS


def test_ordinary_syscalls_are_allowed(abi: Abi) -> None:
    assert verdict(abi, "read", 0, 0x1000, 4096) == ALLOW
    assert verdict(abi, "write", 1, 0x1000, 12) == ALLOW
    assert verdict(abi, "getpid") == ALLOW
    assert verdict(abi, "openat", -100 & 0xFFFFFFFF, 0x1000, O_RDONLY) == ALLOW


@pytest.mark.parametrize("name", ["unshare", "setns", "mount", "bpf", "io_uring_setup"])
def test_namespace_mount_and_kernel_syscalls_fail_with_eperm(abi: Abi, name: str) -> None:
    assert verdict(abi, name) == EPERM


def test_clone_is_allowed_without_namespace_flags(abi: Abi) -> None:
    assert verdict(abi, "clone", SIGCHLD) == ALLOW
    assert verdict(abi, "clone", 0x003D0F00) == ALLOW  # the flags of pthread_create


@pytest.mark.parametrize("flag", [CLONE_NEWUSER, CLONE_NEWNET])
def test_clone_with_a_namespace_flag_fails_with_eperm(abi: Abi, flag: int) -> None:
    assert verdict(abi, "clone", SIGCHLD | flag) == EPERM


@pytest.mark.parametrize("name", ["clone3", "openat2"])
def test_syscalls_with_arguments_behind_pointers_fail_with_enosys(abi: Abi, name: str) -> None:
    assert verdict(abi, name, 0x1000, 88) == ENOSYS


def test_setuid_and_setgid_modes_fail_with_eperm(abi: Abi) -> None:
    dirfd = -100 & 0xFFFFFFFF  # AT_FDCWD
    assert verdict(abi, "fchmodat", dirfd, 0x1000, 0o4755) == EPERM
    assert verdict(abi, "fchmodat", dirfd, 0x1000, 0o755) == ALLOW
    assert verdict(abi, "openat", dirfd, 0x1000, O_WRONLY | O_CREAT, 0o2755) == EPERM
    assert verdict(abi, "openat", dirfd, 0x1000, O_WRONLY | O_CREAT, 0o644) == ALLOW
    # Without O_CREAT the mode argument is ignored by the kernel, and by the filter.
    assert verdict(abi, "openat", dirfd, 0x1000, O_RDONLY, 0o4755) == ALLOW


def test_chmod_with_setuid_fails_with_eperm_on_x86_64() -> None:
    assert verdict(X86_64, "chmod", 0x1000, 0o4755) == EPERM
    assert verdict(X86_64, "chmod", 0x1000, 0o755) == ALLOW


def test_a_foreign_architecture_is_killed(abi: Abi) -> None:
    program = build_program(abi.machine)
    assert run_filter(program, abi.nr["read"], AUDIT_ARCH_I386) == KILL_PROCESS
    other = AARCH64 if abi is X86_64 else X86_64
    assert run_filter(program, abi.nr["read"], other.audit_arch) == KILL_PROCESS


def test_x32_syscalls_are_killed_on_x86_64() -> None:
    program = build_program("x86_64")
    for name in ("read", "getpid", "openat"):
        nr = X32_SYSCALL_BIT | X86_64.nr[name]
        assert run_filter(program, nr, X86_64.audit_arch) == KILL_PROCESS


def test_this_machine_gets_its_program() -> None:
    if platform.machine() in ("x86_64", "aarch64") and sys.byteorder == "little":
        assert seccomp_program() == build_program(platform.machine())
    else:
        assert seccomp_program() is None
