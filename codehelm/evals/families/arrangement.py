"""Constrained arrangement: seat named people in a row so every constraint holds."""

from __future__ import annotations

import random
import re
from itertools import permutations
from typing import Any

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment

NAMES = ("Ann", "Ben", "Cal", "Dee", "Eve", "Fay", "Gus", "Hal")

# difficulty -> (people, most constraints, stop once at most this many solutions remain)
_LEVELS: dict[int, tuple[int, int, int]] = {1: (4, 4, 3), 2: (5, 6, 2), 3: (6, 9, 1)}

_KINDS = ("left_of", "right_of", "next_to", "not_next_to", "at", "not_at", "end", "between")


def holds(constraint: dict[str, Any], order: list[str] | tuple[str, ...]) -> bool:
    """Whether `order` (names left to right, seats numbered from 1) satisfies `constraint`."""
    seat = {name: i + 1 for i, name in enumerate(order)}
    kind = constraint["kind"]
    a = seat[constraint["a"]]
    if kind == "at":
        return a == int(constraint["seat"])
    if kind == "not_at":
        return a != int(constraint["seat"])
    if kind == "end":
        return a in (1, len(order))
    b = seat[constraint["b"]]
    if kind == "left_of":
        return a < b
    if kind == "right_of":
        return a > b
    if kind == "next_to":
        return abs(a - b) == 1
    if kind == "not_next_to":
        return abs(a - b) != 1
    c = seat[constraint["c"]]  # kind == "between": a sits somewhere between b and c
    return min(b, c) < a < max(b, c)


def describe(constraint: dict[str, Any]) -> str:
    kind, a = constraint["kind"], constraint["a"]
    b, c = constraint.get("b"), constraint.get("c")
    return {
        "at": f"{a} sits in seat {constraint.get('seat')}.",
        "not_at": f"{a} does not sit in seat {constraint.get('seat')}.",
        "end": f"{a} sits at one of the two ends.",
        "left_of": f"{a} sits somewhere left of {b}.",
        "right_of": f"{a} sits somewhere right of {b}.",
        "next_to": f"{a} sits next to {b}.",
        "not_next_to": f"{a} does not sit next to {b}.",
        "between": f"{a} sits somewhere between {b} and {c}.",
    }[kind]


def _random_true_constraint(rng: random.Random, order: list[str]) -> dict[str, Any]:
    while True:
        kind = rng.choice(_KINDS)
        a, b, c = rng.sample(order, 3) if len(order) >= 3 else (*rng.sample(order, 2), "")
        constraint: dict[str, Any] = {"kind": kind, "a": a}
        if kind in ("at", "not_at"):
            constraint["seat"] = rng.randint(1, len(order))
        elif kind != "end":
            constraint["b"] = b
            if kind == "between":
                constraint["c"] = c
        if holds(constraint, order):
            return constraint


def solutions(people: list[str], constraints: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [p for p in permutations(people) if all(holds(c, p) for c in constraints)]


def parse_order(answer: str, people: list[str]) -> list[str]:
    """The known names in the answer, in the order they appear."""
    by_lower = {name.lower(): name for name in people}
    words = re.findall(r"[A-Za-z]+", answer_segment(answer))
    return [by_lower[w.lower()] for w in words if w.lower() in by_lower]


class ArrangementFamily(TaskFamily):
    name = "arrangement"
    description = "Order named people in a row so that every positional constraint holds."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        count, max_constraints, enough = _LEVELS[check_difficulty(difficulty)]
        people = list(NAMES[:count])
        hidden = rng.sample(people, count)
        constraints: list[dict[str, Any]] = []
        remaining = solutions(people, constraints)
        for _ in range(200):
            if len(constraints) >= max_constraints or len(remaining) <= enough:
                break
            candidate = _random_true_constraint(rng, hidden)
            narrowed = [p for p in remaining if holds(candidate, p)]
            if len(narrowed) < len(remaining):
                constraints.append(candidate)
                remaining = narrowed
        rules = "\n".join(f"- {describe(c)}" for c in constraints)
        prompt = (
            f"Seat {', '.join(people)} in a row of {count} seats numbered 1 to {count} "
            f"from left to right.\n{rules}\n"
            "Answer with the names from left to right, separated by commas."
        )
        data = {"people": people, "constraints": constraints}
        reference = ", ".join(remaining[0])
        return self.make_item(difficulty, index, seed, prompt, data, reference)

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        people = [str(p) for p in item.data["people"]]
        order = parse_order(answer, people)
        if not order:
            return CheckResult.fail("could not parse any of the names")
        for name in people:
            if order.count(name) > 1:
                return CheckResult.fail(f"{name} appears {order.count(name)} times")
        missing = [name for name in people if name not in order]
        if missing:
            return CheckResult.fail(f"missing: {', '.join(missing)}")
        for constraint in item.data["constraints"]:
            if not holds(constraint, order):
                return CheckResult.fail(f"constraint violated: {describe(constraint)}")
        return CheckResult.ok()
