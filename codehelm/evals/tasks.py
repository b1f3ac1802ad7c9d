"""Offline evaluation tasks: seeded generators with exact checkers.

Each task family (multiplication, game24, sudoku, ...) generates `EvalItem`s from a seed and
checks answers exactly: lenient about the answer's *format* (whitespace, "Answer:" prefixes,
code fences, thousands separators, trailing periods) but strict about its *content* (every
constraint of the task is validated). Used to compare text, code and steered solve modes.

    items = generate_items(["game24", "sudoku"], n=10, seed=0)
    verdict = FAMILIES[item.family].check(item, model_answer)
"""

from __future__ import annotations

import random

from codehelm.evals.base import (
    DIFFICULTIES,
    CheckResult,
    EvalItem,
    TaskFamily,
    check_difficulty,
    item_id,
)
from codehelm.evals.families import ALL_FAMILIES

FAMILIES: dict[str, TaskFamily] = {family.name: family for family in ALL_FAMILIES}


def get_family(name: str) -> TaskFamily:
    """The registered family called `name`; ValueError listing the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(sorted(FAMILIES))
        raise ValueError(f"unknown task family {name!r}; known families: {known}") from None


def item_rng(family: str, difficulty: int, seed: int, index: int) -> random.Random:
    """The generator for one item: depends only on these four values (stable across runs)."""
    return random.Random(f"codehelm-evals:{family}:{difficulty}:{seed}:{index}")


def generate_item(family: str, difficulty: int, seed: int, index: int) -> EvalItem:
    task = get_family(family)
    check_difficulty(difficulty)
    return task.generate(item_rng(family, difficulty, seed, index), difficulty, index, seed)


def generate_items(
    families: list[str], n: int, seed: int, difficulty: int | None = None
) -> list[EvalItem]:
    """`n` items for each of `families` (in the given order), deterministically from `seed`.

    With `difficulty` None the items cycle through difficulties 1, 2, 3, 1, ... by index.
    Each item depends only on (family, difficulty, seed, index), so the same arguments always
    give the same items and a larger `n` extends a smaller run's items.
    """
    for name in families:
        get_family(name)
    if difficulty is not None:
        check_difficulty(difficulty)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    items: list[EvalItem] = []
    for name in families:
        for index in range(n):
            level = difficulty if difficulty is not None else DIFFICULTIES[index % 3]
            items.append(generate_item(name, level, seed, index))
    return items


def check_answer(item: EvalItem, answer: str) -> CheckResult:
    """Check `answer` with the checker of `item`'s family (never raises on bad answers)."""
    return get_family(item.family).check(item, answer)


__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "CheckResult",
    "EvalItem",
    "TaskFamily",
    "check_answer",
    "generate_item",
    "generate_items",
    "get_family",
    "item_id",
    "item_rng",
]
