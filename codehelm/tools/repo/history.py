"""Change history of a git repository: which files changed often and recently.

Files that changed often and lately are the likeliest to change next (change-proneness, a
long-standing defect-prediction signal), so :func:`codehelm.tools.repo.map.rank_files` blends
:func:`change_scores` in when the repository has history. The history is one
``git log --name-only`` over the last ``MAX_COMMITS`` commits of HEAD, kept in memory per
(repository, HEAD commit). Anything that goes wrong (git missing, not a repository, no commit,
a timeout) means "no history": an empty result, never an exception.
"""

from __future__ import annotations

import math
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["HALF_LIFE", "MAX_COMMITS", "change_scores", "changed_files", "clear_cache"]

MAX_COMMITS = 300
HALF_LIFE = 30.0  # commits (about a patch release): a change this far back counts half
TIMEOUT = 10.0  # seconds for one git command
_SEP = "\x00"


def _git(root: Path, *args: str) -> str | None:
    """Stdout of ``git args`` run in ``root``, or None when git fails or is missing."""
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=root,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace")


@lru_cache(maxsize=64)
def _log(root: Path, head: str, max_commits: int) -> tuple[tuple[str, ...], ...]:
    """Files changed by each of the last ``max_commits`` commits up to ``head``, newest first
    (paths relative to ``root``); ``head`` is only the cache key."""
    out = _git(
        root,
        "log",
        f"-n{max_commits}",
        "--name-only",
        "--no-merges",  # a merge repeats its branch's changes, which the log lists anyway
        "--no-renames",
        "--relative",
        "--format=%x00%P",  # %x00: git writes the NUL that separates commits
        head,
        "--",
    )
    if out is None:
        return ()
    commits: list[tuple[str, ...]] = []
    for block in out.split(_SEP)[1:]:
        parents, _, names = block.partition("\n")
        if not parents.strip():
            # a root (or shallow-boundary) commit lists every file it adds: not a change
            continue
        commits.append(tuple(n for n in names.splitlines() if n.strip()))
    return tuple(commits)


def clear_cache() -> None:
    """Forget the histories read in this process."""
    _log.cache_clear()


def changed_files(root: str | Path, max_commits: int = MAX_COMMITS) -> tuple[tuple[str, ...], ...]:
    """Files changed by each of the last ``max_commits`` commits of HEAD, newest first; the
    root commit is left out (it adds everything); empty when there is no history."""
    base = Path(root).resolve()
    head = _git(base, "rev-parse", "--verify", "--quiet", "HEAD")
    if not head or not head.strip():
        return ()
    return _log(base, head.strip(), max_commits)


def change_scores(
    root: str | Path,
    half_life: float = HALF_LIFE,
    max_commits: int = MAX_COMMITS,
) -> dict[str, float]:
    """Each changed file's recency-weighted change count. The commit ``i`` commits before HEAD
    counts ``0.5 ** (i / half_life)`` for each file it changed, divided by ``1 + ln(n)`` for a
    commit of ``n`` files: a sweeping commit (a reformat, a vendored update) says less about
    each of its files. Files that did not change are absent; empty when there is no history."""
    scores: dict[str, float] = {}
    for age, names in enumerate(changed_files(root, max_commits)):
        if not names:
            continue
        w = 0.5 ** (age / half_life) / (1.0 + math.log(len(names)))
        for name in names:
            scores[name] = scores.get(name, 0.0) + w
    return scores
