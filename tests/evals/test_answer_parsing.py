"""The shared lenient answer extraction, and cross-process stability of generation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest

from codehelm.evals.parsing import (
    answer_segment,
    expression_candidates,
    extract_integer,
    find_numbers,
    normalize_operators,
    parse_number,
)
from codehelm.evals.tasks import generate_items


@pytest.mark.parametrize(
    ("raw", "segment"),
    [
        ("42", "42"),
        ("  42 \n", "42"),
        ("Answer: 42.", "42"),
        ("answer = 42", "42"),
        ("The answer is 42!", "42"),
        ("Final answer: **42**", "42"),
        ("**Answer:** 42", "42"),
        ("Result: 42", "42"),
        ("```\n42\n```", "42"),
        ("```text\n42\n```", "42"),
        ("```42```", "42"),
        ("`42`", "42"),
        ('"abba"', "abba"),
        ("$42$", "42"),
        ("so \\boxed{42}.", "42"),
        ("```python\nprint(6 * 7)\n```\nAnswer: 42", "42"),
        ("Answer:\n```\n1 2\n3 4\n```", "1 2\n3 4"),
        ("42 is the answer", "42 is the answer"),
        ("```python\n# the answer: 41\nprint(42)\n```", "# the answer: 41\nprint(42)"),
    ],
)
def test_answer_segment(raw: str, segment: str) -> None:
    assert answer_segment(raw) == segment


def test_answer_segment_can_keep_periods() -> None:
    assert answer_segment("Answer:\n.Q..\n...Q", strip_periods=False) == ".Q..\n...Q"
    assert answer_segment("..Q.\n.Q..", strip_periods=False) == "..Q.\n.Q.."
    assert answer_segment("..Q.\n.Q..") == "..Q.\n.Q"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("42", 42),
        ("-42", -42),
        ("−42", -42),
        ("1,234,567", 1234567),
        ("Answer: 1,234,567.", 1234567),
        ("12 * 34 = 408", 408),
        ("42.0", 42),
        ("x = -7", -7),
        ("(-7)", -7),
        ("5-3", 3),
    ],
)
def test_extract_integer(raw: str, value: int) -> None:
    assert extract_integer(raw) == (value, "ok")


@pytest.mark.parametrize("raw", ["", "forty-two", "3.5", "Answer: 2.25", "1" * 5000])
def test_extract_integer_rejects(raw: str) -> None:
    value, reason = extract_integer(raw)
    assert value is None
    assert reason.startswith("could not parse")


def test_parse_number_and_find_numbers() -> None:
    assert parse_number("7/2") == Fraction(7, 2)
    assert parse_number("-7/2") == Fraction(-7, 2)
    assert parse_number("2.50") == Fraction(5, 2)
    assert parse_number("1,000") == 1000
    assert parse_number("1/0") is None
    assert parse_number("abc") is None
    assert parse_number("1e5") is None
    assert parse_number("9" * 500) is None
    assert find_numbers("a 1,000 b -2 c 3.5, 4") == [1000, -2, Fraction(7, 2), 4]


def test_expression_helpers() -> None:
    assert expression_candidates("(8-4)*(7-1) = 24") == ["(8-4)*(7-1)"]
    assert expression_candidates("24 = (8-4)*(7-1).") == ["(8-4)*(7-1)"]
    assert expression_candidates("steps\n8-4=4\n4*6") == ["4*6", "8-4"]
    assert normalize_operators("2 × 3 ÷ 4 − [1]") == "2 * 3 / 4 - (1)"
    assert normalize_operators("(2+3)x4 X 5") == "(2+3)*4*5"
    assert normalize_operators("2 \\times 3 \\div 4") == "2 * 3 / 4"


def test_generation_is_stable_across_processes() -> None:
    """Items depend only on the seed, not on hash randomization or process state."""
    names = ["game24", "sudoku", "arrangement", "path_planning", "letters"]
    here = [item.model_dump() for item in generate_items(names, n=3, seed=2024)]
    script = (
        "import json; from codehelm.evals.tasks import generate_items; "
        f"print(json.dumps([i.model_dump() for i in generate_items({names!r}, 3, 2024)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(here))
