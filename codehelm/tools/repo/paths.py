"""Confinement of tool paths to a repository root, and the repository tools' errors."""

from __future__ import annotations

import os
from pathlib import Path

from codehelm.errors import BadInputError


class RepoToolError(BadInputError):
    """A repository tool refused a request; the message says why and what to do next."""


class PathOutsideRepoError(RepoToolError):
    """A path escapes the repository root (traversal, absolute path or symlink)."""


class EditRefusedError(RepoToolError):
    """An edit was refused (no or several matches, unparsable result, existing file...)."""


def confine(root: Path, path: str | os.PathLike[str]) -> Path:
    """`path` (relative to `root`, or absolute inside it) resolved, symlinks followed.

    Raises `PathOutsideRepoError` naming `path` when the result lies outside `root`.
    """
    base = root.resolve()
    raw = Path(path)
    candidate = raw if raw.is_absolute() else base / raw
    resolved = candidate.resolve()
    if resolved != base and base not in resolved.parents:
        why = "a symlink that resolves" if _through_symlink(base, candidate) else "a path"
        raise PathOutsideRepoError(
            f"refused {str(path)!r}: {why} outside the repository {base}; "
            "use a path relative to the repository root"
        )
    return resolved


def _through_symlink(base: Path, candidate: Path) -> bool:
    lexical = Path(os.path.normpath(candidate))
    return lexical == base or base in lexical.parents


def relative(root: Path, path: Path) -> str:
    """`path` (already confined) relative to `root`, in POSIX form."""
    rel = path.relative_to(root.resolve()).as_posix()
    return rel or "."
