"""Every task family: deterministic generation, scaling difficulty, references accepted, and
independent brute-force solutions accepted by the checkers."""

from __future__ import annotations

import math
import random
import re
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from itertools import permutations, product
from statistics import mean
from typing import Any

import pytest

from codehelm.evals.tasks import (
    FAMILIES,
    CheckResult,
    EvalItem,
    TaskFamily,
    check_answer,
    generate_item,
    generate_items,
    get_family,
)

ALL = sorted(FAMILIES)
REQUIRED = {
    "multiplication",
    "letters",
    "game24",
    "sudoku",
    "nqueens",
    "string_rewrite",
    "run_length",
    "matrix",
    "operator_insertion",
    "arrangement",
    "path_planning",
}


# ----------------------------------------------------------------------------- registry


def test_registry_has_every_required_family() -> None:
    assert set(FAMILIES) >= REQUIRED
    assert len(FAMILIES) >= 10
    for name, family in FAMILIES.items():
        assert isinstance(family, TaskFamily)
        assert family.name == name
        assert family.description


def test_unknown_family_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown task family 'nope'") as info:
        generate_items(["sudoku", "nope"], n=2, seed=0)
    for name in FAMILIES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="known families"):
        get_family("nope")


def test_bad_difficulty_and_n_rejected() -> None:
    with pytest.raises(ValueError, match="difficulty"):
        generate_items(["multiplication"], n=1, seed=0, difficulty=4)
    with pytest.raises(ValueError, match="difficulty"):
        FAMILIES["sudoku"].generate(random.Random(0), 0, 0, 0)
    with pytest.raises(ValueError, match="n must be"):
        generate_items(["multiplication"], n=-1, seed=0)


def test_generate_items_shape_ids_and_cycling() -> None:
    items = generate_items(["multiplication", "letters"], n=5, seed=7)
    assert [item.family for item in items] == ["multiplication"] * 5 + ["letters"] * 5
    assert [item.difficulty for item in items[:5]] == [1, 2, 3, 1, 2]
    assert items[3].id == "multiplication-1-7-3"
    assert len({item.id for item in items}) == len(items)
    fixed = generate_items(["letters"], n=4, seed=7, difficulty=3)
    assert {item.difficulty for item in fixed} == {3}
    assert [item.id for item in fixed] == [f"letters-3-7-{i}" for i in range(4)]
    assert generate_items([], n=3, seed=0) == []
    assert generate_items(["sudoku"], n=0, seed=0) == []


def test_larger_n_extends_smaller_run() -> None:
    small = generate_items(["game24", "nqueens"], n=3, seed=11)
    large = generate_items(["game24", "nqueens"], n=5, seed=11)
    assert small[:3] == large[:3]
    assert small[3:] == large[5:8]


def test_check_answer_routes_and_rejects_foreign_items() -> None:
    item = generate_item("multiplication", 1, seed=0, index=0)
    assert check_answer(item, item.reference or "") == CheckResult(correct=True, reason="ok")
    verdict = FAMILIES["letters"].check(item, item.reference or "")
    assert not verdict.correct
    assert "belongs to family" in verdict.reason
    verdict = FAMILIES["multiplication"].check(item, 42)  # type: ignore[arg-type]
    assert not verdict.correct
    assert verdict.reason.startswith("could not parse")


# ------------------------------------------------------------------ per-family generation


@pytest.mark.parametrize("name", ALL)
def test_generation_is_deterministic(name: str) -> None:
    first = generate_items([name], n=6, seed=123)
    second = generate_items([name], n=6, seed=123)
    assert first == second
    assert [item.model_dump() for item in first] == [item.model_dump() for item in second]


@pytest.mark.parametrize("name", ALL)
def test_different_seeds_differ(name: str) -> None:
    a = generate_items([name], n=6, seed=1)
    b = generate_items([name], n=6, seed=2)
    assert [item.prompt for item in a] != [item.prompt for item in b]
    assert len({item.prompt for item in generate_items([name], n=9, seed=3)}) >= 6


@pytest.mark.parametrize("name", ALL)
def test_items_are_well_formed(name: str) -> None:
    for item in generate_items([name], n=6, seed=5):
        assert item.family == name
        assert item.id == f"{name}-{item.difficulty}-5-{item.id.rsplit('-', 1)[1]}"
        last_line = item.prompt.strip().splitlines()[-1]
        assert last_line.startswith("Answer"), last_line
        assert len(item.prompt) < 700
        assert item.reference
        round_tripped = EvalItem.model_validate_json(item.model_dump_json())
        assert round_tripped == item


def _size(name: str, data: dict[str, Any]) -> float:
    """A per-family measure of how big an item is."""
    if name == "multiplication":
        return sum(len(str(abs(v))) for v in data["operands"])
    if name == "letters":
        return len(data["text"])
    if name == "game24":
        return data["target"]
    if name == "sudoku":
        return sum(v == 0 for row in data["puzzle"] for v in row)
    if name == "nqueens":
        return data["n"]
    if name == "string_rewrite":
        return len(data["start"]) + len(data["rules"])
    if name in ("run_length",):
        return len(data["text"])
    if name == "matrix":
        return len(data["matrix"]) + len(data["ops"])
    if name in ("operator_insertion", "statistical_counting"):
        return len(data["numbers"])
    if name == "arrangement":
        return len(data["people"])
    if name == "path_planning":
        return data["size"] + len(data["regions"])
    raise AssertionError(f"no size measure for {name}")


