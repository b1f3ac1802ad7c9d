"""Game of 24 (and other targets): combine four numbers with + - * / and parentheses."""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from fractions import Fraction
from functools import lru_cache
from math import gcd

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, expression_candidates, normalize_operators

MAX_EXPRESSION_CHARS = 200

# difficulty -> (smallest number, largest number, smallest target, largest target)
_LEVELS: dict[int, tuple[int, int, int, int]] = {
    1: (1, 13, 24, 24),
    2: (1, 13, 25, 60),
    3: (2, 25, 61, 300),
}

_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


Rational = tuple[int, int]  # (numerator, denominator > 0) in lowest terms


def solve(numbers: list[int], target: int) -> str | None:
    """One expression using each of `numbers` once that equals `target`, or None."""
    expr = _reach(tuple(sorted(numbers))).get((target, 1))
    return None if expr is None else _strip_outer(expr)


def _ratio(num: int, den: int) -> Rational:
    if den < 0:
        num, den = -num, -den
    g = gcd(num, den)
    return (num // g, den // g)


@lru_cache(maxsize=4096)
def _reach(numbers: tuple[int, ...]) -> dict[Rational, str]:
    """Values of every expression over the multiset `numbers`, with fast exact rationals."""
    if len(numbers) == 1:
        return {(numbers[0], 1): str(numbers[0])}
    out: dict[Rational, str] = {}
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    count = len(numbers)
    for mask in range(1, (1 << count) - 1):
        left = tuple(numbers[i] for i in range(count) if mask >> i & 1)
        right = tuple(numbers[i] for i in range(count) if not mask >> i & 1)
        if (left, right) in seen:
            continue
        seen.add((left, right))
        for (an, ad), ea in _reach(left).items():
            for (bn, bd), eb in _reach(right).items():
                out.setdefault(_ratio(an * bd + bn * ad, ad * bd), f"({ea}+{eb})")
                out.setdefault(_ratio(an * bd - bn * ad, ad * bd), f"({ea}-{eb})")
                out.setdefault(_ratio(an * bn, ad * bd), f"({ea}*{eb})")
                if bn != 0:
                    out.setdefault(_ratio(an * bd, ad * bn), f"({ea}/{eb})")
    return out


def _strip_outer(expr: str) -> str:
    if expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for pos, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and pos < len(expr) - 1:
                return expr
        return expr[1:-1]
    return expr


class ExpressionError(ValueError):
    """The answer is not an allowed arithmetic expression."""


def evaluate_expression(expr: str) -> tuple[Fraction, list[int]]:
    """Exact value of an expression of integers, + - * / and parentheses, and its numbers.

    Raises ExpressionError naming the problem (disallowed syntax, division by zero, ...).
    """
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"could not parse expression: longer than {MAX_EXPRESSION_CHARS} characters"
        )
    bad = "".join(sorted(set(re.sub(r"[\d\s+\-*/()%^]", "", expr))))
    if bad:
        raise ExpressionError(
            "could not parse expression: only integers, + - * / and parentheses are "
            f"allowed (found {bad!r})"
        )
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"could not parse expression ({type(exc).__name__})") from exc
    numbers: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            numbers.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.BinOp):
            op = _OPS.get(type(node.op))
            if op is None:
                raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
            left, right = walk(node.left), walk(node.right)
            if op == "+":
                return left + right
            if op == "-":
                return left - right
            if op == "*":
                return left * right
            if right == 0:
                raise ExpressionError("division by zero")
            return left / right
        if isinstance(node, ast.UnaryOp):
            raise ExpressionError("unary operators are not allowed")
        raise ExpressionError(f"{type(node).__name__} is not allowed, only numbers and + - * /")

    try:
        value = walk(tree.body)
    except RecursionError as exc:
        raise ExpressionError("expression nested too deeply") from exc
    return value, numbers


def multiset_problem(used: list[int], given: list[int]) -> str | None:
    """Why `used` is not exactly the multiset `given`, or None."""
    have, want = Counter(used), Counter(given)
    for number in sorted(set(have) | set(want)):
        if have[number] == want[number]:
            continue
        if want[number] == 0:
            return f"number {number} is not one of the given numbers"
        if have[number] == 0:
            return f"number {number} is not used"
        return f"number {number} used {have[number]} times, must be used {want[number]} times"
    return None


class Game24Family(TaskFamily):
    name = "game24"
    description = "Make the target from four numbers with + - * / and parentheses."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        lo, hi, tlo, thi = _LEVELS[check_difficulty(difficulty)]
        while True:
            numbers = sorted(rng.randint(lo, hi) for _ in range(4))
            values = _reach(tuple(numbers))
            targets = sorted(n for n, d in values if d == 1 and tlo <= n <= thi)
            if targets:
                break
        target = rng.choice(targets)
        prompt = (
            f"Use the numbers {', '.join(map(str, numbers))} each exactly once, with + - * / "
            f"and parentheses, to make {target}.\nAnswer with the expression only."
        )
        reference = solve(numbers, target)
        data = {"numbers": numbers, "target": target}
        return self.make_item(difficulty, index, seed, prompt, data, reference)

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        numbers = [int(n) for n in item.data["numbers"]]
        target = Fraction(int(item.data["target"]))
        candidates = expression_candidates(answer_segment(answer))
        if not candidates:
            return CheckResult.fail("could not parse an expression")
        expr = normalize_operators(candidates[0])
        try:
            value, used = evaluate_expression(expr)
        except ExpressionError as exc:
            return CheckResult.fail(str(exc))
        problem = multiset_problem(used, numbers)
        if problem is not None:
            return CheckResult.fail(problem)
        if value != target:
            return CheckResult.fail(f"expression equals {value}, not {target}")
        return CheckResult.ok()
