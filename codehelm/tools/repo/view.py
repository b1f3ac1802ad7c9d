"""Numbered, windowed file views, and skeletons of large Python files."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

WINDOW = 100
SKELETON_OVER = 400


def numbered(lines: list[str], start: int) -> str:
    """`lines` prefixed with their 1-based line numbers, starting at `start`."""
    width = len(str(start + len(lines) - 1)) if lines else 1
    return "\n".join(f"{n:>{width}}| {line}" for n, line in enumerate(lines, start))


def skeleton(source: str) -> str | None:
    """Class and function signatures of `source` with line numbers, bodies elided.

    None when the source does not parse.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lines = source.splitlines()
    out: list[str] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            body_start = node.body[0].lineno
            header = lines[first - 1 : max(body_start - 1, node.lineno)]
            # decorators and signature: the lines up to the one that opens the body
            for offset, text in enumerate(header):
                if text.strip():
                    out.append(f"{first + offset:>5}| {text}")
            end = node.end_lineno or node.lineno
            indent = " " * (node.col_offset + 4)
            if isinstance(node, ast.ClassDef):
                visit(node.body)
            out.append(f"     | {indent}... (lines {body_start}-{end})")

    visit(tree.body)
    return "\n".join(out)


def view_text(
    path: str, text: str, start: int = 1, end: int | None = None, *, window: int = WINDOW
) -> str:
    """The view of file `path` with content `text`; see `Repo.view`."""
    lines = text.splitlines()
    total = len(lines)
    whole = start == 1 and end is None
    if whole and path.endswith(".py") and total > SKELETON_OVER:
        skel = skeleton(text)
        if skel is not None:
            return (
                f"{path}: {total} lines, shown as a skeleton (bodies elided); "
                f"view a range (start, end) to read code\n{skel}"
            )
    if total == 0:
        return f"{path}: empty file"
    if start < 1 or start > total:
        return f"{path}: start {start} is out of range (the file has {total} lines)"
    last = total if end is None else min(end, total)
    if last < start:
        return f"{path}: end {end} is before start {start}"
    clipped = min(last, start + window - 1)
    body = numbered(lines[start - 1 : clipped], start)
    head = f"{path}: lines {start}-{clipped} of {total}"
    notes = []
    if start > 1:
        notes.append(f"({start - 1} lines above)")
    if clipped < total:
        notes.append(f"({total - clipped} lines below; view from line {clipped + 1} for more)")
    return "\n".join([head, body, *notes])


async def read_text(path: Path) -> str:
    """`path`'s text (UTF-8, undecodable bytes replaced)."""
    return await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
