"""Localiser: issue text -> the files, then the functions, then the lines to change.

Files come from the repo map (`rank_files`: no model). Functions are chosen by the model among
the definitions of the best files, its reply constrained to their names; the names the issue
mentions are offered first and stand in when the model gives no usable choice. A function's
lines are its span in the file. (Agentless localises the same way: files, then elements,
then lines.)
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from codehelm.errors import ModelOutputError
from codehelm.messages import Usage
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.tools.repo import rank_files

MAX_CHOICES = 30
"""Definitions offered to the model: small models lose track of longer lists."""
MAX_ISSUE_CHARS = 2000


class Location(BaseModel):
    """A definition to change: `name` in `path`, on lines `start`..`end` (1-based, inclusive)."""

    model_config = ConfigDict(frozen=True)

    path: str
    name: str
    start: int
    end: int

    @property
    def key(self) -> str:
        return f"{self.path}::{self.name}"


class Localisation(BaseModel):
    """Where the fix belongs: the ranked files, and the definitions chosen in them."""

    model_config = ConfigDict(frozen=True)

    files: list[str]
    locations: list[Location] = Field(default_factory=list)
    chosen_by: Literal["model", "mentions", "rank"] = "rank"


def definitions(root: Path, path: str) -> list[Location]:
    """The functions, classes and methods (`Class.method`) of a Python file, with their spans;
    a whole-file location for other files and for Python that does not parse."""
    text = (root / path).read_text(encoding="utf-8", errors="replace")
    whole = [Location(path=path, name="<file>", start=1, end=max(1, len(text.splitlines())))]
    if not path.endswith(".py"):
        return whole
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return whole
    found: list[Location] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                found.append(Location(path=path, name=name, start=start, end=end))
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{name}.")

    visit(tree.body, "")
    # A class is offered for its own lines only when it has no methods to point at.
    methods = {loc.name.split(".")[0] for loc in found if "." in loc.name}
    return [loc for loc in found if loc.name not in methods] or whole


def is_test_file(path: str) -> bool:
    """Whether `path` holds tests (the fix belongs in the code they test)."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in ("tests", "test", "testing") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith(("_test.py", ".test.js", ".test.ts", ".spec.js", ".spec.ts"))
        or name == "conftest.py"
    )


def mentioned(issue: str, locations: list[Location]) -> list[Location]:
    """Locations whose (last) name the issue mentions: those it writes as code (`name(`,
    in backticks) when there are any, else those it uses as a word ("mean" in "the mean
    of two values" names no function when `median(` is also written)."""
    as_code = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", issue))
    as_code |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", issue))
    as_code = {name.split(".")[-1] for name in as_code}
    words = as_code or set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", issue))
    return [loc for loc in locations if loc.name.split(".")[-1] in words]


def code_of(root: Path, location: Location) -> str:
    """The source lines of `location`."""
    lines = (root / location.path).read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[location.start - 1 : location.end])


class Localiser:
    """Ranks files with the repo map, then asks the model which definitions to change."""

    name = "localiser"

    def __init__(self, model: ModelClient, *, files: int = 3, functions: int = 2) -> None:
        self.model = model
        self.files = files
        self.functions = functions

    async def localise(self, root: Path, issue: str) -> tuple[Localisation, Usage]:
        ranked = await asyncio.to_thread(rank_files, root, issue, self.files * 4)
        files = [f for f in ranked if not is_test_file(f)][: self.files]
        if not files:
            return Localisation(files=[]), Usage()
        offered = await asyncio.to_thread(
            lambda: [loc for path in files for loc in definitions(root, path)]
        )
        named = mentioned(issue, offered)
        offered = list({loc.key: loc for loc in [*named, *offered]}.values())[:MAX_CHOICES]
        choice, usage = await self._choose(issue, offered)
        if choice:
            return Localisation(files=files, locations=choice, chosen_by="model"), usage
        if named:
            located = named[: self.functions]
            return Localisation(files=files, locations=located, chosen_by="mentions"), usage
        return Localisation(files=files, locations=offered[: self.functions]), usage

    async def _choose(self, issue: str, offered: list[Location]) -> tuple[list[Location], Usage]:
        keys = [loc.key for loc in offered]
        schema = _choice_schema(keys, self.functions)
        prompt = render("localise", issue=issue[:MAX_ISSUE_CHARS], choices=keys)
        try:
            reply = await self.model.structured(prompt, schema, agent=self.name)
        except ModelOutputError as exc:
            return [], exc.usage
        chosen = dict.fromkeys(getattr(reply.value, "functions", []))
        by_key = {loc.key: loc for loc in offered}
        return [by_key[k] for k in chosen if k in by_key], reply.usage


def _choice_schema(keys: list[str], most: int) -> type[BaseModel]:
    """A reply schema whose only valid values are `keys` (constrained decoding keeps a small
    model to names that exist)."""
    item: Any = Literal[tuple(keys)]
    field: Any = (list[item], Field(min_length=1, max_length=most))
    return create_model("FunctionChoice", functions=field)
