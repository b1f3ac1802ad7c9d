"""Insert + - * between numbers, keeping their order, to reach a target."""

from __future__ import annotations

import random
import re

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, expression_candidates, normalize_operators

MAX_EXPRESSION_CHARS = 300

# difficulty -> (how many numbers, largest number)
_LEVELS: dict[int, tuple[int, int]] = {1: (4, 9), 2: (6, 9), 3: (8, 12)}


def evaluate_tokens(numbers: list[int], ops: list[str]) -> int:
    """Exact value of n0 op0 n1 op1 ... with * binding tighter than + and -."""
    total, term = 0, numbers[0]
    sign = 1
    for op, number in zip(ops, numbers[1:], strict=True):
        if op == "*":
            term *= number
        else:
            total += sign * term
            sign, term = (1 if op == "+" else -1), number
    return total + sign * term


def join_expression(numbers: list[int], ops: list[str]) -> str:
    parts = [str(numbers[0])]
    for op, number in zip(ops, numbers[1:], strict=True):
        parts += [op, str(number)]
    return " ".join(parts)


class ParseError(ValueError):
    """The answer is not a flat expression of numbers and + - *."""


def tokenize(expr: str) -> tuple[list[int], list[str]]:
    """Numbers and operators of a flat `a op b op c` expression; raises ParseError."""
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ParseError(f"could not parse: longer than {MAX_EXPRESSION_CHARS} characters")
    for op in ("**", "/", "^", "%"):
        if op in expr:
            raise ParseError(f"operator {op} is not allowed, only + - *")
    bad = "".join(sorted(set(re.sub(r"[\d\s+\-*()]", "", expr))))
    if bad:
        raise ParseError(f"could not parse: unexpected characters {bad!r}")
    if re.search(r"[()]", expr):
        raise ParseError("parentheses are not allowed")
    if re.search(r"\d\s+\d", expr):
        raise ParseError("could not parse: two numbers without an operator between them")
    tokens = re.findall(r"\d+|[+\-*]", expr)
    numbers: list[int] = []
    ops: list[str] = []
    for i, token in enumerate(tokens):
        if i % 2 == 0:
            if not token.isdigit():
                raise ParseError(f"could not parse: expected a number, found {token!r}")
            if len(token) > 50:
                raise ParseError("could not parse: number too long")
            numbers.append(int(token))
        else:
            if token.isdigit():
                raise ParseError(f"could not parse: expected an operator, found {token!r}")
            ops.append(token)
    if not numbers or len(numbers) != len(ops) + 1:
        raise ParseError("could not parse: expression must start and end with a number")
    return numbers, ops


class OperatorInsertionFamily(TaskFamily):
    name = "operator_insertion"
    description = "Put + - * between ordered numbers so the expression equals the target."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        count, largest = _LEVELS[check_difficulty(difficulty)]
        numbers = [rng.randint(1, largest) for _ in range(count)]
        ops = [rng.choice("+-*") for _ in range(count - 1)]
        target = evaluate_tokens(numbers, ops)
        prompt = (
            f"Numbers: {' '.join(map(str, numbers))}\n"
            f"Put one of + - * between each pair of neighbouring numbers (keep their order, "
            f"no parentheses; * before + and -) so the result is {target}.\n"
            "Answer with the expression only."
        )
        data = {"numbers": numbers, "target": target}
        return self.make_item(difficulty, index, seed, prompt, data, join_expression(numbers, ops))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        given = [int(n) for n in item.data["numbers"]]
        target = int(item.data["target"])
        candidates = expression_candidates(answer_segment(answer))
        if not candidates:
            return CheckResult.fail("could not parse an expression")
        expr = normalize_operators(candidates[0])
        try:
            numbers, ops = tokenize(expr)
        except ParseError as exc:
            return CheckResult.fail(str(exc))
        if numbers != given:
            return CheckResult.fail(
                f"numbers must be {' '.join(map(str, given))} in this order, "
                f"got {' '.join(map(str, numbers))}"
            )
        value = evaluate_tokens(numbers, ops)
        if value != target:
            return CheckResult.fail(f"expression equals {value}, not {target}")
        return CheckResult.ok()
