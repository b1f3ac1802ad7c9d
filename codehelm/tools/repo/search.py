"""File finding and text search on ripgrep, with result caps."""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from pathlib import Path

from codehelm.tools.repo.paths import RepoToolError, confine, relative

MAX_FILES = 20
MAX_MATCHES = 50
MAX_FOUND = 50


def _rg() -> str:
    exe = shutil.which("rg")
    if exe is None:
        raise RepoToolError("ripgrep (`rg`) is not installed: install it (apt-get install ripgrep)")
    return exe


async def _run_rg(root: Path, *args: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        _rg(),
        *args,
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode not in (0, 1):  # 1 means "nothing found"
        raise RepoToolError(f"ripgrep failed: {err.decode(errors='replace').strip()}")
    return [line for line in out.decode(errors="replace").splitlines() if line]


async def find_file(root: Path, glob: str, *, limit: int = MAX_FOUND) -> str:
    """Files whose path matches `glob` (ripgrep `--files -g`, honouring .gitignore)."""
    files = sorted(await _run_rg(root, "--files", "--hidden", "-g", "!.git", "-g", glob))
    if not files:
        return f"no file matches {glob!r}"
    if len(files) > limit:
        return f"{len(files)} files match {glob!r}: narrow your search"
    return f"{len(files)} files match {glob!r}:\n" + "\n".join(files)


async def _matches(root: Path, term: str, target: Path, regex: bool) -> list[tuple[str, int, str]]:
    mode = [] if regex else ["-F"]
    lines = await _run_rg(
        root,
        "--line-number",
        "--no-heading",
        "--with-filename",
        "--color=never",
        *mode,
        "-e",
        term,
        "--",
        relative(root, target),
    )
    found = []
    for line in lines:
        name, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        if number.isdigit():
            found.append((name.removeprefix("./"), int(number), text))
    return found


async def search_dir(
    root: Path,
    term: str,
    path: str = ".",
    *,
    regex: bool = False,
    max_files: int = MAX_FILES,
    max_matches: int = MAX_MATCHES,
) -> str:
    """Matches of `term` (a fixed string unless `regex`) under `path`, grouped by file."""
    target = confine(root, path)
    found = await _matches(root, term, target, regex)
    by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name, number, text in found:
        by_file[name].append((number, text))
    if not found:
        return f"no matches for {term!r} in {path}"
    if len(found) > max_matches or len(by_file) > max_files:
        return (
            f"{len(found)} matches in {len(by_file)} files for {term!r} in {path}: "
            "narrow your search"
        )
    out = [f"{len(found)} matches in {len(by_file)} files for {term!r} in {path}:"]
    for name in sorted(by_file):
        out.append(f"{name}:")
        out.extend(f"  {n}: {text}" for n, text in by_file[name])
    return "\n".join(out)


async def search_file(
    root: Path, term: str, path: str, *, regex: bool = False, max_matches: int = MAX_MATCHES
) -> str:
    """Matches of `term` (a fixed string unless `regex`) in one file, with line numbers."""
    target = confine(root, path)
    if not target.is_file():
        raise RepoToolError(f"not a file: {path}")
    found = await _matches(root, term, target, regex)
    if not found:
        return f"no matches for {term!r} in {path}"
    if len(found) > max_matches:
        return f"{len(found)} matches in 1 files for {term!r} in {path}: narrow your search"
    body = "\n".join(f"{n}: {text}" for _, n, text in found)
    return f"{len(found)} matches for {term!r} in {path}:\n{body}"
