"""Repairer: issue + the localised code -> one candidate patch, made in its own copy.

The model answers with search/replace edits (constrained to the localised files); they are
applied with the repository tools, so an edit whose `old` text is not exactly once in its
file, or that leaves Python unparsable, is refused. A refused candidate gets one more try
with the refusal as feedback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from codehelm.agents.localiser import Localisation
from codehelm.agents.reproducer import code_blocks
from codehelm.errors import BadInputError, ModelOutputError
from codehelm.messages import Usage
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.tools.repo import Repo

MAX_EDITS = 4


class Candidate(BaseModel):
    """One candidate fix: its patch (a unified diff, "" when it changed nothing) or why
    there is none."""

    id: str
    patch: str = ""
    error: str = ""


class Repairer:
    """Makes candidate patches, the first greedily and the others sampled (`temperature`)."""

    name = "repairer"

    def __init__(self, model: ModelClient, *, temperature: float = 0.8, tries: int = 2) -> None:
        self.model = model
        self.temperature = temperature
        self.tries = tries

    async def candidate(
        self,
        candidate_id: str,
        copy: Path,
        issue: str,
        localisation: Localisation,
        *,
        notes: str = "",
        sample: bool = False,
    ) -> tuple[Candidate, Usage]:
        """Edit the repository copy at `copy` and return its diff."""
        repo = await asyncio.to_thread(Repo, copy)
        blocks = await asyncio.to_thread(code_blocks, copy, localisation)
        schema = _edits_schema([b["path"] for b in blocks])
        params = {"temperature": self.temperature} if sample else {}
        usage, feedback = Usage(), ""
        for _ in range(self.tries):
            prompt = render(
                "repair", issue=issue[:2000], notes=notes, code=blocks, feedback=feedback
            )
            try:
                reply = await self.model.structured(prompt, schema, agent=self.name, **params)
            except ModelOutputError as exc:
                return Candidate(id=candidate_id, error=str(exc)), usage + exc.usage
            usage = usage + reply.usage
            try:
                for edit in getattr(reply.value, "edits", []):
                    await repo.str_replace(edit.path, edit.old, edit.new)
            except BadInputError as exc:
                feedback = str(exc)[:600]
                for path in {b["path"] for b in blocks}:
                    target = await asyncio.to_thread(repo.path, path)
                    while repo.history.depth(target):
                        await repo.undo(path)
                continue
            patch = await repo.diff()
            error = "" if patch.strip() else "the edits changed nothing"
            return Candidate(id=candidate_id, patch=patch, error=error), usage
        return Candidate(id=candidate_id, error=f"edits refused: {feedback}"), usage


def _edits_schema(paths: list[str]) -> type[BaseModel]:
    """Edits whose `path` can only be one of the localised files."""
    path: Any = Literal[tuple(paths)] if paths else str
    edit = create_model("Edit", path=(path, ...), old=(str, Field(min_length=1)), new=(str, ...))
    field: Any = (list[edit], Field(min_length=1, max_length=MAX_EDITS))
    return create_model("Edits", edits=field)
