"""The synthetic pass-matrix generator of the selection benchmark (benchmarks/pass_matrices.py)."""

from __future__ import annotations

import math
import random

import pytest
from pass_matrices import synthetic_pass_matrix


def test_synthetic_pass_matrix_follows_the_model() -> None:
    rng = random.Random(5)
    passes = {"wrong_x_correct_y": [0, 0], "wrong_x_wrong_y": [0, 0]}
    for _ in range(200):
        e, correct = synthetic_pass_matrix(rng, 8, 9, 0.4, 0.5, 0.3, 0.1)
        assert len(e) == 8 and all(len(row) == 9 for row in e)
        assert correct and correct <= set(range(8))
        # All correct programs share one row: the test-correctness vector.
        y = e[min(correct)]
        assert all(e[i] == y for i in correct)
        for i in set(range(8)) - correct:
            for j in range(9):
                key = "wrong_x_correct_y" if y[j] else "wrong_x_wrong_y"
                passes[key][0] += e[i][j]
                passes[key][1] += 1
    rate1 = passes["wrong_x_correct_y"][0] / passes["wrong_x_correct_y"][1]
    rate0 = passes["wrong_x_wrong_y"][0] / passes["wrong_x_wrong_y"][1]
    assert rate1 == pytest.approx(0.3, abs=0.03)
    assert rate0 == pytest.approx(0.1, abs=0.02)


def test_synthetic_pass_matrix_extremes_and_seed() -> None:
    e, correct = synthetic_pass_matrix(random.Random(1), 5, 4, 1.0, 1.0, 0.5, 0.5)
    assert correct == set(range(5)) and all(all(row) for row in e)
    e, correct = synthetic_pass_matrix(random.Random(1), 5, 4, 0.5, 0.0, 1.0, 0.0)
    assert not any(any(e[i]) for i in range(5))  # no correct test, wrong tests never passed
    e, correct = synthetic_pass_matrix(
        random.Random(1), 4, 4, 0.0, 0.5, 0.5, 0.5, ensure_correct=False
    )
    assert correct == set()
    # ensure_correct redraws the programs until one is correct, even when that is rare.
    for seed in range(50):
        _, correct = synthetic_pass_matrix(random.Random(seed), 3, 3, 0.05, 0.5, 0.5, 0.5)
        assert correct
    a = synthetic_pass_matrix(random.Random(9), 6, 7, 0.3, 0.5, 0.2, 0.1)
    b = synthetic_pass_matrix(random.Random(9), 6, 7, 0.3, 0.5, 0.2, 0.1)
    assert a == b


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 3, 0.5, 0.5, 0.5, 0.5), "n_programs"),
        ((3, 0, 0.5, 0.5, 0.5, 0.5), "n_tests"),
        ((3, 3, 1.5, 0.5, 0.5, 0.5), "theta_x"),
        ((3, 3, 0.5, -0.1, 0.5, 0.5), "theta_y"),
        ((3, 3, 0.5, 0.5, 2.0, 0.5), "theta1"),
        ((3, 3, 0.5, 0.5, 0.5, math.nan), "theta0"),
        ((3, 3, 0.0, 0.5, 0.5, 0.5), "ensure_correct"),
    ],
)
def test_synthetic_pass_matrix_validation(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synthetic_pass_matrix(random.Random(0), *args)  # type: ignore[arg-type]
