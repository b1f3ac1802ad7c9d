"""The examples run offline on the embedded model and print a correct answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).parents[1] / "examples"


def run_example(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_custom_reviewer_example() -> None:
    out = run_example("custom_reviewer.py", "What is 2**40 - 1?")
    assert "answer: 1099511627775" in out


def test_two_models_example() -> None:
    out = run_example("two_models.py", "What is 1234 * 5678?")
    assert "answer: 7006652 (verified)" in out
    assert "checker_program: True" in out
