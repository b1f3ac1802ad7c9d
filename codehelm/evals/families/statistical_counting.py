"""Statistical counting: how many numbers in a list satisfy a stated condition."""

from __future__ import annotations

import random
from typing import Any

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import extract_integer

# difficulty -> (list length, largest value)
_LEVELS: dict[int, tuple[int, int]] = {1: (8, 20), 2: (14, 50), 3: (20, 99)}


def satisfies(value: int, condition: dict[str, Any]) -> bool:
    kind = condition["kind"]
    if kind == "greater":
        return value > int(condition["k"])
    if kind == "even_greater":
        return value % 2 == 0 and value > int(condition["k"])
    # kind == "divisible_or_between"
    lo, hi = int(condition["lo"]), int(condition["hi"])
    return value % int(condition["m"]) == 0 or lo <= value <= hi


def describe(condition: dict[str, Any]) -> str:
    kind = condition["kind"]
    if kind == "greater":
        return f"greater than {condition['k']}"
    if kind == "even_greater":
        return f"even and greater than {condition['k']}"
    return (
        f"divisible by {condition['m']} or between {condition['lo']} and "
        f"{condition['hi']} (inclusive)"
    )


def count(data: dict[str, Any]) -> int:
    return sum(satisfies(int(v), data["condition"]) for v in data["numbers"])


class StatisticalCountingFamily(TaskFamily):
    name = "statistical_counting"
    description = "Count the numbers in a list that satisfy a condition."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        length, largest = _LEVELS[check_difficulty(difficulty)]
        numbers = [rng.randint(1, largest) for _ in range(length)]
        condition: dict[str, Any]
        if difficulty == 1:
            condition = {"kind": "greater", "k": rng.randint(3, largest - 3)}
        elif difficulty == 2:
            condition = {"kind": "even_greater", "k": rng.randint(5, largest - 10)}
        else:
            lo = rng.randint(10, largest - 30)
            condition = {
                "kind": "divisible_or_between",
                "m": rng.randint(3, 9),
                "lo": lo,
                "hi": lo + rng.randint(5, 20),
            }
        data = {"numbers": numbers, "condition": condition}
        prompt = (
            f"Numbers: {', '.join(map(str, numbers))}\n"
            f"How many of these numbers are {describe(condition)}?\n"
            "Answer with the integer only."
        )
        return self.make_item(difficulty, index, seed, prompt, data, str(count(data)))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        expected = count(item.data)
        value, reason = extract_integer(answer)
        if value is None:
            return CheckResult.fail(reason)
        if value != expected:
            return CheckResult.fail(f"wrong count: got {value}, expected {expected}")
        return CheckResult.ok()
