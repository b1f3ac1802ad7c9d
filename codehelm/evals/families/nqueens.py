"""N-queens with blocked cells and pre-placed queens."""

from __future__ import annotations

import random
import re

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, to_int

Cell = tuple[int, int]

# difficulty -> (board size, blocked cells, pre-placed queens)
_LEVELS: dict[int, tuple[int, int, int]] = {1: (5, 2, 1), 2: (6, 4, 1), 3: (8, 6, 2)}


def random_solution(rng: random.Random, n: int) -> list[Cell]:
    """A random N-queens solution by backtracking with shuffled column order."""
    cols: list[int] = []

    def place(row: int) -> bool:
        if row == n:
            return True
        for col in rng.sample(range(n), n):
            if all(c != col and abs(c - col) != row - r for r, c in enumerate(cols)):
                cols.append(col)
                if place(row + 1):
                    return True
                cols.pop()
        return False

    place(0)
    return list(enumerate(cols))


def render(n: int, queens: list[Cell], blocked: list[Cell]) -> str:
    board = [["."] * n for _ in range(n)]
    for r, c in blocked:
        board[r][c] = "X"
    for r, c in queens:
        board[r][c] = "Q"
    return "\n".join("".join(row) for row in board)


_PAIR_RE = re.compile(r"[(\[]\s*(\d+)\s*[,;]\s*(\d+)\s*[)\]]")


def parse_queens(answer: str, n: int) -> list[Cell] | None:
    """Queen cells from "(r, c)" pairs, or from an n-line board of Q and . characters."""
    segment = answer_segment(answer, strip_periods=False)
    pairs = _PAIR_RE.findall(segment)
    if pairs:
        cells: list[Cell] = []
        for r, c in pairs:
            row, col = to_int(r), to_int(c)
            if row is None or col is None:
                return None
            cells.append((row, col))
        return cells
    rows = []
    for line in segment.splitlines():
        compact = re.sub(r"\s", "", line)
        if len(compact) == n + 1 and compact.endswith("."):  # a sentence-ending period
            compact = compact[:-1]
        if compact and re.fullmatch(r"[.QqXx_\-#*]+", compact):
            rows.append(compact)
    if len(rows) != n or any(len(row) != n for row in rows):
        return None
    return [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch in "Qq"]


def queens_problem(
    queens: list[Cell], n: int, blocked: list[Cell], preplaced: list[Cell]
) -> str | None:
    """The first violated constraint of a queen placement, or None."""
    for r, c in queens:
        if not (0 <= r < n and 0 <= c < n):
            return f"queen at ({r}, {c}) is off the {n}x{n} board"
    if len(set(queens)) != len(queens):
        return "a cell is listed more than once"
    if len(queens) != n:
        return f"expected {n} queens, got {len(queens)}"
    for cell in blocked:
        if cell in queens:
            return f"queen on blocked cell {cell}"
    for cell in preplaced:
        if cell not in queens:
            return f"pre-placed queen {cell} is missing"
    for i, (r1, c1) in enumerate(queens):
        for r2, c2 in queens[i + 1 :]:
            if r1 == r2:
                return f"queens ({r1}, {c1}) and ({r2}, {c2}) share a row"
            if c1 == c2:
                return f"queens ({r1}, {c1}) and ({r2}, {c2}) share a column"
            if abs(r1 - r2) == abs(c1 - c2):
                return f"queens ({r1}, {c1}) and ({r2}, {c2}) share a diagonal"
    return None


class NQueensFamily(TaskFamily):
    name = "nqueens"
    description = "Place N non-attacking queens avoiding blocked cells and keeping given queens."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        n, n_blocked, n_pre = _LEVELS[check_difficulty(difficulty)]
        solution = random_solution(rng, n)
        preplaced = sorted(rng.sample(solution, n_pre))
        free = [(r, c) for r in range(n) for c in range(n) if (r, c) not in solution]
        blocked = sorted(rng.sample(free, n_blocked))
        prompt = (
            f"Place {n} queens on this {n}x{n} board so no two share a row, column or "
            f"diagonal. Q = queen already placed (keep it), X = blocked, . = empty.\n"
            f"{render(n, preplaced, blocked)}\n"
            f"Answer with the {n} queen positions as (row, col) pairs, counting from 0 "
            f"at the top-left."
        )
        data = {
            "n": n,
            "blocked": [list(cell) for cell in blocked],
            "preplaced": [list(cell) for cell in preplaced],
        }
        reference = ", ".join(f"({r}, {c})" for r, c in solution)
        return self.make_item(difficulty, index, seed, prompt, data, reference)

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        n = int(item.data["n"])
        blocked = [(int(r), int(c)) for r, c in item.data["blocked"]]
        preplaced = [(int(r), int(c)) for r, c in item.data["preplaced"]]
        queens = parse_queens(answer, n)
        if queens is None:
            return CheckResult.fail("could not parse queen positions")
        problem = queens_problem(queens, n, blocked, preplaced)
        return CheckResult.fail(problem) if problem else CheckResult.ok()
