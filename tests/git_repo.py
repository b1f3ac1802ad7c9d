"""Helpers for tests that build real git repositories in temporary directories."""

from __future__ import annotations

import subprocess
from pathlib import Path

CALC_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "0.1.0"

[tool.setuptools]
packages = ["calc"]
"""
"""A setuptools project whose one package is `calc`."""


def git(root: Path, *args: str) -> str:
    """Run git in `root` with a fixed identity; its stdout (raises on failure)."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
