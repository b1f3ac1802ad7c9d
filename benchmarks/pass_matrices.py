"""Synthetic pass matrices with known ground truth, for measuring program selectors.

A selector of `codehelm.selection` (CodeT, B4, MaxPass, MBR-exec) sees only the pass matrix
``E``: which candidate program passes which generated test.  `synthetic_pass_matrix` draws ``E``
from the generative model behind B4 and also returns which programs are correct, so the
accuracy of each selector can be measured exactly (``benchmarks/selection.py``).

Benchmark machinery, not library API: import it as ``pass_matrices`` with ``benchmarks/`` on
``sys.path`` (running a script of this folder puts it there; the tests add it in
``tests/selection/conftest.py``).
"""

from __future__ import annotations

import random


def synthetic_pass_matrix(
    rng: random.Random,
    n_programs: int,
    n_tests: int,
    theta_x: float,
    theta_y: float,
    theta1: float,
    theta0: float,
    *,
    ensure_correct: bool = True,
) -> tuple[list[list[bool]], set[int]]:
    """Draw a pass matrix with known ground truth.

    Each program is correct with probability ``theta_x`` and each test with probability
    ``theta_y``, independently.  Then, entry by entry: a correct program passes every correct
    test and fails every wrong test; a wrong program passes a correct test with probability
    ``theta1`` and a wrong test with probability ``theta0``.

    With ``ensure_correct`` (the default) the program draw is repeated until at least one
    program is correct, i.e. the instance is drawn conditionally on a correct program existing;
    without it the returned set may be empty, which reports that no selector can succeed.

    Returns:
        ``(E, correct_programs)``: the N×M matrix as lists of bools and the indices of the
        correct programs.

    Raises:
        ValueError: sizes below 1, a probability outside [0, 1], or ``ensure_correct`` with
            ``theta_x == 0``.
    """
    if n_programs < 1 or n_tests < 1:
        raise ValueError(f"need n_programs >= 1 and n_tests >= 1, got {n_programs}, {n_tests}")
    for name, p in (
        ("theta_x", theta_x),
        ("theta_y", theta_y),
        ("theta1", theta1),
        ("theta0", theta0),
    ):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if ensure_correct and theta_x == 0.0:
        raise ValueError("theta_x = 0 never yields a correct program; pass ensure_correct=False")
    while True:
        program_ok = [rng.random() < theta_x for _ in range(n_programs)]
        if any(program_ok) or not ensure_correct:
            break
    test_ok = [rng.random() < theta_y for _ in range(n_tests)]
    matrix: list[list[bool]] = []
    for correct_program in program_ok:
        row: list[bool] = []
        for correct_test in test_ok:
            if correct_program:
                row.append(correct_test)
            else:
                row.append(rng.random() < (theta1 if correct_test else theta0))
        matrix.append(row)
    return matrix, {i for i, ok in enumerate(program_ok) if ok}