@pytest.mark.parametrize("name", ALL)
def test_difficulty_scales_size(name: str) -> None:
    sizes = [
        mean(_size(name, item.data) for item in generate_items([name], 8, seed=9, difficulty=d))
        for d in (1, 2, 3)
    ]
    assert sizes[0] < sizes[1] < sizes[2], sizes


@pytest.mark.parametrize("name", ALL)
def test_references_are_accepted(name: str) -> None:
    family = FAMILIES[name]
    for seed in (0, 1):
        for item in generate_items([name], n=15, seed=seed):
            assert item.reference is not None
            verdict = family.check(item, item.reference)
            assert verdict == CheckResult(correct=True, reason="ok"), (item.prompt, verdict)
            # the checker relies only on JSON-serializable data
            restored = EvalItem.model_validate_json(item.model_dump_json())
            assert family.check(restored, f"Answer: {item.reference}").correct


# ------------------------------------------------- independent brute-force solvers


def solve_multiplication(data: dict[str, Any]) -> str:
    return str(math.prod(data["operands"]))


def solve_letters(data: dict[str, Any]) -> str:
    found = [str(i) for i, ch in enumerate(data["text"], 1) if ch == data["letter"]]
    return f"{len(found)}: {', '.join(found)}"


def solve_game24(data: dict[str, Any]) -> str:
    shapes = (
        "(({a}{x}{b}){y}{c}){z}{d}",
        "({a}{x}({b}{y}{c})){z}{d}",
        "({a}{x}{b}){y}({c}{z}{d})",
        "{a}{x}(({b}{y}{c}){z}{d})",
        "{a}{x}({b}{y}({c}{z}{d}))",
    )
    for a, b, c, d in set(permutations(data["numbers"])):
        for x, y, z in product("+-*/", repeat=3):
            for shape in shapes:
                expr = shape.format(a=a, b=b, c=c, d=d, x=x, y=y, z=z)
                fractional = re.sub(r"(\d+)", r"Fraction(\1)", expr)
                try:
                    value = eval(fractional, {"Fraction": Fraction})  # test-built strings only
                except ZeroDivisionError:
                    continue
                if value == data["target"]:
                    return expr
    raise AssertionError("unsolvable game24 item")


def solve_sudoku(data: dict[str, Any]) -> str:
    box = data["box"]
    side = box * box
    grid = [list(row) for row in data["puzzle"]]

    def options(r: int, c: int) -> set[int]:
        used = set(grid[r]) | {grid[i][c] for i in range(side)}
        br, bc = r - r % box, c - c % box
        used |= {grid[i][j] for i in range(br, br + box) for j in range(bc, bc + box)}
        return set(range(1, side + 1)) - used

    def search() -> bool:
        blanks = [(r, c) for r in range(side) for c in range(side) if grid[r][c] == 0]
        if not blanks:
            return True
        r, c = min(blanks, key=lambda cell: len(options(*cell)))
        for value in options(r, c):
            grid[r][c] = value
            if search():
                return True
        grid[r][c] = 0
        return False

    assert search()
    return "\n".join(" ".join(map(str, row)) for row in grid)


def solve_nqueens(data: dict[str, Any]) -> str:
    n = data["n"]
    blocked = {tuple(cell) for cell in data["blocked"]}
    pre = {tuple(cell) for cell in data["preplaced"]}
    for cols in permutations(range(n)):
        cells = set(enumerate(cols))
        if cells & blocked or not pre <= cells:
            continue
        if len({r - c for r, c in cells}) == n and len({r + c for r, c in cells}) == n:
            return "\n".join("".join("Q" if c == col else "." for c in range(n)) for col in cols)
    raise AssertionError("unsolvable nqueens item")


def solve_string_rewrite(data: dict[str, Any]) -> str:
    text = data["start"]
    for _ in range(data["max_steps"]):
        rule = next(((lhs, rhs) for lhs, rhs in data["rules"] if lhs in text), None)
        if rule is None:
            break
        text = text.replace(rule[0], rule[1], 1)
    return text


def solve_run_length(data: dict[str, Any]) -> str:
    total = 0
    for match in re.finditer(r"(.)\1*", data["text"]):
        letter, length = match.group(1), len(match.group(0))
        if data["rule"] == "square":
            total += length**2
        elif data["rule"] == "bonus":
            bonus = data["bonus"] if length >= data["bonus_min"] else 0
            total += data["values"][letter] * length + bonus
        elif length == 1:
            total -= data["penalty"]
        else:
            total += data["values"][letter] * length ** (1 if length % 2 == 0 else 2)
    return str(total)


