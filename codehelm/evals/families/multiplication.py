"""Multi-operand, multi-digit integer multiplication with an exact integer answer."""

from __future__ import annotations

import math
import random

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import extract_integer

# difficulty -> (operand count, min digits, max digits, chance of a negative operand)
_LEVELS: dict[int, tuple[int, int, int, float]] = {
    1: (2, 2, 2, 0.0),
    2: (3, 2, 3, 0.0),
    3: (4, 2, 4, 0.3),
}


def _operand(rng: random.Random, digits: int, negative_chance: float) -> int:
    value = rng.randint(10 ** (digits - 1), 10**digits - 1)
    return -value if rng.random() < negative_chance else value


def _show(value: int) -> str:
    return f"({value})" if value < 0 else str(value)


class MultiplicationFamily(TaskFamily):
    name = "multiplication"
    description = "Multiply several multi-digit integers exactly."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        count, lo, hi, negative = _LEVELS[check_difficulty(difficulty)]
        operands = [_operand(rng, rng.randint(lo, hi), negative) for _ in range(count)]
        product = math.prod(operands)
        prompt = f"Compute {' * '.join(_show(v) for v in operands)}.\nAnswer with the integer only."
        return self.make_item(difficulty, index, seed, prompt, {"operands": operands}, str(product))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        expected = math.prod(int(v) for v in item.data["operands"])
        value, reason = extract_integer(answer)
        if value is None:
            return CheckResult.fail(reason)
        if value != expected:
            return CheckResult.fail(f"wrong value: got {value}, expected {expected}")
        return CheckResult.ok()
