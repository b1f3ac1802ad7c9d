"""Registries of backends by name, imported only when first used.

A registry maps names to `"module:attribute"` paths. Nothing is imported until a
name is looked up, so importing codehelm or its settings loads no backend (E2B's
SDK, litellm, llama.cpp), and users add their own backends by name:

    SANDBOXES.register("docker", "mypkg.sandboxes:DockerSandbox")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from codehelm.errors import ConfigError


class Registry:
    """Names of one kind of backend (`kind`, e.g. "sandbox") to lazily imported objects."""

    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        self.kind = kind
        self._entries: dict[str, object] = dict(entries)

    def register(self, name: str, target: str | object) -> None:
        """Add or replace `name`: a `"module:attribute"` path, or the object itself."""
        if not name or not name.isidentifier():
            raise ConfigError(f"{self.kind} names must be identifiers, not {name!r}")
        self._entries[name] = target

    def unregister(self, name: str) -> None:
        """Forget `name` (nothing happens if it is unknown)."""
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def load(self, name: str) -> Any:
        """The object registered as `name`, imported now; an unknown name lists the known ones."""
        try:
            target = self._entries[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None
        if not isinstance(target, str):
            return target
        module, _, attribute = target.partition(":")
        found: Any = import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
        return found
