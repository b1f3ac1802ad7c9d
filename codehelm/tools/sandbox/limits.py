"""Resource limits of a sandbox: `ResourceLimits`, applied as rlimits to every process.

Limits are applied from the host with `prlimit(2)` to the sandbox's first process while
bubblewrap holds it blocked (before it starts anything), so the worker, shell commands and
everything they spawn inherit them and no code in the sandbox runs unlimited.

`RLIMIT_NPROC` is counted per user *inside the sandbox's user namespace*, so it bounds one
sandbox, not the host user. The kernel never enforces it for processes whose host uid is 0,
though, and a sandbox started by root maps its user to host uid 0. For that case a pids
cgroup (`cgroup.py`) bounds the number of tasks whatever the uid.
"""

from __future__ import annotations

import resource

from pydantic import BaseModel, ConfigDict, Field

MB = 1024 * 1024


class ResourceLimits(BaseModel):
    """Per-process limits inside a sandbox. `None` leaves a limit as the host has it.

    The defaults stop runaway code without getting in the way of ordinary data work:
    1 GiB of address space still imports numpy/pandas (their thread pools reserve address
    space, so very many-core hosts may need more), and 256 processes allow thread pools.
    """

    model_config = ConfigDict(frozen=True)

    cpu_seconds: int | None = Field(
        default=60,
        ge=1,
        description="CPU time of each process over its lifetime (RLIMIT_CPU). The worker is "
        "persistent, so its cells share this budget: when it is used up the worker is killed "
        "and restarted with state_lost=True.",
    )
    memory_mb: int | None = Field(
        default=1024, ge=32, description="Address space of each process (RLIMIT_AS)."
    )
    max_processes: int | None = Field(
        default=256,
        ge=8,
        description="Processes and threads in the sandbox (RLIMIT_NPROC, plus a pids cgroup "
        "when the host runs as root).",
    )
    max_file_mb: int | None = Field(
        default=1024, ge=1, description="Size of any one file a process writes (RLIMIT_FSIZE)."
    )
    max_open_files: int | None = Field(
        default=1024, ge=16, description="Open file descriptors per process (RLIMIT_NOFILE)."
    )
    tmp_mb: int = Field(
        default=256, ge=1, description="Size of the sandbox's private /tmp and /dev/shm (tmpfs)."
    )

    def rlimits(self, *, nproc: bool = True) -> list[tuple[int, int]]:
        """(resource, value) pairs to apply; soft and hard limits are set alike."""
        pairs: list[tuple[int, int]] = []
        if self.cpu_seconds is not None:
            pairs.append((resource.RLIMIT_CPU, self.cpu_seconds))
        if self.memory_mb is not None:
            pairs.append((resource.RLIMIT_AS, self.memory_mb * MB))
        if self.max_processes is not None and nproc:
            pairs.append((resource.RLIMIT_NPROC, self.max_processes))
        if self.max_file_mb is not None:
            pairs.append((resource.RLIMIT_FSIZE, self.max_file_mb * MB))
        if self.max_open_files is not None:
            pairs.append((resource.RLIMIT_NOFILE, self.max_open_files))
        return pairs


def apply_rlimits(pid: int, limits: ResourceLimits, *, nproc: bool = True) -> None:
    """Set `limits` on process `pid` (soft = hard; the sandbox cannot raise them again).

    RLIMIT_CPU gets a hard limit 2 s above the soft one, so a process first receives
    SIGXCPU (reported as "CPU time limit exceeded") rather than an anonymous SIGKILL.
    """
    for which, value in limits.rlimits(nproc=nproc):
        hard = value + 2 if which == resource.RLIMIT_CPU else value
        try:
            resource.prlimit(pid, which, (value, hard))
        except (ValueError, PermissionError):
            # Above the host's own hard limit, which only root may raise: keep that one.
            current = resource.prlimit(pid, which)
            resource.prlimit(pid, which, (min(value, current[1]), current[1]))
