"""The working tree's diff against HEAD, new (untracked) files included.

Untracked, not ignored files are added as `git diff --no-index /dev/null FILE` patches, so the
index is never touched (no `git add -N`) and the result applies with `git apply` / `patch -p1`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from codehelm.tools.repo.paths import RepoToolError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


async def git(root: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Run `git args` in `root` and return its stdout; a RepoToolError on other exit codes."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "core.quotepath=off",
        *args,
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode not in ok:
        raise RepoToolError(
            f"git {' '.join(args)} failed in {root}: {err.decode(errors='replace').strip()}"
        )
    return out.decode(errors="replace")


async def diff(root: Path) -> str:
    """Unified diff of the working tree against HEAD, including untracked files."""
    head = await git(root, "rev-parse", "--verify", "--quiet", "HEAD", ok=(0, 1))
    base = "HEAD" if head.strip() else EMPTY_TREE
    parts = [await git(root, "diff", "--no-color", "--no-ext-diff", base, "--")]
    untracked = await git(root, "ls-files", "--others", "--exclude-standard", "-z")
    for name in sorted(n for n in untracked.split("\0") if n):
        parts.append(
            await git(root, "diff", "--no-color", "--no-index", "--", "/dev/null", name, ok=(0, 1))
        )
    return "".join(parts)
