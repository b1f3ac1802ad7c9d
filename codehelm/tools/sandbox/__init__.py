"""Sandboxes, where agents' code runs: `LocalSandbox` here, `E2BSandbox` in E2B's cloud.

Names are imported on first use, so `import codehelm.tools.sandbox` (or one of its
modules, such as `base`) loads no backend.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codehelm.tools.sandbox.base import CommandResult, FileInfo, FileStore, Sandbox
    from codehelm.tools.sandbox.e2b import E2BSandbox
    from codehelm.tools.sandbox.limits import ResourceLimits
    from codehelm.tools.sandbox.local import LocalSandbox
    from codehelm.tools.sandbox.pool import SandboxPool
    from codehelm.tools.sandbox.registry import SANDBOXES, create_sandbox

_EXPORTS = {
    "CommandResult": "base",
    "FileInfo": "base",
    "FileStore": "base",
    "Sandbox": "base",
    "E2BSandbox": "e2b",
    "ResourceLimits": "limits",
    "LocalSandbox": "local",
    "SandboxPool": "pool",
    "SANDBOXES": "registry",
    "create_sandbox": "registry",
}

__all__ = [
    "SANDBOXES",
    "CommandResult",
    "E2BSandbox",
    "FileInfo",
    "FileStore",
    "LocalSandbox",
    "ResourceLimits",
    "Sandbox",
    "SandboxPool",
    "create_sandbox",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
