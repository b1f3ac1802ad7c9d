"""Sandboxes: where agents' code runs. `LocalSandbox` runs it in a local worker process."""

from codehelm.tools.sandbox.base import CommandResult, FileInfo, FileStore, Sandbox
from codehelm.tools.sandbox.local import LocalSandbox

__all__ = ["CommandResult", "FileInfo", "FileStore", "LocalSandbox", "Sandbox"]
