"""A pids cgroup per sandbox: bounds its number of processes where RLIMIT_NPROC cannot.

The kernel does not enforce RLIMIT_NPROC for processes whose host uid is 0, and a sandbox
started by root maps its user to host uid 0, so as root a fork bomb in a sandbox would be
bounded only by the host's limits. `ProcessCgroup` puts each such sandbox in a pids cgroup
of its own (cgroup v1 or v2), created under this process's own cgroup, which bounds the
number of tasks whatever the uid; it also lets the sandbox's processes be killed together.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import logging
import os
import signal
import time
from pathlib import Path

from codehelm.tools.sandbox.process import pid_alive

logger = logging.getLogger(__name__)

_CGROUP_DIR = "codehelm"  # parent of the sandboxes' cgroups, under our own cgroup
_counter = itertools.count()


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for the v2 hierarchy) -> this process's cgroup path."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def _cgroup_mounts() -> dict[str, tuple[str, str]]:
    """Controller ("" for v2) -> (mount point, root of the mount)."""
    mounts: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) < 5 or len(tail) < 3:
                continue
            root, mount_point = fields[3], fields[4].replace("\\040", " ")
            if tail[0] == "cgroup2":
                mounts.setdefault("", (mount_point, root))
            elif tail[0] == "cgroup":
                for option in tail[2].split(","):
                    mounts.setdefault(option, (mount_point, root))
    return mounts


def _cgroup_base() -> tuple[Path, bool] | None:
    """Directory under which we may create pids cgroups, and whether it is cgroup v2."""
    own, mounts = _own_cgroups(), _cgroup_mounts()
    for controller, v2 in (("pids", False), ("", True)):
        if controller not in own or controller not in mounts:
            continue
        mount_point, root = mounts[controller]
        relative = os.path.relpath(own[controller], root) if root != "/" else own[controller]
        if relative.startswith(".."):
            continue
        base = Path(mount_point) / relative.lstrip("/")
        if v2 and "pids" not in _read(base / "cgroup.controllers").split():
            continue
        return base, v2
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class ProcessCgroup:
    """A pids cgroup holding every process of one sandbox.

    Created under this process's own cgroup (so any accounting above it still applies),
    in a `codehelm/` directory; removed again by `remove()`. Only used when the host runs
    as root, where RLIMIT_NPROC is not enforced.
    """

    def __init__(self, path: Path, v2: bool) -> None:
        self.path = path
        self.v2 = v2

    @classmethod
    def create(cls, max_pids: int) -> ProcessCgroup | None:
        """A fresh cgroup limited to `max_pids` tasks, or None if cgroups are not usable."""
        if os.geteuid() != 0:
            return None
        found = _cgroup_base()
        if found is None:
            return None
        base, v2 = found
        parent = base / _CGROUP_DIR
        try:
            if v2:
                _enable_pids(base)
            parent.mkdir(exist_ok=True)
            if v2:
                _enable_pids(parent)
            _remove_stale(parent)
            path = parent / f"sbx-{os.getpid()}-{next(_counter)}"
            path.mkdir()
        except OSError as exc:
            logger.debug("no pids cgroup for the sandbox: %s", exc)
            return None
        group = cls(path, v2)
        try:
            (path / "pids.max").write_text(str(max_pids))
        except OSError as exc:
            logger.debug("cannot limit the pids cgroup: %s", exc)
            group.remove()
            return None
        return group

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def pids(self) -> list[int]:
        return [int(pid) for pid in _read(self.path / "cgroup.procs").split()]

    def kill(self) -> None:
        """SIGKILL every process in the cgroup (repeatedly, in case one was forking)."""
        if self.v2 and (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.path / "cgroup.kill").write_text("1")
        for _ in range(20):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self, timeout: float = 2.0) -> None:
        """Kill what is left in the cgroup and delete it (the kernel needs it empty)."""
        self.kill()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    logger.debug("could not remove cgroup %s: %s", self.path, exc)
                    return
            self.kill()
            time.sleep(0.01)


def _enable_pids(path: Path) -> None:
    control = path / "cgroup.subtree_control"
    if "pids" not in _read(control).split():
        control.write_text("+pids")


@functools.cache
def _remove_stale(parent: Path) -> None:
    """Delete empty cgroups left by earlier host processes that died without cleaning up.
    Once per process: a scan checks every sandbox's cgroup (O(sandboxes) per start made
    starting hundreds quadratic); later deaths are cleaned up by the next process."""
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            name = entry.name.split("-")
            stale = len(name) == 3 and name[0] == "sbx" and name[1].isdigit()
            if stale and not pid_alive(int(name[1])):
                with contextlib.suppress(OSError):
                    entry.rmdir()
