"""Sudoku: 4x4 at difficulty 1, 9x9 with more blanks at difficulties 2 and 3."""

from __future__ import annotations

import random
import re

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment

Grid = list[list[int]]

# difficulty -> (box size, smallest blank count, largest blank count)
_LEVELS: dict[int, tuple[int, int, int]] = {1: (2, 6, 8), 2: (3, 30, 36), 3: (3, 45, 52)}


def full_grid(rng: random.Random, box: int) -> Grid:
    """A random complete sudoku: a base pattern with rows, columns and digits shuffled."""
    side = box * box

    def shuffled(seq: range) -> list[int]:
        return rng.sample(list(seq), len(seq))

    rows = [g * box + r for g in shuffled(range(box)) for r in shuffled(range(box))]
    cols = [g * box + c for g in shuffled(range(box)) for c in shuffled(range(box))]
    digits = shuffled(range(1, side + 1))
    return [[digits[(box * (r % box) + r // box + c) % side] for c in cols] for r in rows]


def render(grid: Grid) -> str:
    return "\n".join("".join(str(v) if v else "." for v in row) for row in grid)


def parse_grid(answer: str, side: int) -> Grid | None:
    """A side x side grid of digits ("." or "_" read as 0 = unfilled), or None."""
    segment = answer_segment(answer, strip_periods=False)
    rows: list[str] = []
    for line in segment.splitlines():
        compact = re.sub(r"[\s,|+\-\[\]()]", "", line)
        if len(compact) in (side + 1, side * side + 1) and compact.endswith("."):
            compact = compact[:-1]  # a sentence-ending period
        if compact and re.fullmatch(r"[0-9._]+", compact):
            rows.append(compact)
    if len(rows) == 1 and len(rows[0]) == side * side:  # the whole grid on one line
        rows = [rows[0][i : i + side] for i in range(0, side * side, side)]
    if len(rows) != side or any(len(row) != side for row in rows):
        return None
    return [[int(ch) if ch.isdigit() else 0 for ch in row] for row in rows]


def grid_problem(grid: Grid, givens: Grid, box: int) -> str | None:
    """The first violated sudoku constraint of `grid` (completion of `givens`), or None."""
    side = box * box
    for r in range(side):
        for c in range(side):
            if not 1 <= grid[r][c] <= side:
                return f"cell at row {r + 1}, column {c + 1} is not a digit 1-{side}"
    for r in range(side):
        for c in range(side):
            if givens[r][c] and grid[r][c] != givens[r][c]:
                return f"given {givens[r][c]} at row {r + 1}, column {c + 1} was changed"
    for r in range(side):
        if len(set(grid[r])) != side:
            return f"row {r + 1} repeats a digit"
    for c in range(side):
        if len({grid[r][c] for r in range(side)}) != side:
            return f"column {c + 1} repeats a digit"
    for br in range(box):
        for bc in range(box):
            cells = {
                grid[r][c]
                for r in range(br * box, br * box + box)
                for c in range(bc * box, bc * box + box)
            }
            if len(cells) != side:
                return f"box {br * box + bc + 1} repeats a digit"
    return None


class SudokuFamily(TaskFamily):
    name = "sudoku"
    description = "Complete a 4x4 or 9x9 sudoku."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        box, lo, hi = _LEVELS[check_difficulty(difficulty)]
        side = box * box
        solution = full_grid(rng, box)
        blanks = set(rng.sample(range(side * side), rng.randint(lo, hi)))
        puzzle = [
            [0 if r * side + c in blanks else solution[r][c] for c in range(side)]
            for r in range(side)
        ]
        prompt = (
            f"Fill in this {side}x{side} sudoku (. = blank) so each row, column and "
            f"{box}x{box} box has the digits 1-{side} once.\n{render(puzzle)}\n"
            f"Answer with {side} lines of {side} digits."
        )
        data = {"box": box, "puzzle": puzzle}
        return self.make_item(difficulty, index, seed, prompt, data, render(solution))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        box = int(item.data["box"])
        side = box * box
        givens = [[int(v) for v in row] for row in item.data["puzzle"]]
        grid = parse_grid(answer, side)
        if grid is None:
            return CheckResult.fail(f"could not parse {side} lines of {side} digits")
        problem = grid_problem(grid, givens, box)
        return CheckResult.fail(problem) if problem else CheckResult.ok()
