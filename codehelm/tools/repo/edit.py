"""File edits with a per-file undo history; Python files must still parse after an edit."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from codehelm.tools.repo.paths import EditRefusedError, relative
from codehelm.tools.repo.view import numbered

CONTEXT = 4


def line_of(text: str, offset: int) -> int:
    """The 1-based line number of character `offset` of `text`."""
    return text.count("\n", 0, offset) + 1


def check_python(name: str, text: str) -> None:
    """Refuse `text` for a `.py` file `name` when it does not parse."""
    if not name.endswith(".py"):
        return
    try:
        ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise EditRefusedError(
            f"edit refused and reverted: {name} would not parse: line {exc.lineno}: {exc.msg}; "
            "the file is unchanged, fix the edit and retry"
        ) from None


def region(name: str, text: str, first: int, last: int) -> str:
    """Lines `first`..`last` of `text` with `CONTEXT` lines around them, numbered."""
    lines = text.splitlines()
    start = max(1, first - CONTEXT)
    stop = min(len(lines), max(last, first) + CONTEXT)
    return f"{name}: lines {start}-{stop} after the edit\n" + numbered(
        lines[start - 1 : stop], start
    )


class EditHistory:
    """Per-file stack of previous contents (None: the file did not exist), in memory."""

    def __init__(self) -> None:
        self._stacks: dict[Path, list[str | None]] = {}
        self.lock = asyncio.Lock()

    def push(self, path: Path, previous: str | None) -> None:
        self._stacks.setdefault(path, []).append(previous)

    def pop(self, path: Path) -> str | None:
        stack = self._stacks.get(path)
        if not stack:
            raise EditRefusedError(f"nothing to undo for {path.name}: it has no recorded edits")
        return stack.pop()

    def depth(self, path: Path) -> int:
        return len(self._stacks.get(path, []))


def _read(path: Path, name: str) -> str:
    if not path.is_file():
        raise EditRefusedError(f"no such file: {name}; use create to make a new file")
    return path.read_text(encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


# Each edit is file I/O from start to end: it runs whole in a thread, one at a time.


async def str_replace(root: Path, path: Path, old: str, new: str, history: EditHistory) -> str:
    """Replace the only occurrence of `old` in `path` by `new`."""
    async with history.lock:
        return await asyncio.to_thread(_str_replace, root, path, old, new, history)


async def insert(root: Path, path: Path, line: int, text: str, history: EditHistory) -> str:
    """Insert `text` after line `line` of `path` (0: at the top)."""
    async with history.lock:
        return await asyncio.to_thread(_insert, root, path, line, text, history)


async def create(root: Path, path: Path, text: str, history: EditHistory) -> str:
    """Create `path` with `text`; refuses to overwrite an existing file."""
    async with history.lock:
        return await asyncio.to_thread(_create, root, path, text, history)


async def undo(root: Path, path: Path, history: EditHistory) -> str:
    """Restore `path` to its content before its last edit (deleting a created file)."""
    async with history.lock:
        return await asyncio.to_thread(_undo, root, path, history)


def _str_replace(root: Path, path: Path, old: str, new: str, history: EditHistory) -> str:
    name = relative(root, path)
    if not old:
        raise EditRefusedError("old text is empty: give the exact text to replace")
    text = _read(path, name)
    count = text.count(old)
    if count == 0:
        raise EditRefusedError(
            f"no match for the old text in {name}: it must match exactly, "
            "whitespace and indentation included; view the file and copy the text"
        )
    if count > 1:
        starts, at = [], text.find(old)
        while at != -1:
            starts.append(line_of(text, at))
            at = text.find(old, at + 1)
        where = ", ".join(str(n) for n in starts)
        raise EditRefusedError(
            f"{count} matches for the old text in {name} (at lines {where}): "
            "include more surrounding lines so it matches exactly once"
        )
    at = text.find(old)
    updated = text[:at] + new + text[at + len(old) :]
    check_python(name, updated)
    history.push(path, text)
    _write(path, updated)
    first = line_of(updated, at)
    return region(name, updated, first, first + new.count("\n"))


def _insert(root: Path, path: Path, line: int, text: str, history: EditHistory) -> str:
    name = relative(root, path)
    current = _read(path, name)
    lines = current.splitlines(keepends=True)
    if not 0 <= line <= len(lines):
        raise EditRefusedError(
            f"line {line} is out of range for {name}: insert after a line 0..{len(lines)}"
        )
    if lines and not lines[-1].endswith("\n") and line == len(lines):
        lines[-1] += "\n"
    block = text if text.endswith("\n") else text + "\n"
    updated = "".join([*lines[:line], block, *lines[line:]])
    check_python(name, updated)
    history.push(path, current)
    _write(path, updated)
    return region(name, updated, line + 1, line + block.count("\n"))


def _create(root: Path, path: Path, text: str, history: EditHistory) -> str:
    name = relative(root, path)
    if path.exists():
        raise EditRefusedError(
            f"{name} already exists: refusing to overwrite it; edit it with str_replace"
        )
    check_python(name, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    history.push(path, None)
    _write(path, text)
    return f"created {name} ({len(text.splitlines())} lines)"


def _undo(root: Path, path: Path, history: EditHistory) -> str:
    name = relative(root, path)
    previous = history.pop(path)
    if previous is None:
        path.unlink(missing_ok=True)
        return f"undid the creation of {name}: the file is removed"
    _write(path, previous)
    left = history.depth(path)
    return f"undid the last edit of {name} ({left} earlier edits can still be undone)"
