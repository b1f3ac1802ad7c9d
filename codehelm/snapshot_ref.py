"""`SnapshotRef`: where a saved sandbox state lives (a leaf module, so run state can hold
one without loading the sandbox package; taking and restoring snapshots is in
`codehelm.tools.sandbox.snapshot`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SnapshotRef(BaseModel):
    """Where a snapshot lives on the host and what it could not keep. A snapshot of an
    empty sandbox (no variables, modules or files) has no archive: its `path` is empty."""

    model_config = ConfigDict(frozen=True)

    path: str
    variables: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # "name (type: reason)"
    files: int = 0  # workspace files, besides the interpreter state
    skipped_files: list[str] = Field(default_factory=list)  # "path (reason)": e.g. links out
    size_bytes: int = 0

    @property
    def empty(self) -> bool:
        """Whether the sandbox held nothing to keep (restoring it changes nothing)."""
        return not self.path
