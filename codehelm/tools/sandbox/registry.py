"""Sandboxes by name: `create_sandbox(settings)` makes the one `settings.sandbox` names.

Built in: `local` (`LocalSandbox`, bubblewrap-isolated on this machine) and `e2b`
(`E2BSandbox`, E2B's cloud). A backend is a class with a `from_settings(settings)`
classmethod; add one with `SANDBOXES.register("name", "package.module:Class")`.
"""

from __future__ import annotations

from typing import Protocol

from codehelm.config import Settings
from codehelm.registry import Registry
from codehelm.tools.sandbox.base import Sandbox

SANDBOXES = Registry(
    "sandbox",
    {
        "local": "codehelm.tools.sandbox.local:LocalSandbox",
        "e2b": "codehelm.tools.sandbox.e2b:E2BSandbox",
    },
)


class SandboxBackend(Protocol):
    """What a registered sandbox class provides besides the `Sandbox` protocol."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox: ...


def create_sandbox(settings: Settings) -> Sandbox:
    """A new sandbox of the kind `settings.sandbox` names, configured by `settings`."""
    backend: type[SandboxBackend] = SANDBOXES.load(settings.sandbox)
    return backend.from_settings(settings)
