"""Where the viewer finds runs: the home store, and the run store of each eval folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from codehelm.config import Settings
from codehelm.errors import RunNotFoundError
from codehelm.runtime.trace import TraceStore

HOME = "home"
"""The name of the home folder's store (`--home`); eval folders go by their folder name."""


@dataclass(frozen=True)
class Stores:
    """The home folder and the eval folders (each holds `runs.jsonl` and a `runs/` home);
    with `database_url`, the home's runs are kept in that PostgreSQL database instead."""

    home: Path
    evals: dict[str, Path] = field(default_factory=dict)
    database_url: str | None = None

    @classmethod
    def found(
        cls, home: Path, evals: list[Path], cwd: Path, database_url: str | None = None
    ) -> Stores:
        """`home`, the eval folders given, and those in `cwd` (as `codehelm show` looks)."""
        folders = [*evals, *(p.parent for p in sorted(cwd.glob("*/runs.jsonl")))]
        named = {folder.resolve().name: folder.resolve() for folder in folders}
        return cls(home=home, evals=named, database_url=database_url)

    def names(self) -> list[str]:
        return [HOME, *self.evals]

    def folder(self, name: str) -> Path:
        """The home folder of store `name` (its SQLite checkpoints and trace live there)."""
        if name == HOME:
            return self.home
        if name not in self.evals:
            raise RunNotFoundError(f"no eval folder named {name!r}")
        return self.evals[name] / "runs"

    def settings(self, name: str) -> Settings:
        """The settings of store `name`: eval folders keep their runs in SQLite files."""
        database_url = self.database_url if name == HOME else None
        return Settings(home=self.folder(name), database_url=database_url)

    @contextmanager
    def open(self, name: str) -> Iterator[TraceStore | None]:
        """Store `name`, opened without creating anything (None: it has no runs yet)."""
        try:
            store = TraceStore(self.settings(name).trace_location, create=False)
        except RunNotFoundError:
            yield None
            return
        with store:
            yield store

    def holding(self, run_id: str) -> str:
        """The name of the store that holds `run_id`."""
        for name in self.names():
            try:
                TraceStore.holding(self.settings(name).trace_location, run_id).close()
            except RunNotFoundError:
                continue
            return name
        raise RunNotFoundError(f"no run {run_id!r} in {self.home} or the eval folders")
