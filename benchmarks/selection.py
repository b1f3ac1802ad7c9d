"""Selection accuracy of program selectors on synthetic pass matrices with known ground truth.

Each instance is drawn by `synthetic_pass_matrix` (``benchmarks/pass_matrices.py``): N programs
and M tests, each program correct with probability θx and each test with θy; a correct program
passes exactly the correct tests; a wrong program passes a correct test with θ1 and a wrong test
with θ0.  Instances are drawn conditionally on at least one correct program existing.

Accuracy is the share of instances in which the chosen program is correct.  A selector may
return a group of interchangeable programs (a group of identical pass rows, or MaxPass's tie);
we count the share of the group that is correct, i.e. the chance that a uniform pick from the
group is correct, which has the same expectation and less noise.  For the random baseline the
exact expectation, #correct / N, is used for the same reason.

Printed: accuracy per method and setting, then each method's accuracy relative to random and
relative to the best heuristic of the setting (the best of MaxPass, MBR-exec, CodeT, CodeT(√)).

    python benchmarks/selection.py [--seed 0] [--instances 400] [--alpha 1e3] [--beta0 1e4]

Runs in a few seconds with the defaults.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from pass_matrices import synthetic_pass_matrix

from codehelm.selection import (
    PassMatrix,
    Selection,
    select_b4,
    select_codet,
    select_max_pass,
    select_mbr_exec,
)


@dataclass(frozen=True)
class Setting:
    n: int
    m: int
    theta_x: float
    theta_y: float
    theta1: float
    theta0: float

    @property
    def label(self) -> str:
        return (
            f"N={self.n:<2} M={self.m:<2} θx={self.theta_x:<4} θy={self.theta_y:<4} "
            f"θ1={self.theta1:<4} θ0={self.theta0:<4}"
        )


SETTINGS = [
    Setting(n, n, theta_x, 0.3, 0.4, theta0)
    for n in (10, 20)
    for theta_x in (0.1, 0.3)
    for theta0 in (0.05, 0.1, 0.2)
]

HEURISTICS = ("MaxPass", "MBR-exec", "CodeT", "CodeT(√)")
METHODS = ("random", *HEURISTICS, "B4")


def selectors(alpha: float, beta0: float) -> dict[str, Callable[[PassMatrix], Selection]]:
    return {
        "MaxPass": select_max_pass,
        "MBR-exec": select_mbr_exec,
        "CodeT": select_codet,
        "CodeT(√)": partial(select_codet, sqrt_programs=True),
        "B4": partial(select_b4, alpha=alpha, beta0=beta0),
    }


def share_correct(indices: Sequence[int], correct: set[int]) -> float:
    return sum(i in correct for i in indices) / len(indices)


def evaluate(
    setting: Setting, instances: int, rng: random.Random, alpha: float, beta0: float
) -> dict[str, float]:
    """Mean accuracy of every method over `instances` draws of one setting."""
    methods = selectors(alpha, beta0)
    totals = dict.fromkeys(METHODS, 0.0)
    for _ in range(instances):
        matrix, correct = synthetic_pass_matrix(
            rng,
            setting.n,
            setting.m,
            setting.theta_x,
            setting.theta_y,
            setting.theta1,
            setting.theta0,
        )
        totals["random"] += len(correct) / setting.n
        for name, select in methods.items():
            totals[name] += share_correct(select(matrix).indices, correct)
    return {name: total / instances for name, total in totals.items()}


def print_table(title: str, rows: list[tuple[str, dict[str, float]]], fmt: str) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    header = f"{'setting':<{width}} | " + " | ".join(f"{name:>8}" for name in METHODS)
    print(header)
    print("-" * len(header))
    for label, values in rows:
        cells = " | ".join(f"{values[name]:>8{fmt}}" for name in METHODS)
        print(f"{label:<{width}} | {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--instances", type=int, default=400, help="instances per setting")
    parser.add_argument("--alpha", type=float, default=1e3, help="B4 α (default 1e3)")
    parser.add_argument("--beta0", type=float, default=1e4, help="B4 β0 (default 1e4)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    started = time.perf_counter()
    accuracy: list[tuple[str, dict[str, float]]] = []
    for setting in SETTINGS:
        accuracy.append(
            (setting.label, evaluate(setting, args.instances, rng, args.alpha, args.beta0))
        )
    vs_random = [
        (label, {name: acc[name] / acc["random"] for name in METHODS}) for label, acc in accuracy
    ]
    vs_best = []
    for label, acc in accuracy:
        best = max(acc[name] for name in HEURISTICS)
        vs_best.append((label, {name: acc[name] / best for name in METHODS}))
    for table in (accuracy, vs_random, vs_best):
        mean = {name: statistics.fmean(row[name] for _, row in table) for name in METHODS}
        table.append(("mean over settings", mean))

    print(
        f"Selection accuracy, {args.instances} instances per setting, seed {args.seed}, "
        f"B4 α={args.alpha:g} β0={args.beta0:g}"
    )
    print_table(
        "Accuracy (share of instances where the chosen program is correct)", accuracy, ".3f"
    )
    print_table("Relative to random (accuracy / random accuracy)", vs_random, ".2f")
    print_table(
        "Relative to the best heuristic of the setting (best of MaxPass, MBR-exec, CodeT, "
        "CodeT(√))",
        vs_best,
        ".2f",
    )
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