def solve_matrix(data: dict[str, Any]) -> str:
    m = [[Fraction(v) for v in row] for row in data["matrix"]]
    for op in data["ops"]:
        if op["op"] == "rotate":
            for _ in range(op["degrees"] // 90):
                n_rows, n_cols = len(m), len(m[0])
                m = [[m[n_rows - 1 - j][i] for j in range(n_rows)] for i in range(n_cols)]
        else:
            w, s = op["window"], op["stride"]
            rows = range(0, len(m) - w + 1, s)
            cols = range(0, len(m[0]) - w + 1, s)
            windows = [
                [[m[r + i][c + j] for i in range(w) for j in range(w)] for c in cols] for r in rows
            ]
            if op["kind"] == "max":
                m = [[max(cell) for cell in row] for row in windows]
            else:
                m = [[sum(cell, Fraction(0)) / len(cell) for cell in row] for row in windows]

    def show(v: Fraction) -> str:
        return str(float(v)) if (v * 4).denominator == 1 else f"{v.numerator}/{v.denominator}"

    return "[" + ", ".join("[" + ", ".join(show(v) for v in row) + "]" for row in m) + "]"


def solve_operator_insertion(data: dict[str, Any]) -> str:
    numbers = data["numbers"]
    for ops in product("+-*", repeat=len(numbers) - 1):
        expr = str(numbers[0]) + "".join(
            op + str(n) for op, n in zip(ops, numbers[1:], strict=True)
        )
        if eval(expr) == data["target"]:  # test-built strings only
            return expr
    raise AssertionError("unsolvable operator_insertion item")


def solve_arrangement(data: dict[str, Any]) -> str:
    def ok(rule: dict[str, Any], seat: dict[str, int], n: int) -> bool:
        a = seat[rule["a"]]
        b = seat.get(rule.get("b", ""), 0)
        c = seat.get(rule.get("c", ""), 0)
        checks: dict[str, Callable[[], bool]] = {
            "at": lambda: a == rule["seat"],
            "not_at": lambda: a != rule["seat"],
            "end": lambda: a == 1 or a == n,
            "left_of": lambda: a < b,
            "right_of": lambda: b < a,
            "next_to": lambda: a - b in (1, -1),
            "not_next_to": lambda: a - b not in (1, -1),
            "between": lambda: b < a < c or c < a < b,
        }
        return checks[rule["kind"]]()

    people = data["people"]
    for order in permutations(people):
        seat = {name: i for i, name in enumerate(order, 1)}
        if all(ok(rule, seat, len(people)) for rule in data["constraints"]):
            return " -> ".join(order)
    raise AssertionError("unsolvable arrangement item")


def solve_path_planning(data: dict[str, Any]) -> str:
    size = data["size"]
    walls = {tuple(w) for w in data["walls"]}
    label_of = {tuple(cell): label for label, cells in data["regions"].items() for cell in cells}
    start = (tuple(data["start"]), frozenset[str]())
    queue = deque([(start, "")])
    seen = {start}
    while queue:
        (cell, labels), path = queue.popleft()
        if cell == tuple(data["goal"]) and labels == set(data["regions"]):
            return ", ".join(path)
        for move, (dr, dc) in {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}.items():
            nxt = (cell[0] + dr, cell[1] + dc)
            if not (0 <= nxt[0] < size and 0 <= nxt[1] < size) or nxt in walls:
                continue
            state = (nxt, labels | ({label_of[nxt]} if nxt in label_of else set()))
            if state not in seen:
                seen.add(state)
                queue.append((state, path + move))
    raise AssertionError("unsolvable path_planning item")


def solve_statistical_counting(data: dict[str, Any]) -> str:
    cond = data["condition"]
    tests: dict[str, Callable[[int], bool]] = {
        "greater": lambda v: v > cond["k"],
        "even_greater": lambda v: v > cond["k"] and not v % 2,
        "divisible_or_between": lambda v: not v % cond["m"] or cond["lo"] <= v <= cond["hi"],
    }
    return f"There are {sum(map(tests[cond['kind']], data['numbers']))}."


SOLVERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "multiplication": solve_multiplication,
    "letters": solve_letters,
    "game24": solve_game24,
    "sudoku": solve_sudoku,
    "nqueens": solve_nqueens,
    "string_rewrite": solve_string_rewrite,
    "run_length": solve_run_length,
    "matrix": solve_matrix,
    "operator_insertion": solve_operator_insertion,
    "arrangement": solve_arrangement,
    "path_planning": solve_path_planning,
    "statistical_counting": solve_statistical_counting,
}


def test_every_family_has_an_independent_solver() -> None:
    assert set(SOLVERS) == set(FAMILIES)


@pytest.mark.parametrize("name", ALL)
def test_independent_solutions_are_accepted(name: str) -> None:
    family = FAMILIES[name]
    for item in generate_items([name], n=12, seed=42):
        answer = SOLVERS[name](item.data)
        verdict = family.check(item, answer)
        assert verdict.correct, (item.prompt, answer, verdict)
