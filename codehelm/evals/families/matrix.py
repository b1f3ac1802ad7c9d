"""Matrix rotation and max/average pooling with an exact matrix answer."""

from __future__ import annotations

import random
import re
from fractions import Fraction
from typing import Any

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, parse_number

Matrix = list[list[Fraction]]


def rotate(matrix: Matrix, degrees: int) -> Matrix:
    """`matrix` rotated clockwise by a multiple of 90 degrees."""
    for _ in range((degrees // 90) % 4):
        matrix = [list(row) for row in zip(*matrix[::-1], strict=True)]
    return matrix


def pool(matrix: Matrix, kind: str, window: int, stride: int) -> Matrix:
    rows, cols = len(matrix), len(matrix[0])
    out: Matrix = []
    for r in range(0, rows - window + 1, stride):
        out_row: list[Fraction] = []
        for c in range(0, cols - window + 1, stride):
            cells = [matrix[r + i][c + j] for i in range(window) for j in range(window)]
            out_row.append(max(cells) if kind == "max" else sum(cells, Fraction(0)) / len(cells))
        out.append(out_row)
    return out


def apply_ops(data: dict[str, Any]) -> Matrix:
    matrix = [[Fraction(int(v)) for v in row] for row in data["matrix"]]
    for op in data["ops"]:
        if op["op"] == "rotate":
            matrix = rotate(matrix, int(op["degrees"]))
        else:
            matrix = pool(matrix, str(op["kind"]), int(op["window"]), int(op["stride"]))
    return matrix


def format_number(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def format_matrix(matrix: Matrix) -> str:
    return "\n".join(" ".join(format_number(v) for v in row) for row in matrix)


def _describe(op: dict[str, Any]) -> str:
    if op["op"] == "rotate":
        return f"rotate it {op['degrees']} degrees clockwise"
    kind = "max" if op["kind"] == "max" else "average"
    size = f"{op['window']}x{op['window']}"
    return f"apply {kind} pooling with a {size} window and stride {op['stride']}"


def _row_numbers(body: str) -> list[Fraction] | None:
    """The numbers of one row ("1 2 3", "1, 2, 3", "7/2 -1 2.5"), or None if any is not one."""
    body = re.sub(r"\s*/\s*", "/", body.replace("−", "-")).strip().strip(",;")
    tokens = [t for t in re.split(r"[\s,;]+", body) if t]
    numbers = [parse_number(t) for t in tokens]
    if not numbers or any(n is None for n in numbers):
        return None
    return [n for n in numbers if n is not None]


def _nested_list_matrix(segment: str) -> Matrix | None:
    """Rows from a nested list such as "[[1, 2], [3, 7/2]]" (one or many lines)."""
    if not re.search(r"\[\s*\[", segment):
        return None
    matrix: Matrix = []
    for body in re.findall(r"\[([^\[\]]*)\]", segment):
        row = _row_numbers(body)
        if row is None:
            return None
        matrix.append(row)
    return matrix or None


def parse_matrix(answer: str) -> Matrix | None:
    """Rows of numbers (integers, decimals or a/b fractions), one row per line, or a nested
    list like [[1, 2], [3, 4]]."""
    segment = answer_segment(answer)
    nested = _nested_list_matrix(segment)
    if nested is not None:
        return nested
    matrix: Matrix = []
    for line in segment.splitlines():
        row = _row_numbers(re.sub(r"[\[\]|]", " ", line))
        if row is not None:
            matrix.append(row)
    return matrix or None


class MatrixFamily(TaskFamily):
    name = "matrix"
    description = "Rotate a matrix and/or apply max/average pooling."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        check_difficulty(difficulty)
        ops: list[dict[str, Any]] = []
        if difficulty == 1:
            size, lo, hi = 3, 1, 9
            ops.append({"op": "rotate", "degrees": rng.choice((90, 180, 270))})
        elif difficulty == 2:
            size, lo, hi = 4, 0, 9
            window, stride = rng.choice(((2, 2), (2, 1)))
            kind = rng.choice(("max", "average"))
            ops.append({"op": "pool", "kind": kind, "window": window, "stride": stride})
        else:
            size, lo, hi = rng.choice((5, 6)), -9, 9
            window, stride = rng.choice(((2, 2), (2, 1), (3, 1), (3, 2)))
            kind = rng.choice(("max", "average"))
            ops.append({"op": "rotate", "degrees": rng.choice((90, 180, 270))})
            ops.append({"op": "pool", "kind": kind, "window": window, "stride": stride})
        matrix = [[rng.randint(lo, hi) for _ in range(size)] for _ in range(size)]
        data: dict[str, Any] = {"matrix": matrix, "ops": ops}
        result = apply_ops(data)
        steps = ", then ".join(_describe(op) for op in ops)
        fractions_note = (
            " Write non-integers as fractions like 7/2."
            if any(op.get("kind") == "average" for op in ops)
            else ""
        )
        shown = "\n".join(" ".join(str(v) for v in row) for row in matrix)
        prompt = (
            f"Matrix:\n{shown}\nTake this matrix and {steps}.{fractions_note}\n"
            f"Answer with {len(result)} lines of {len(result[0])} numbers separated by spaces."
        )
        return self.make_item(difficulty, index, seed, prompt, data, format_matrix(result))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        expected = apply_ops(item.data)
        rows, cols = len(expected), len(expected[0])
        got = parse_matrix(answer)
        if got is None:
            return CheckResult.fail("could not parse a matrix of numbers")
        if len(got) != rows or any(len(row) != cols for row in got):
            widths = sorted({len(row) for row in got})
            return CheckResult.fail(
                f"wrong shape: expected {rows} rows of {cols} numbers, "
                f"got {len(got)} rows of {'/'.join(map(str, widths))} numbers"
            )
        for r in range(rows):
            for c in range(cols):
                if got[r][c] != expected[r][c]:
                    return CheckResult.fail(
                        f"wrong value at row {r + 1}, column {c + 1}: got "
                        f"{format_number(got[r][c])}, expected {format_number(expected[r][c])}"
                    )
        return CheckResult.ok()
