"""`Repo`: the repository tools behind one facade, every path confined to the root."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from codehelm.tools.repo import edit, git, search, testing
from codehelm.tools.repo.paths import RepoToolError, confine, relative
from codehelm.tools.repo.testing import PytestRun
from codehelm.tools.repo.view import WINDOW, read_text, view_text
from codehelm.tools.sandbox.base import Sandbox


class Repo:
    """Navigation, search, editing, diff and tests of the repository at `root`.

    Every method takes paths relative to `root` (absolute paths inside it are accepted);
    paths that escape it, by `..`, absolutely or through a symlink, raise
    `PathOutsideRepoError`. Refusals raise `RepoToolError` subclasses (`BadInputError`s)
    whose message says what to do instead. Edits are kept in an in-memory undo history.
    """

    def __init__(self, root: str | os.PathLike[str], *, window: int = WINDOW) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise RepoToolError(f"not a directory: {root}; give the repository's root")
        self.root = path.resolve()
        self.window = window
        self.history = edit.EditHistory()

    def path(self, path: str | os.PathLike[str]) -> Path:
        """`path` resolved inside the repository, or `PathOutsideRepoError`."""
        return confine(self.root, path)

    async def _path(self, path: str | os.PathLike[str]) -> Path:
        return await asyncio.to_thread(self.path, path)  # resolving reads the file system

    async def find_file(self, glob: str) -> str:
        """Files matching `glob` (e.g. `*.py`, `**/test_*.py`), honouring .gitignore."""
        return await search.find_file(self.root, glob)

    async def search_dir(self, term: str, path: str = ".", *, regex: bool = False) -> str:
        """Lines containing `term` under `path` (fixed string unless `regex`), capped."""
        return await search.search_dir(self.root, term, path, regex=regex)

    async def search_file(self, term: str, path: str, *, regex: bool = False) -> str:
        """Lines of file `path` containing `term`, with line numbers, capped."""
        return await search.search_file(self.root, term, path, regex=regex)

    async def view(self, path: str, start: int = 1, end: int | None = None) -> str:
        """Numbered lines `start`..`end` of `path`, clipped to the window (a note says what
        is left); a large Python file viewed whole is shown as a skeleton of signatures."""
        target = self.path(path)
        if target.is_dir():
            raise RepoToolError(f"{path} is a directory: use find_file to list files")
        if not target.is_file():
            raise RepoToolError(f"no such file: {path}; use find_file to locate it")
        text = await read_text(target)
        return view_text(relative(self.root, target), text, start, end, window=self.window)

    async def str_replace(self, path: str, old: str, new: str) -> str:
        """Replace the one occurrence of `old` in `path` by `new`; shows the edited region."""
        return await edit.str_replace(self.root, await self._path(path), old, new, self.history)

    async def insert(self, path: str, line: int, text: str) -> str:
        """Insert `text` after line `line` of `path` (0 inserts at the top)."""
        return await edit.insert(self.root, await self._path(path), line, text, self.history)

    async def create(self, path: str, text: str) -> str:
        """Create a new file `path` with `text` (never overwrites)."""
        return await edit.create(self.root, await self._path(path), text, self.history)

    async def undo(self, path: str) -> str:
        """Undo the last edit of `path` made through this `Repo`."""
        return await edit.undo(self.root, await self._path(path), self.history)

    async def diff(self) -> str:
        """Unified diff of the working tree against HEAD, new untracked files included."""
        return await git.diff(self.root)

    async def run_tests(
        self,
        args: list[str] | str | None = None,
        *,
        sandbox: Sandbox | None = None,
        sandbox_cwd: str | None = None,
        python: str | None = None,
        timeout: float = 300.0,
    ) -> PytestRun:
        """Run pytest with `args` and parse each test's outcome.

        `args` is a list or a shell-like string (e.g. `"tests/test_x.py -k bug"`).
        Locally (default) with `python` (default `sys.executable`) in the repository root; with
        a `sandbox`, through `sandbox.run_command` in `sandbox_cwd` of its workspace, which
        must hold this repository.
        """
        if sandbox is not None:
            return await testing.run_in_sandbox(
                sandbox, args, cwd=sandbox_cwd, python=python or "python", timeout=timeout
            )
        return await testing.run_local(self.root, args, python=python, timeout=timeout)
