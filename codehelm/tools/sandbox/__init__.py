"""Sandboxes, where agents' code runs: `LocalSandbox` here, `E2BSandbox` in E2B's cloud."""

from codehelm.tools.sandbox.base import CommandResult, FileInfo, FileStore, Sandbox
from codehelm.tools.sandbox.e2b import E2BSandbox
from codehelm.tools.sandbox.limits import ResourceLimits
from codehelm.tools.sandbox.local import LocalSandbox
from codehelm.tools.sandbox.pool import SandboxPool

__all__ = [
    "CommandResult",
    "E2BSandbox",
    "FileInfo",
    "FileStore",
    "LocalSandbox",
    "ResourceLimits",
    "Sandbox",
    "SandboxPool",
]
