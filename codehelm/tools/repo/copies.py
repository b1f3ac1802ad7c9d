"""Copies of a repository to work in: the user's checkout is never edited.

`snapshot` copies the working tree as it is (tracked and untracked files, ignored ones left
out, uncommitted changes kept) into a fresh git repository with one commit, so a diff
made there is relative to exactly what the user has. `clone` makes a cheap further copy of
that snapshot (one per candidate patch).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from codehelm.tools.repo.git import git
from codehelm.tools.repo.paths import RepoToolError

_IDENTITY = ("-c", "user.name=codehelm", "-c", "user.email=codehelm@localhost")


def working_tree_files(root: Path) -> list[str]:
    """Files of the working tree (relative paths): git's tracked and untracked ones, not
    ignored ones; every file but `.git` when `root` is not a git repository. Blocking."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    )
    if listed.returncode == 0:
        names = listed.stdout.decode(errors="surrogateescape").split("\0")
        return sorted({n for n in names if n and ((root / n).is_file() or (root / n).is_symlink())})
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if (path.is_file() or path.is_symlink()) and ".git" not in path.relative_to(root).parts
    )


async def snapshot(root: Path, dest: Path) -> None:
    """Copy the working tree of `root` into `dest` (which must not exist) as a git
    repository with one commit."""
    await asyncio.to_thread(_copy_working_tree, root, dest)
    await git(dest, "init", "-q")
    await git(dest, "add", "-A")
    await git(dest, *_IDENTITY, "commit", "-q", "--allow-empty", "-m", "snapshot")


async def clone(base: Path, dest: Path) -> None:
    """A further copy of the snapshot at `base`, for one candidate's edits."""
    await asyncio.to_thread(_remove, dest)
    await git(base.parent, "clone", "-q", "--local", str(base), str(dest))


def _copy_working_tree(root: Path, dest: Path) -> None:
    if dest.exists():
        raise RepoToolError(f"{dest} exists already; a copy needs a new directory")
    dest.mkdir(parents=True)
    for name in working_tree_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target, follow_symlinks=False)


def _remove(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
