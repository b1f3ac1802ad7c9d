"""Choosing one patch among candidates by what their tests showed (Agentless's selection).

Signals, strongest first: a patch that applies and changes something; fewest regressions
(tests that passed before the patch and fail after it); passing the reproduction test
(a test that failed on the base commit); the majority among patches that are the same
once normalised. What is still tied after these is left to a weaker judge (the verifier
model): it picks among equals and can never overrule a stronger signal.
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, ConfigDict


class PatchOutcome(BaseModel):
    """What testing one candidate patch showed. `reproduced` is None without a reproduction
    test; `regressions` is None when no regression tests ran (no working environment)."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str
    patch: str
    applies: bool = True
    reproduced: bool | None = None
    regressions: list[str] | None = None
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.applies and bool(self.patch.strip())


_COMMENT = re.compile(r"^\s*#")


def normalise_patch(patch: str) -> str:
    """The patch's changes without what does not change behaviour: headers, hunk positions,
    context lines, blank and comment-only lines, and indentation-insensitive whitespace.
    Two candidates making the same change in other words of whitespace or comments agree."""
    changes = []
    file = ""
    for line in patch.splitlines():
        if line.startswith("+++ "):
            file = line[4:].removeprefix("b/").strip()
            continue
        if line.startswith(("--- ", "diff ", "index ", "@@", "new file", "deleted file")):
            continue
        if line[:1] not in "+-" or not line[1:].strip() or _COMMENT.match(line[1:]):
            continue
        changes.append(f"{file}{line[0]}{' '.join(line[1:].split())}")
    return "\n".join(changes)


def ranked_groups(outcomes: list[PatchOutcome]) -> list[list[PatchOutcome]]:
    """Usable candidates grouped by equal rank, best group first. Within a group candidates
    are interchangeable as far as the tests and the vote can tell."""
    usable = [o for o in outcomes if o.usable]
    votes = Counter(normalise_patch(o.patch) for o in usable)

    def rank(outcome: PatchOutcome) -> tuple[float, int, int]:
        regressions = float("inf") if outcome.regressions is None else len(outcome.regressions)
        return (regressions, 0 if outcome.reproduced else 1, -votes[normalise_patch(outcome.patch)])

    groups: dict[tuple[float, int, int], list[PatchOutcome]] = {}
    for outcome in sorted(usable, key=rank):
        groups.setdefault(rank(outcome), []).append(outcome)
    return list(groups.values())


def distinct(group: list[PatchOutcome]) -> list[PatchOutcome]:
    """One candidate per normalised patch (the first), in order."""
    seen: dict[str, PatchOutcome] = {}
    for outcome in group:
        seen.setdefault(normalise_patch(outcome.patch), outcome)
    return list(seen.values())
