"""Selecting among candidate programs with generated tests (execution-based selection).

``E`` is the N×M pass matrix: ``E[i][j]`` is True when candidate program ``i`` passes generated
test ``j``.  Neither the programs nor the tests are known to be correct.  Every selector returns a
`Selection` (chosen program indices, score, method name, full ranking), so callers can swap
methods freely:

========================  ==================================================================
`select_random`           one program uniformly at random (baseline)
`select_max_pass`         the programs that pass the most tests (MaxPass)
`select_mbr_exec`         the largest group of identical pass rows (MBR-exec)
`select_codet`            CodeT dual execution agreement: #programs × #tests passed
`select_b4`               B4: maximum a posteriori group under a Beta-Bernoulli model
========================  ==================================================================

Ties are broken deterministically in favour of the group whose first program has the lowest
index.  Pure functions, standard library only.  ``benchmarks/selection.py`` measures the accuracy
of each selector on synthetic pass matrices with known ground truth.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PassMatrix",
    "RankedGroup",
    "Selection",
    "log_beta",
    "select_b4",
    "select_codet",
    "select_max_pass",
    "select_mbr_exec",
    "select_random",
    "validate_pass_matrix",
]

PassMatrix = Sequence[Sequence[bool]]
"""N×M matrix of candidate programs (rows) × generated tests (columns); True = the test passes."""

Row = tuple[bool, ...]


# --------------------------------------------------------------------------------------------
# Pass matrices and selection results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedGroup:
    """One candidate group of programs and the score a method gave it."""

    indices: tuple[int, ...]
    score: float


@dataclass(frozen=True)
class Selection:
    """The result of every program selector.

    Attributes:
        method: name of the method (``"random"``, ``"max_pass"``, ``"mbr_exec"``, ``"codet"``,
            ``"codet_sqrt"``, ``"b4"``).
        indices: the chosen programs, ascending.  For group-based methods this is the whole
            chosen group; its members are interchangeable for the method (for MBR-exec, CodeT
            and B4 they even have identical pass rows).
        score: the chosen group's score (its meaning depends on the method).
        ranking: every candidate group, best first; ``ranking[0]`` is the chosen one.
    """

    method: str
    indices: tuple[int, ...]
    score: float
    ranking: tuple[RankedGroup, ...]

    @property
    def program(self) -> int:
        """One chosen program: the lowest index of the chosen group."""
        return self.indices[0]


def validate_pass_matrix(matrix: PassMatrix) -> tuple[Row, ...]:
    """Check that ``matrix`` is a non-empty rectangular matrix of booleans; return it as tuples.

    Entries may be ``bool`` or anything equal to 0 or 1 (``int``, numpy booleans).

    Raises:
        ValueError: no rows, no columns, rows of different lengths, or a non-boolean entry.
    """
    if isinstance(matrix, str | bytes):
        raise ValueError("the pass matrix must be a sequence of rows of booleans, not a string")
    rows = list(matrix)
    if not rows:
        raise ValueError("the pass matrix is empty: need at least one candidate program (row)")
    n_tests: int | None = None
    result: list[Row] = []
    for i, raw in enumerate(rows):
        if isinstance(raw, str | bytes):
            raise ValueError(f"row {i} of the pass matrix is a string; expected booleans")
        try:
            values = list(raw)
        except TypeError:
            raise ValueError(f"row {i} of the pass matrix is not a sequence: {raw!r}") from None
        if n_tests is None:
            n_tests = len(values)
            if n_tests == 0:
                raise ValueError("the pass matrix has no columns: need at least one test")
        elif len(values) != n_tests:
            raise ValueError(
                f"the pass matrix is not rectangular: row 0 has {n_tests} entries, "
                f"row {i} has {len(values)}"
            )
        row: list[bool] = []
        for j, value in enumerate(values):
            if isinstance(value, str | bytes):
                raise ValueError(f"entry [{i}][{j}] of the pass matrix is not boolean: {value!r}")
            if value is True or value == 1:
                row.append(True)
            elif value is False or value == 0:
                row.append(False)
            else:
                raise ValueError(f"entry [{i}][{j}] of the pass matrix is not boolean: {value!r}")
        result.append(tuple(row))
    return tuple(result)


def _groups(rows: Sequence[Row]) -> dict[Row, list[int]]:
    """Programs grouped by identical pass rows, groups in order of first occurrence."""
    groups: dict[Row, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row, []).append(i)
    return groups


def _ranked(
    method: str,
    groups: Sequence[tuple[Sequence[int], float]],
    keys: Sequence[float] | None = None,
) -> Selection:
    """Rank groups by score (or by ``keys``, an order-equivalent exact key) descending.

    ``groups`` must be in order of first occurrence; the sort is stable, so ties keep that
    order and the earliest group wins.
    """
    sort_keys = [score for _, score in groups] if keys is None else list(keys)
    order = sorted(range(len(groups)), key=lambda g: -sort_keys[g])
    ranking = tuple(
        RankedGroup(indices=tuple(sorted(groups[g][0])), score=groups[g][1]) for g in order
    )
    best = ranking[0]
    return Selection(method=method, indices=best.indices, score=best.score, ranking=ranking)


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


def select_random(matrix: PassMatrix, rng: random.Random) -> Selection:
    """Baseline: one program uniformly at random (the pass matrix is only validated).

    The ranking is a uniformly random permutation of all programs, each scored 1/N (its chance
    of being chosen); the chosen program is the first of it.
    """
    rows = validate_pass_matrix(matrix)
    n = len(rows)
    order = rng.sample(range(n), n)
    ranking = tuple(RankedGroup(indices=(i,), score=1.0 / n) for i in order)
    return Selection(method="random", indices=ranking[0].indices, score=1.0 / n, ranking=ranking)


def select_max_pass(matrix: PassMatrix) -> Selection:
    """MaxPass: the programs that pass the most tests.

    Programs are grouped by their number of passed tests (score); the chosen group holds every
    program tied at the maximum, which may have different pass rows.
    """
    rows = validate_pass_matrix(matrix)
    by_count: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_count.setdefault(sum(row), []).append(i)
    return _ranked("max_pass", [(members, float(count)) for count, members in by_count.items()])


def select_mbr_exec(matrix: PassMatrix) -> Selection:
    """MBR-exec: the largest group of programs with identical pass rows (score = group size)."""
    rows = validate_pass_matrix(matrix)
    groups = _groups(rows)
    return _ranked("mbr_exec", [(members, float(len(members))) for members in groups.values()])


# --------------------------------------------------------------------------------------------
# CodeT
# --------------------------------------------------------------------------------------------


def select_codet(matrix: PassMatrix, sqrt_programs: bool = False) -> Selection:
    """CodeT dual execution agreement.

    Programs with identical pass rows form a consensus group; a group's score is
    ``(#programs in it) × (#tests its row passes)``, or ``√#programs × #tests`` when
    ``sqrt_programs`` is set (as in CodeT's released code).  The best group is chosen; ties go to
    the group that occurs first.
    """
    rows = validate_pass_matrix(matrix)
    groups = _groups(rows)
    scored: list[tuple[Sequence[int], float]] = []
    keys: list[float] = []
    for row, members in groups.items():
        n_programs, n_tests = len(members), sum(row)
        if sqrt_programs:
            scored.append((members, math.sqrt(n_programs) * n_tests))
            # √n·t orders exactly like the integer n·t² (both are non-negative), so ties are
            # detected without floating-point error.
            keys.append(float(n_programs * n_tests * n_tests))
        else:
            scored.append((members, float(n_programs * n_tests)))
            keys.append(float(n_programs * n_tests))
    return _ranked("codet_sqrt" if sqrt_programs else "codet", scored, keys)


# --------------------------------------------------------------------------------------------
# B4
# --------------------------------------------------------------------------------------------


def log_beta(a: float, b: float) -> float:
    """ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b), for a, b > 0."""
    if not (a > 0 and b > 0):
        raise ValueError(f"log_beta needs positive arguments, got a={a}, b={b}")
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def select_b4(matrix: PassMatrix, alpha: float = 1e3, beta0: float = 1e4) -> Selection:
    """B4: the maximum a posteriori group of correct programs under a Beta-Bernoulli model.

    For a candidate group (all programs sharing one pass row) let ``x`` be its indicator over
    the N programs and ``y`` its pass row over the M tests.  The score is

        lnB(Σy + α, M − Σy + 1)                 tests:    θ_y ~ Beta(α, 1)
      + lnB(Σx + α, N − Σx + 1)                 programs: θ_x ~ Beta(α, 1)
      + lnB(ΣE₁ + 1, |E₁| − ΣE₁ + 1)            E₁ = E[x=0, y=1], θ₁ ~ Beta(1, 1)
      + lnB(ΣE₀ + 1, |E₀| − ΣE₀ + β₀)           E₀ = E[x=0, y=0], θ₀ ~ Beta(1, β₀)

    where ``E₁`` are the entries of the programs outside the group on the tests the group
    passes and ``E₀`` the entries of those programs on the tests the group fails (``ΣE`` counts
    passes, ``|E|`` entries).  The group with the highest score is chosen; exact ties go to the
    group that occurs first.

    Why these terms.  The model says each program is correct with probability θ_x and each test
    with probability θ_y; a correct program passes exactly the correct tests; a wrong program
    passes a correct test with probability θ₁ and a wrong test with probability θ₀.  So the
    correct programs all share one pass row, and that row *is* the test-correctness vector:
    choosing the group fixes ``x`` and ``y`` together and the group's own entries have
    probability 1.  Integrating each θ out of its Bernoulli likelihood under its Beta(a, b)
    prior gives ``B(k + a, n − k + b) / B(a, b)`` for k ones in n draws; the denominators are the
    same for every group, so the score is ``ln P(x, y, E)`` up to a constant and the argmax is the
    MAP estimate (restricted, like the paper, to whole groups of identical rows).

    What the hyper-parameters do.  α ≫ N, M makes θ_x, θ_y ≈ 1 a priori, so each extra program
    in the group adds roughly ``ln α − ln(#programs outside)`` and each extra passed test
    ``ln α − ln(#tests failed)``: like CodeT, large groups passing many tests are favoured.  A
    large β₀ says a wrong program almost never passes a wrong test, so every pass inside ``E₀``
    (another program passing a test this group fails) costs about ``ln β₀``, whereas passes
    inside ``E₁`` only have a uniform prior.  B4 thus prefers the group whose failed tests are
    failed by everybody else too.

    Args:
        matrix: the N×M pass matrix.
        alpha: α, the first Beta parameter of the priors of θ_x and θ_y (the paper uses 1e3).
        beta0: β₀, the second Beta parameter of the prior of θ₀ (the paper uses 1e4 to 1e6).

    Raises:
        ValueError: invalid matrix, or ``alpha`` / ``beta0`` not a positive finite number.
    """
    for name, value in (("alpha", alpha), ("beta0", beta0)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"select_b4: {name} must be a positive finite number, got {value!r}")
    rows = validate_pass_matrix(matrix)
    n, m = len(rows), len(rows[0])
    column_passes = [sum(column) for column in zip(*rows, strict=True)]
    scored: list[tuple[Sequence[int], float]] = []
    for row, members in _groups(rows).items():
        in_group = len(members)  # Σx
        passed = sum(row)  # Σy
        outside = n - in_group  # programs with x = 0
        # Passes of the programs outside the group, split by the group's row: columns the group
        # passes (E₁) and columns it fails (E₀).  The group itself adds `in_group` to each
        # column it passes and nothing elsewhere.
        e1_sum = sum(column_passes[j] - in_group for j in range(m) if row[j])
        e0_sum = sum(column_passes[j] for j in range(m) if not row[j])
        e1_size = outside * passed
        e0_size = outside * (m - passed)
        score = (
            log_beta(passed + alpha, m - passed + 1)
            + log_beta(in_group + alpha, n - in_group + 1)
            + log_beta(e1_sum + 1, e1_size - e1_sum + 1)
            + log_beta(e0_sum + 1, e0_size - e0_sum + beta0)
        )
        scored.append((members, score))
    return _ranked("b4", scored)
