"""Grid path planning: walk from S to G around walls, visiting required regions."""

from __future__ import annotations

import random
import re
from collections import deque
from typing import Any

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, nonempty_lines

Cell = tuple[int, int]
MOVES: dict[str, Cell] = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}

# difficulty -> (grid size, wall fraction, region labels, cells per region, slack for max length)
_LEVELS: dict[int, tuple[int, float, str, int, int | None]] = {
    1: (5, 0.2, "A", 1, None),
    2: (6, 0.22, "A", 2, None),
    3: (8, 0.25, "AB", 2, 2),
}


def shortest_path(
    size: int, walls: set[Cell], start: Cell, goal: Cell, regions: list[set[Cell]]
) -> str | None:
    """A shortest move string from start to goal visiting every region, or None (BFS)."""
    full = (1 << len(regions)) - 1

    def mask_at(cell: Cell, mask: int) -> int:
        for i, region in enumerate(regions):
            if cell in region:
                mask |= 1 << i
        return mask

    first = (start, mask_at(start, 0))
    parent: dict[tuple[Cell, int], tuple[tuple[Cell, int], str] | None] = {first: None}
    queue = deque([first])
    while queue:
        state = queue.popleft()
        (r, c), mask = state
        if (r, c) == goal and mask == full:
            moves: list[str] = []
            link = parent[state]
            while link is not None:
                state, move = link
                moves.append(move)
                link = parent[state]
            return "".join(reversed(moves))
        for move, (dr, dc) in MOVES.items():
            cell = (r + dr, c + dc)
            if not (0 <= cell[0] < size and 0 <= cell[1] < size) or cell in walls:
                continue
            nxt = (cell, mask_at(cell, mask))
            if nxt not in parent:
                parent[nxt] = (state, move)
                queue.append(nxt)
    return None


def render(data: dict[str, Any]) -> str:
    size = int(data["size"])
    board = [["."] * size for _ in range(size)]
    for r, c in data["walls"]:
        board[r][c] = "#"
    for label, cells in data["regions"].items():
        for r, c in cells:
            board[r][c] = label
    board[data["start"][0]][data["start"][1]] = "S"
    board[data["goal"][0]][data["goal"][1]] = "G"
    return "\n".join("".join(row) for row in board)


_WORDS = {"up": "U", "down": "D", "left": "L", "right": "R"}


def parse_moves(answer: str) -> str | None:
    """Moves as a string of U/D/L/R from e.g. "RRDD", "R, R, D, D" or "right right down"."""
    segment = answer_segment(answer)
    for line in reversed(nonempty_lines(segment)):
        words = re.sub(
            r"\b(up|down|left|right)\b", lambda m: _WORDS[m.group(1).lower()], line, flags=re.I
        )
        compact = re.sub(r"[\s,;>\-→.'\"`]", "", words).upper()
        if compact and re.fullmatch(r"[UDLR]+", compact):
            return compact
    return None


def path_problem(data: dict[str, Any], moves: str) -> str | None:
    size = int(data["size"])
    walls = {(int(r), int(c)) for r, c in data["walls"]}
    r, c = int(data["start"][0]), int(data["start"][1])
    visited = {(r, c)}
    for step, move in enumerate(moves, 1):
        dr, dc = MOVES[move]
        r, c = r + dr, c + dc
        if not (0 <= r < size and 0 <= c < size):
            return f"move {step} ({move}) leaves the grid"
        if (r, c) in walls:
            return f"move {step} ({move}) walks into the wall at row {r}, column {c}"
        visited.add((r, c))
    goal = (int(data["goal"][0]), int(data["goal"][1]))
    if (r, c) != goal:
        return f"path ends at row {r}, column {c}, not at G"
    for label, cells in sorted(data["regions"].items()):
        if not visited & {(int(x), int(y)) for x, y in cells}:
            return f"region {label} is not visited"
    limit = data.get("max_moves")
    if limit is not None and len(moves) > int(limit):
        return f"path has {len(moves)} moves, more than the {limit} allowed"
    return None


class PathPlanningFamily(TaskFamily):
    name = "path_planning"
    description = "Find a U/D/L/R path from S to G avoiding walls and visiting regions."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        size, density, labels, per_region, slack = _LEVELS[check_difficulty(difficulty)]
        cells = [(r, c) for r in range(size) for c in range(size)]
        while True:
            picked = rng.sample(cells, 2 + len(labels) * per_region)
            start, goal = picked[0], picked[1]
            if abs(start[0] - goal[0]) + abs(start[1] - goal[1]) < size // 2:
                continue
            region_cells = picked[2:]
            regions = {
                label: sorted(region_cells[i * per_region : (i + 1) * per_region])
                for i, label in enumerate(labels)
            }
            free = [cell for cell in cells if cell not in picked]
            walls = set(rng.sample(free, int(len(cells) * density)))
            path = shortest_path(size, walls, start, goal, [set(v) for v in regions.values()])
            if path is not None:
                break
        data: dict[str, Any] = {
            "size": size,
            "walls": sorted([list(w) for w in walls]),
            "start": list(start),
            "goal": list(goal),
            "regions": {k: [list(cell) for cell in v] for k, v in regions.items()},
            "max_moves": None if slack is None else len(path) + slack,
        }
        visit = (
            f"region {labels}"
            if len(labels) == 1
            else f"regions {' and '.join(labels)} (any order)"
        )
        cells_word = "cells" if per_region > 1 else "cell"
        limit = "" if slack is None else f" Use at most {data['max_moves']} moves."
        prompt = (
            f"Grid (row 0 at the top): S start, G goal, # wall, . free, letters mark "
            f"region {cells_word}.\n{render(data)}\n"
            f"Walk from S to G with moves U, D, L, R, never leaving the grid or entering #, "
            f"and step on {visit} on the way.{limit}\n"
            "Answer with the moves as one string of U/D/L/R letters."
        )
        return self.make_item(difficulty, index, seed, prompt, data, path)

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        moves = parse_moves(answer)
        if moves is None:
            return CheckResult.fail("could not parse moves made of U, D, L, R")
        problem = path_problem(item.data, moves)
        return CheckResult.fail(problem) if problem else CheckResult.ok()
