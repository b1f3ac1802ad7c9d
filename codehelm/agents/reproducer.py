"""Reproducer: issue + the localised code -> a pytest test meant to fail on the base commit.

The graph runs the test before any edit and keeps it only if it fails there (a test that
passes on the buggy code reproduces nothing, and one that does not even run proves nothing).
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from pydantic import BaseModel, Field

from codehelm.agents.localiser import Localisation, code_of
from codehelm.errors import ModelOutputError
from codehelm.messages import Usage
from codehelm.models import ModelClient
from codehelm.prompts import render

MAX_CODE_CHARS = 2500
"""Characters of localised code shown to the model."""
TEST_FILE = "test_codehelm_reproduction.py"
"""Where the reproduction test goes, at the repository's root."""


class ReproductionTest(BaseModel):
    code: str = Field(min_length=1)


def module_of(path: str) -> str:
    """The import name of a Python file: `src/pkg/mod.py` -> `pkg.mod`."""
    parts = path.removesuffix(".py").split("/")
    if parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def code_blocks(root: Path, localisation: Localisation) -> list[dict[str, str]]:
    """The localised definitions' code, by file, within `MAX_CODE_CHARS` in all."""
    blocks: dict[str, list[str]] = {}
    budget = MAX_CODE_CHARS
    for location in localisation.locations:
        code = code_of(root, location)[:budget]
        budget -= len(code)
        blocks.setdefault(location.path, []).append(code)
        if budget <= 0:
            break
    return [
        {"path": path, "module": module_of(path), "code": "\n\n".join(codes)}
        for path, codes in blocks.items()
    ]


class Reproducer:
    """Writes a reproduction test for the issue."""

    name = "reproducer"

    def __init__(self, model: ModelClient) -> None:
        self.model = model

    async def write(
        self, root: Path, issue: str, localisation: Localisation
    ) -> tuple[str | None, Usage]:
        """A test module's source, or None when the model gave no parsable Python."""
        blocks = await asyncio.to_thread(code_blocks, root, localisation)
        prompt = render("reproduce", issue=issue[:2000], code=blocks)
        try:
            reply = await self.model.structured(prompt, ReproductionTest, agent=self.name)
        except ModelOutputError as exc:
            return None, exc.usage
        try:
            ast.parse(reply.value.code)
        except SyntaxError:
            return None, reply.usage
        return reply.value.code, reply.usage
