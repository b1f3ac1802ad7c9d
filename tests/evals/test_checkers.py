"""Each checker: format leniency, and rejection of every violated constraint with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from codehelm.evals.tasks import FAMILIES, CheckResult, EvalItem, generate_items


def make(family: str, data: dict[str, Any], difficulty: int = 1) -> EvalItem:
    return EvalItem(family=family, id=f"{family}-test", difficulty=difficulty, prompt="", data=data)


def verdict(item: EvalItem, answer: str) -> CheckResult:
    return FAMILIES[item.family].check(item, answer)


def assert_ok(item: EvalItem, *answers: str) -> None:
    for answer in answers:
        result = verdict(item, answer)
        assert result == CheckResult(correct=True, reason="ok"), (answer, result)


def assert_wrong(item: EvalItem, answer: str, reason: str) -> None:
    result = verdict(item, answer)
    assert not result.correct, answer
    assert reason in result.reason, (answer, result.reason)


# ------------------------------------------------------------------------ multiplication

MUL = make("multiplication", {"operands": [12, 34, 101]})  # 41208


def test_multiplication_format_leniency() -> None:
    assert_ok(
        MUL,
        "41208",
        " 41208\n",
        "Answer: 41208.",
        "answer: 41,208",
        "The answer is 41208",
        "**Answer:** 41208",
        "```\n41208\n```",
        "```text\n41208\n```",
        "12 * 34 * 101 = 41208",
        "So the product is \\boxed{41208}.",
        "```python\nprint(12 * 34 * 101)\n```\nFinal answer: 41208",
        "41208.0",
    )
    assert_ok(make("multiplication", {"operands": [-12, 5]}), "-60", "Answer: −60.")


def test_multiplication_rejections() -> None:
    assert_wrong(MUL, "41209", "wrong value: got 41209, expected 41208")
    assert_wrong(MUL, "-41208", "wrong value")
    assert_wrong(MUL, "4120.8", "could not parse an integer")
    assert_wrong(MUL, "forty-one thousand", "could not parse an integer")
    assert_wrong(MUL, "", "could not parse")
    assert_wrong(MUL, "41208 or maybe 41209", "wrong value")


# ------------------------------------------------------------------------------ letters

STRAW = make("letters", {"text": "strawberry", "letter": "r"})  # 3: 3, 8, 9


def test_letters_format_leniency() -> None:
    assert_ok(
        STRAW,
        "3: 3, 8, 9",
        "Answer: 3: 3, 8, 9.",
        "3: [3, 8, 9]",
        "3: 3 8 9",
        "3: 3, 8 and 9",
        "3:3,8,9",
        "```\n3: 3, 8, 9\n```",
        "The letter r appears 3 times, at positions 3, 8, 9.",
        "Counting...\n3: 9, 8, 3",
    )
    absent = make("letters", {"text": "hello", "letter": "z"})
    assert_ok(absent, "0:", "0: none", "0", "Answer: 0")


def test_letters_rejections() -> None:
    assert_wrong(STRAW, "2: 3, 8", "wrong count: got 2, expected 3")
    assert_wrong(STRAW, "3: 3, 8, 10", "wrong positions")
    assert_wrong(STRAW, "3: 2, 7, 8", "wrong positions")  # 0-based
    assert_wrong(STRAW, "3: 3, 8", "does not match")
    assert_wrong(STRAW, "3: 3, 8, 9, 9", "more than once")
    assert_wrong(STRAW, "3: 3, 3, 8", "more than once")
    assert_wrong(STRAW, "three", "could not parse")
    assert_wrong(STRAW, "", "could not parse")
    phrase = make("letters", {"text": "a big cat", "letter": "a"})  # spaces count
    assert_ok(phrase, "2: 1, 8")
    assert_wrong(phrase, "2: 1, 6", "wrong positions")


# ------------------------------------------------------------------------------- game24

G24 = make("game24", {"numbers": [1, 2, 3, 4], "target": 24})
G88 = make("game24", {"numbers": [4, 7, 8, 8], "target": 24})


def test_game24_format_leniency() -> None:
    assert_ok(
        G24,
        "1*2*3*4",
        "(1+2+3)*4",
        "Answer: (1 + 2 + 3) × 4 = 24.",
        "24 = 4*3*2*1",
        "```\n4 * (3 + 2 + 1)\n```",
        "```python\n(1+2+3)*4\n```",
        "[(1 + 2) + 3] * 4",
        "\\boxed{(1+2+3) \\times 4}",
        "(1+2+3)x4",
        "Let me think.\n(1+2+3)*4",
    )
    assert_ok(G88, "(7-8/8)*4", "4 * (7 - 8 ÷ 8)")
    big = make("game24", {"numbers": [3, 5, 10, 13], "target": 100}, difficulty=3)
    assert_ok(big, "5 * (10 + 13 - 3)")


def test_game24_rejections() -> None:
    assert_wrong(G24, "4*3*2*1*1", "number 1 used 2 times, must be used 1 times")
    assert_wrong(G24, "4*3*2", "number 1 is not used")
    assert_wrong(G24, "4*3*2*1+5-5", "number 5 is not one of the given numbers")
    assert_wrong(G24, "1+2+3+4", "expression equals 10, not 24")
    assert_wrong(G88, "(8-4)*(7-1)", "number 1 is not one of the given numbers")
    assert_wrong(G88, "8*(7-4)", "number 8 used 1 times, must be used 2 times")
    assert_wrong(G24, "__import__('os').system('true')", "could not parse expression")
    assert_wrong(G24, "abs(1-2)*3*4*2", "could not parse expression")
    assert_wrong(G24, "4**2+3+2+1", "Pow is not allowed")
    assert_wrong(G24, "4*3*2//1", "FloorDiv is not allowed")
    assert_wrong(G24, "(4*3*2)%5+1", "Mod is not allowed")
    assert_wrong(G24, "-1+2+3*4*2", "unary operators are not allowed")
    assert_wrong(G24, "4*3*2/(1-1)", "division by zero")
    assert_wrong(G24, "4*3*2*1.0", "could not parse expression")
    assert_wrong(G24, "4*3*2*(1", "could not parse expression")
    assert_wrong(G24, "(" * 150 + "1" + ")" * 150 + "*2*3*4", "could not parse expression")
    assert_wrong(G24, "1" + "+0" * 150, "could not parse expression")  # too long
    assert_wrong(G24, "I cannot solve this", "could not parse")
    assert_wrong(G24, "", "could not parse")
    assert_wrong(G24, "True*24", "could not parse expression")


def test_game24_generated_targets() -> None:
    for item in generate_items(["game24"], n=9, seed=3):
        if item.difficulty == 1:
            assert item.data["target"] == 24
        else:
            assert item.data["target"] > 24
        assert len(item.data["numbers"]) == 4


# ------------------------------------------------------------------------------- sudoku

SOLVED_4 = ["1234", "3412", "2143", "4321"]
PUZZLE_4 = [[1, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]]
SUDOKU = make("sudoku", {"box": 2, "puzzle": PUZZLE_4})
EMPTY_4 = make("sudoku", {"box": 2, "puzzle": [[0] * 4 for _ in range(4)]})


def test_sudoku_format_leniency() -> None:
    assert_ok(
        SUDOKU,
        "\n".join(SOLVED_4),
        "1 2 3 4\n3 4 1 2\n2 1 4 3\n4 3 2 1",
        "1,2,3,4\n3,4,1,2\n2,1,4,3\n4,3,2,1",
        "Answer:\n```\n1234\n3412\n2143\n4321\n```",
        "| 1 2 | 3 4 |\n| 3 4 | 1 2 |\n|-----+-----|\n| 2 1 | 4 3 |\n| 4 3 | 2 1 |",
        "[[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]]",
        "1234341221434321",
        "Here is the solution:\n1234\n3412\n2143\n4321.",
    )


def test_sudoku_rejections() -> None:
    assert_wrong(EMPTY_4, "1234\n3412\n2143\n4322", "row 4 repeats a digit")
    assert_wrong(EMPTY_4, "2134\n3412\n2143\n4321", "column 1 repeats a digit")
    assert_wrong(EMPTY_4, "1234\n2341\n3412\n4123", "box 1 repeats a digit")  # Latin square
    relabelled = "2134\n3421\n1243\n4312"  # a valid sudoku with 1 and 2 swapped
    assert_ok(EMPTY_4, relabelled)
    assert_wrong(SUDOKU, relabelled, "given 1 at row 1, column 1 was changed")
    assert_wrong(SUDOKU, "1234\n3412\n2143", "could not parse 4 lines of 4 digits")
    assert_wrong(SUDOKU, "12345\n34125\n21435\n43215", "could not parse")
    assert_wrong(SUDOKU, "1234\n3412\n2143\n4321\n1234", "could not parse")
    assert_wrong(SUDOKU, "1234\n34a2\n2143\n4321", "could not parse")
    assert_wrong(SUDOKU, "1234\n3412\n2143\n432.", "row 4, column 4 is not a digit 1-4")
    assert_wrong(SUDOKU, "1234\n3412\n2153\n4321", "row 3, column 3 is not a digit 1-4")
    assert_wrong(SUDOKU, "1234\n3412\n2103\n4321", "is not a digit")
    assert_wrong(SUDOKU, "no idea", "could not parse")


def test_sudoku_9x9_given_changed_and_duplicates() -> None:
    item = generate_items(["sudoku"], n=1, seed=4, difficulty=3)[0]
    assert item.reference is not None
    rows = [list(row) for row in item.reference.splitlines()]
    assert len(rows) == 9 and all(len(row) == 9 for row in rows)
    r, c = next((r, c) for r in range(9) for c in range(9) if item.data["puzzle"][r][c])
    rows[r][c] = str(int(rows[r][c]) % 9 + 1)
    assert_wrong(item, "\n".join(map("".join, rows)), "was changed")
    blanks = [(r, c) for r in range(9) for c in range(9) if not item.data["puzzle"][r][c]]
    rows = [list(row) for row in item.reference.splitlines()]
    r, c = blanks[0]
    other = next(j for j in range(9) if j != c)
    rows[r][c] = rows[r][other]
    assert_wrong(item, "\n".join(map("".join, rows)), "repeats a digit")


# ------------------------------------------------------------------------------ nqueens

# 4-queens solutions: (0,1) (1,3) (2,0) (3,2) and its mirror (0,2) (1,0) (2,3) (3,1)
QUEENS = make("nqueens", {"n": 4, "blocked": [[0, 0], [2, 2]], "preplaced": [[0, 1]]})


def test_nqueens_format_leniency() -> None:
    assert_ok(
        QUEENS,
        "(0, 1), (1, 3), (2, 0), (3, 2)",
        "Answer: (3,2) (2,0) (1,3) (0,1).",
        "[[0, 1], [1, 3], [2, 0], [3, 2]]",
        ".Q..\n...Q\nQ...\n..Q.",
        "Answer:\n```\n. Q . .\n. . . Q\nQ . . .\n. . Q .\n```",
        "X Q . .\n. . . Q\nQ . X .\n. . Q .",
    )


def test_nqueens_rejections() -> None:
    assert_wrong(QUEENS, "(0, 2), (1, 0), (2, 3), (3, 1)", "pre-placed queen (0, 1) is missing")
    assert_wrong(QUEENS, "(0, 1), (1, 3), (2, 2), (3, 0)", "queen on blocked cell (2, 2)")
    assert_wrong(QUEENS, "(0, 1), (0, 3), (2, 0), (3, 2)", "share a row")
    assert_wrong(QUEENS, "(0, 1), (1, 1), (2, 0), (3, 2)", "share a column")
    assert_wrong(QUEENS, "(0, 1), (1, 2), (2, 0), (3, 3)", "share a diagonal")
    assert_wrong(QUEENS, "(0, 1), (1, 3), (2, 0)", "expected 4 queens, got 3")
    assert_wrong(QUEENS, "(0, 1), (1, 3), (2, 0), (3, 2), (3, 3)", "expected 4 queens, got 5")
    assert_wrong(QUEENS, "(0, 1), (0, 1), (2, 0), (3, 2)", "listed more than once")
    assert_wrong(QUEENS, "(0, 1), (1, 3), (2, 0), (4, 2)", "off the 4x4 board")
    assert_wrong(QUEENS, ".Q..\n...Q\nQ...", "could not parse")
    assert_wrong(QUEENS, "queens everywhere", "could not parse")


# ------------------------------------------------------------------------ string_rewrite


def rewrite_item(start: str, rules: list[list[str]], steps: int, alphabet: str = "abc") -> EvalItem:
    data = {"alphabet": alphabet, "start": start, "rules": rules, "max_steps": steps}
    return make("string_rewrite", data)


def test_string_rewrite_semantics() -> None:
    # first rule wins: aab -> ab -> b, then nothing applies
    assert_ok(rewrite_item("aab", [["ab", "b"], ["a", "c"]], 10), "b")
    # leftmost occurrence only, and the step limit is honoured
    assert_ok(rewrite_item("aba", [["a", "c"]], 1), "cba")
    assert_wrong(rewrite_item("aba", [["a", "c"]], 1), "abc", "wrong final string")
    assert_ok(rewrite_item("a", [["a", "aa"]], 3), "aaaa")


def test_string_rewrite_format_and_rejections() -> None:
    item = rewrite_item("aab", [["ab", "b"], ["a", "c"]], 10, alphabet="abc")
    assert_ok(item, "Answer: b.", "`b`", '"b"', "The final string is b", "```\nb\n```")
    assert_wrong(item, "c", "wrong final string: got 'c', expected 'b'")
    assert_wrong(item, "bb", "wrong final string")
    assert_wrong(item, "xyz", "could not parse")
    assert_wrong(item, "", "could not parse")


# ---------------------------------------------------------------------------- run_length


def test_run_length_rules() -> None:
    square = make("run_length", {"text": "aabbba", "rule": "square"})  # 4 + 9 + 1
    assert_ok(square, "14", "Answer: 14.", "The total score is **14**")
    assert_wrong(square, "13", "wrong score: got 13, expected 14")
    bonus = {"text": "aabbba", "values": {"a": 2, "b": 3}, "bonus": 5, "bonus_min": 3}
    assert_ok(make("run_length", {**bonus, "rule": "bonus"}), "20")  # 4 + (9 + 5) + 2
    parity = {"text": "aabbba", "values": {"a": 2, "b": 3}, "penalty": 1, "rule": "parity"}
    assert_ok(make("run_length", parity), "30")  # 4 + 27 - 1
    assert_wrong(make("run_length", parity), "31", "wrong score")
    assert_wrong(make("run_length", parity), "thirty", "could not parse")


# -------------------------------------------------------------------------------- matrix


def matrix_item(matrix: list[list[int]], *ops: dict[str, Any]) -> EvalItem:
    return make("matrix", {"matrix": matrix, "ops": list(ops)})


def rot(degrees: int) -> dict[str, Any]:
    return {"op": "rotate", "degrees": degrees}


def pool(kind: str, window: int, stride: int) -> dict[str, Any]:
    return {"op": "pool", "kind": kind, "window": window, "stride": stride}


def test_matrix_rotations() -> None:
    m = [[1, 2], [3, 4]]
    assert_ok(matrix_item(m, rot(90)), "3 1\n4 2")
    assert_ok(matrix_item(m, rot(180)), "4 3\n2 1")
    assert_ok(matrix_item(m, rot(270)), "2 4\n1 3")
    assert_wrong(matrix_item(m, rot(90)), "2 4\n1 3", "wrong value at row 1, column 1")
    rect = [[1, 2, 3], [4, 5, 6]]
    assert_ok(matrix_item(rect, rot(90)), "4 1\n5 2\n6 3")


def test_matrix_pooling() -> None:
    m = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert_ok(matrix_item(m, pool("average", 2, 1)), "3 4\n6 7")
    assert_ok(matrix_item(m, pool("max", 2, 1)), "5 6\n8 9")
    assert_ok(matrix_item(m, pool("max", 3, 1)), "9")
    avg = matrix_item([[1, 2], [3, 5]], pool("average", 2, 2))  # 11/4
    assert_ok(avg, "11/4", "2.75", "Answer: 11 / 4.", "[[2.75]]")
    assert_wrong(avg, "2.7", "wrong value")
    assert_wrong(avg, "3", "wrong value")
    assert_ok(matrix_item([[1, 2, 3], [4, 5, 6]], rot(90), pool("max", 2, 1)), "5\n6")
    thirds = matrix_item([[1, 2, 3], [4, 5, 6], [7, 8, 10]], pool("average", 3, 1))  # 46/9
    assert_ok(thirds, "46/9", "[[46/9]]", "Answer:\n46 / 9")
    assert_wrong(thirds, "5.11", "wrong value at row 1, column 1: got 511/100, expected 46/9")
    assert_wrong(thirds, "5", "wrong value")


def test_matrix_format_leniency_and_shape() -> None:
    item = matrix_item([[1, 2], [3, 4]], rot(90))
    assert_ok(
        item,
        "[[3, 1], [4, 2]]",
        "[\n  [3, 1],\n  [4, 2]\n]",
        "[[3.0, 1.0], [4.0, 2.0]]",
        "Answer: [[3,1],[4,2]]",
        "3, 1\n4, 2",
        "[3, 1]\n[4, 2]",
        "| 3 | 1 |\n| 4 | 2 |",
        "```\n3 1\n4 2\n```",
        "The rotated matrix is:\n3 1\n4 2",
    )
    assert_wrong(item, "3 1", "wrong shape: expected 2 rows of 2 numbers, got 1 rows")
    assert_wrong(item, "3 1 0\n4 2 0", "wrong shape")
    assert_wrong(item, "3 1\n4 2\n5 6", "wrong shape")
    assert_wrong(item, "[[3, 1], [4]]", "wrong shape")
    assert_wrong(item, "a b\nc d", "could not parse")
    assert_wrong(item, "", "could not parse")


# -------------------------------------------------------------------- operator_insertion

OPS = make("operator_insertion", {"numbers": [2, 3, 4], "target": 14})


def test_operator_insertion_format_leniency() -> None:
    assert_ok(OPS, "2+3*4", "2 + 3 × 4 = 14", "Answer: 2 + 3 * 4.", "2+3x4", "```\n2 + 3*4\n```")
    neg = make("operator_insertion", {"numbers": [1, 2, 3, 4], "target": -9})
    assert_ok(neg, "1 - 2 * 3 - 4", "1 − 2 × 3 − 4")


def test_operator_insertion_rejections() -> None:
    assert_wrong(OPS, "2*3+4", "expression equals 10, not 14")
    twenty = make("operator_insertion", {"numbers": [2, 3, 4], "target": 20})
    assert_wrong(twenty, "(2+3)*4", "parentheses are not allowed")
    assert_wrong(OPS, "2+4*3", "numbers must be 2 3 4 in this order")
    assert_wrong(OPS, "23-9", "numbers must be 2 3 4")  # digits joined
    assert_wrong(OPS, "2+3*4+0", "numbers must be 2 3 4")  # extra number
    assert_wrong(OPS, "2+12", "numbers must be")  # a number missing
    assert_wrong(OPS, "2/3*4", "operator / is not allowed")
    assert_wrong(OPS, "2**3+4", "operator ** is not allowed")
    assert_wrong(OPS, "-2+3*4", "could not parse")
    assert_wrong(OPS, "2 3*4", "could not parse")
    assert_wrong(OPS, "2+*3*4", "could not parse")
    assert_wrong(OPS, "__import__('os')", "could not parse")
    assert_wrong(OPS, "", "could not parse")


# ---------------------------------------------------------------------------- arrangement

PEOPLE = ["Ann", "Ben", "Cal", "Dee"]


def arrangement(*constraints: dict[str, Any]) -> EvalItem:
    return make("arrangement", {"people": PEOPLE, "constraints": list(constraints)})


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ({"kind": "left_of", "a": "Ann", "b": "Ben"}, "Ann Cal Dee Ben", "Ben Ann Cal Dee"),
        ({"kind": "right_of", "a": "Ann", "b": "Ben"}, "Ben Cal Ann Dee", "Ann Ben Cal Dee"),
        ({"kind": "next_to", "a": "Ann", "b": "Dee"}, "Cal Dee Ann Ben", "Ann Cal Dee Ben"),
        ({"kind": "not_next_to", "a": "Ann", "b": "Dee"}, "Ann Cal Dee Ben", "Dee Ann Cal Ben"),
        ({"kind": "at", "a": "Cal", "seat": 3}, "Ann Ben Cal Dee", "Cal Ann Ben Dee"),
        ({"kind": "not_at", "a": "Cal", "seat": 3}, "Cal Ann Ben Dee", "Ann Ben Cal Dee"),
        ({"kind": "end", "a": "Dee"}, "Ann Ben Cal Dee", "Ann Dee Cal Ben"),
        ({"kind": "between", "a": "Ann", "b": "Ben", "c": "Cal"}, "Cal Ann Dee Ben",
         "Ann Cal Ben Dee"),
    ],
)  # fmt: skip
def test_arrangement_each_constraint(constraint: dict[str, Any], good: str, bad: str) -> None:
    item = arrangement(constraint)
    assert_ok(item, good)
    assert_wrong(item, bad, "constraint violated")


def test_arrangement_format_and_rejections() -> None:
    item = arrangement(
        {"kind": "left_of", "a": "Ann", "b": "Ben"}, {"kind": "at", "a": "Dee", "seat": 1}
    )
    assert_ok(
        item,
        "Dee, Ann, Cal, Ben",
        "Answer: Dee, Ann, Ben, Cal.",
        "1. Dee\n2. Ann\n3. Cal\n4. Ben",
        "dee -> ann -> cal -> ben",
        "```\nDee, Ann, Cal, Ben\n```",
    )
    assert_wrong(item, "Dee, Ben, Cal, Ann", "constraint violated: Ann sits somewhere left of Ben")
    assert_wrong(item, "Ann, Dee, Cal, Ben", "constraint violated: Dee sits in seat 1")
    assert_wrong(item, "Dee, Ann, Cal", "missing: Ben")
    assert_wrong(item, "Dee, Ann, Cal, Ben, Ann", "Ann appears 2 times")
    assert_wrong(item, "nobody", "could not parse")


# -------------------------------------------------------------------------- path_planning

# S . .
# # A .
# . . G
GRID: dict[str, Any] = {
    "size": 3,
    "walls": [[1, 0]],
    "start": [0, 0],
    "goal": [2, 2],
    "regions": {"A": [[1, 1]]},
    "max_moves": None,
}


def test_path_planning_format_leniency() -> None:
    item = make("path_planning", GRID)
    assert_ok(
        item,
        "RDDR",
        "RDRD",
        "Answer: RDDR.",
        "R, D, D, R",
        "R D D R",
        "rddr",
        "right down down right",
        "R -> D -> D -> R",
        "```\nRDDR\n```",
        "First I go right, then down.\nRDDR",
    )
    assert_ok(item, "RRLDDR")  # detours are fine without a move limit


def test_path_planning_rejections() -> None:
    item = make("path_planning", GRID)
    assert_wrong(item, "DRRD", "move 1 (D) walks into the wall at row 1, column 0")
    assert_wrong(item, "URDDR", "move 1 (U) leaves the grid")
    assert_wrong(item, "RRRDD", "move 3 (R) leaves the grid")
    assert_wrong(item, "RRDD", "region A is not visited")
    assert_wrong(item, "RDD", "path ends at row 2, column 1, not at G")
    assert_wrong(item, "RDDRU", "not at G")
    limited = make("path_planning", {**GRID, "max_moves": 4})
    assert_ok(limited, "RDDR")
    assert_wrong(limited, "RRLDDR", "path has 6 moves, more than the 4 allowed")
    two = make("path_planning", {**GRID, "regions": {"A": [[1, 1]], "B": [[0, 2], [2, 0]]}})
    assert_ok(two, "RDDLRR", "RRDLDR")
    assert_wrong(two, "RDDR", "region B is not visited")
    assert_wrong(item, "RDXR", "could not parse")
    assert_wrong(item, "go to the goal", "could not parse")
    assert_wrong(item, "", "could not parse")


# -------------------------------------------------------------------- statistical_counting


def test_statistical_counting() -> None:
    numbers = [1, 5, 10, 12, 15]
    greater = make(
        "statistical_counting", {"numbers": numbers, "condition": {"kind": "greater", "k": 5}}
    )
    assert_ok(greater, "3", "Answer: 3.", "There are 3 such numbers")
    assert_wrong(greater, "4", "wrong count: got 4, expected 3")
    even = {"kind": "even_greater", "k": 5}
    assert_ok(make("statistical_counting", {"numbers": numbers, "condition": even}), "2")
    either = {"kind": "divisible_or_between", "m": 5, "lo": 11, "hi": 12}
    item = make("statistical_counting", {"numbers": numbers, "condition": either})
    assert_ok(item, "4")  # 5, 10, 15 divisible; 12 between
    assert_wrong(item, "none", "could not parse")
