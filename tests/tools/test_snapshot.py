"""Execution-state snapshots: variables, functions, modules and files survive into a new sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from codehelm.errors import SandboxError
from codehelm.tools.sandbox.local import LocalSandbox
from codehelm.tools.sandbox.snapshot import SnapshotRef, restore_snapshot, take_snapshot

SETUP = """
import math
import collections as co
base = 41
def bump(x):
    return x + 1
class Point:
    def __init__(self, x):
        self.x = x
where = Point(3)
counts = co.Counter("hello")
log = open("notes.txt", "w")
log.write("kept on disk")
log.flush()
squares = (i * i for i in range(3))
"""


async def test_snapshot_carries_state_into_a_new_sandbox(tmp_path: Path) -> None:
    async with LocalSandbox() as first:
        assert (await first.run_code(SETUP)).ok
        await first.files.write("data/input.csv", "a,b\n1,2\n")
        ref = await take_snapshot(first, tmp_path / "snap.tar.gz")
    assert {"base", "bump", "Point", "where", "counts"} <= set(ref.variables)
    assert sorted(s.split()[0] for s in ref.skipped) == ["log", "squares"]
    assert ref.files == 2 and ref.size_bytes > 0  # notes.txt and data/input.csv

    async with LocalSandbox() as second:
        lost = await restore_snapshot(second, ref)
        assert [s.split()[0] for s in lost] == ["log", "squares"]
        result = await second.run_code(
            "print(bump(base), where.x, counts['l'], round(math.pi, 2), co.__name__)"
        )
        assert result.stdout == "42 3 2 3.14 collections\n", result
        assert await second.files.read("data/input.csv") == "a,b\n1,2\n"
        assert await second.files.read("notes.txt") == "kept on disk"
        names = [f.path for f in await second.files.list(".")]
        assert ".codehelm-state.pkl" not in names


async def test_a_missing_snapshot_file_is_a_clear_error(tmp_path: Path) -> None:
    async with LocalSandbox() as box:
        with pytest.raises(SandboxError, match="is gone; the run's variables are lost"):
            await restore_snapshot(box, SnapshotRef(path=str(tmp_path / "nope.tar.gz")))


async def test_plain_values_are_saved_without_importing_cloudpickle(tmp_path: Path) -> None:
    """cloudpickle costs a sandbox ~25 ms of CPU to import: only values defined in the
    interpreter itself (functions, classes) need it."""
    async with LocalSandbox() as first:
        await first.run_code(
            "numbers = [1, 2, 3]\nimport collections\nseen = collections.Counter('aab')"
        )
        ref = await take_snapshot(first, tmp_path / "plain.tar.gz")
        imported = await first.run_code("import sys\nprint('cloudpickle' in sys.modules)")
        assert imported.stdout == "False\n"
        await first.run_code("def double(x):\n    return 2 * x")
        await take_snapshot(first, tmp_path / "function.tar.gz")
        imported = await first.run_code("import sys\nprint('cloudpickle' in sys.modules)")
        assert imported.stdout == "True\n"
    assert set(ref.variables) == {"numbers", "seen"}
    async with LocalSandbox() as second:
        assert await restore_snapshot(second, ref) == []
        assert (await second.run_code("print(numbers, seen['a'])")).stdout == "[1, 2, 3] 2\n"


async def test_an_empty_sandbox_has_an_empty_snapshot_and_no_archive(tmp_path: Path) -> None:
    """A run's first snapshot is of a fresh sandbox: nothing is written or run again."""
    async with LocalSandbox() as first:
        assert (await first.run_code("print(6 * 7)")).ok  # leaves no variable behind
        ref = await take_snapshot(first, tmp_path / "empty.tar.gz")
        assert [f.path for f in await first.files.list(".")] == []  # no state file left
    assert ref.empty and ref.variables == [] and ref.files == 0
    assert not (tmp_path / "empty.tar.gz").exists()
    async with LocalSandbox() as second:
        assert await restore_snapshot(second, ref) == []
        assert (
            await second.run_code("print(sorted(k for k in globals() if k[0] != '_'))")
        ).stdout == "[]\n"


async def test_a_snapshot_of_files_alone_restores_them(tmp_path: Path) -> None:
    async with LocalSandbox() as first:
        await first.files.write("data/input.csv", "a,b\n")
        ref = await take_snapshot(first, tmp_path / "files.tar.gz")
    assert not ref.empty and ref.variables == [] and ref.files == 1
    async with LocalSandbox() as second:
        assert await restore_snapshot(second, ref) == []
        assert await second.files.read("data/input.csv") == "a,b\n"
        assert [f.path for f in await second.files.list(".")] == ["data"]
