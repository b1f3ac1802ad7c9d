"""Host-side process checks shared by the sandbox tests (read from /proc)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def wait_dead(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.02)
    return False


def pids_running(marker: str) -> list[int]:
    """Host pids of live processes whose command line contains `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


async def wait_running(marker: str, seconds: float = 3.0) -> list[int]:
    """Like `pids_running`, waiting for an exec that may still be under way."""
    deadline = time.monotonic() + seconds
    while not (pids := pids_running(marker)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return pids
