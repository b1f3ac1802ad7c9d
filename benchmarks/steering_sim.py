"""How much does today's steering logic gain over always using one mode? A simulation.

A `SimulatedModel` (``codehelm/models/simulated.py``) of known strength per task family, in
code and in text, with a self-check of known reliability, drives the real solve graph
through the real gateway and the real local sandbox: planner, coder, executor, reasoner,
verifier (its self-check programs run in sandboxes like any other), steerer, revisions,
replans. Only the model is simulated. Each setting of the grid fixes the accuracies (two
task families by default) and the check's false accept and false reject rates; every
policy of `codehelm.policy.POLICIES` solves the same tasks, with the same random draws
for the same calls (one model per setting and policy, same seed).

Per setting: each policy's accuracy; the best single mode (the better of the measured
`code` and `text` policies); an oracle that takes, per family, the better of the two
(measured); the standard error of an accuracy over the setting's tasks. The summary
counts the settings where `steer` is at least the best single mode minus one standard
error (the binomial SE of the best mode's accuracy), and averages steer's gain over the
best single mode and its gap to the oracle, in points.

    python benchmarks/steering_sim.py                 # the full grid (60 settings)
    python benchmarks/steering_sim.py --quick         # 8 settings, a smoke test
    python benchmarks/steering_sim.py --json out.json # also write the summary

A run that raises (the graph is being changed, say) counts as a wrong answer and is
reported; the sweep goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codehelm.evals.tasks import EvalItem, check_answer, generate_items
from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Budget
from codehelm.models.simulated import FamilySkill, SimParams, SimulatedModel, tasks_from_items
from codehelm.policy import POLICIES
from codehelm.tools.sandbox.limits import ResourceLimits
from codehelm.tools.sandbox.local import LocalSandbox

FAMILIES = ("multiplication", "game24")  # one-line answers (a program's answer is its last line)

# (name, ((code, text) accuracy of family 1), ((code, text) of family 2)); a third family
# and more reuse these in turn.
PROFILES: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = (
    # modes of equal strength
    ("equal strong", ((0.8, 0.8), (0.8, 0.8))),
    ("equal mid", ((0.5, 0.5), (0.5, 0.5))),
    ("equal weak", ((0.2, 0.2), (0.2, 0.2))),
    ("equal on average, crossed", ((0.6, 0.4), (0.4, 0.6))),
    # modes of very different strength
    ("code dominant", ((0.9, 0.1), (0.8, 0.3))),
    ("text dominant", ((0.3, 0.8), (0.1, 0.9))),
    ("crossed strong", ((0.95, 0.1), (0.1, 0.95))),
    ("crossed weak", ((0.5, 0.1), (0.1, 0.5))),
    ("code strong, text mid", ((0.9, 0.5), (0.7, 0.5))),
    ("code better, one family hard", ((0.9, 0.2), (0.3, 0.2))),
    ("text better, one family hard", ((0.2, 0.9), (0.2, 0.3))),
    ("CodeSteer-like", ((1.0, 0.08), (0.11, 0.23))),  # GPT-4o: multiplication, Game24
)

# (name, false accept, false reject) of the self-check, from reliable to useless
CHECKS: tuple[tuple[str, float, float], ...] = (
    ("reliable", 0.02, 0.02),
    ("good", 0.1, 0.1),
    ("fair", 0.25, 0.25),
    ("lenient", 0.6, 0.05),
    ("useless", 0.5, 0.5),
)

QUICK_PROFILES = ("equal mid", "code dominant", "crossed strong", "text dominant")
QUICK_CHECKS = ("reliable", "useless")


def sandbox_options() -> dict[str, Any]:
    """The local sandbox as runs get it, isolated, but without a pids cgroup: run as root,
    each sandbox would get one, and creating cgroups serialises sandbox starts (the programs
    here are the simulation's own, so the process cap guards nothing)."""
    limits = ResourceLimits(max_processes=None) if os.geteuid() == 0 else None
    return {"timeout": 10.0, "limits": limits}


@dataclass(frozen=True)
class Setting:
    index: int
    profile: str
    check: str
    skills: dict[str, FamilySkill]
    false_accept: float
    false_reject: float

    @property
    def label(self) -> str:
        return f"{self.profile} / {self.check}"

    def brief(self) -> str:
        accs = " ".join(
            f"{s.accuracy_code:.2f}/{s.accuracy_text:.2f}" for s in self.skills.values()
        )
        return f"{accs} fa={self.false_accept:g} fr={self.false_reject:g}"


def make_grid(families: Sequence[str], quick: bool) -> list[Setting]:
    grid = []
    for profile, pairs in PROFILES:
        if quick and profile not in QUICK_PROFILES:
            continue
        skills = {family: FamilySkill(*pairs[i % len(pairs)]) for i, family in enumerate(families)}
        for check, fa, fr in CHECKS:
            if quick and check not in QUICK_CHECKS:
                continue
            grid.append(Setting(len(grid), profile, check, skills, fa, fr))
    return grid


@dataclass
class Outcome:
    correct: bool
    calls: int = 0
    tokens: int = 0
    error: str | None = None


@dataclass
class Cell:
    """One policy on one setting: an outcome per task, in the order of the items."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(o.correct for o in self.outcomes) / len(self.outcomes)


def se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n else 0.0


def paired_se(a: Sequence[bool], b: Sequence[bool]) -> float:
    diffs = [int(x) - int(y) for x, y in zip(a, b, strict=True)]
    return statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0


class Sweep:
    def __init__(self, args: argparse.Namespace, items: list[EvalItem]) -> None:
        self.args = args
        self.items = items
        self.tasks = tasks_from_items(
            items, lambda item, answer: check_answer(item, answer).correct
        )
        self.done = 0
        self.errors: Counter[str] = Counter()

    def params(self, setting: Setting) -> SimParams:
        a = self.args
        return SimParams(
            families=setting.skills,
            false_accept=setting.false_accept,
            false_reject=setting.false_reject,
            seed=a.seed * 100_003 + setting.index,
            plan_skill=a.plan_skill,
            estimate_noise=a.estimate_noise,
            retry_correlation=a.correlation,
            crash_share=a.crash_share,
            hardcode_share=a.hardcode_share,
        )

    async def run(
        self, grid: list[Setting], policies: Sequence[str]
    ) -> dict[tuple[int, str], Cell]:
        gate = asyncio.Semaphore(self.args.concurrency)
        total = len(grid) * len(policies) * len(self.items)
        started = time.perf_counter()

        async def one(model: SimulatedModel, policy: str, item: EvalItem) -> Outcome:
            async with gate:
                outcome = await self.solve(model, policy, item)
            self.done += 1
            if self.args.progress and self.done % 500 == 0:
                rate = self.done / (time.perf_counter() - started)
                print(f"  {self.done}/{total} runs, {rate:.1f}/s", file=sys.stderr, flush=True)
            return outcome

        async def cell(setting: Setting, policy: str) -> Cell:
            # one model per setting and policy, all with the setting's seed: every policy
            # meets the same draws for the same calls
            model = SimulatedModel(self.tasks, self.params(setting))
            outcomes = await asyncio.gather(*(one(model, policy, i) for i in self.items))
            return Cell(list(outcomes))

        keys = [(s, p) for s in grid for p in policies]
        cells = await asyncio.gather(*(cell(s, p) for s, p in keys))
        return {(s.index, p): c for (s, p), c in zip(keys, cells, strict=True)}

    async def solve(self, model: SimulatedModel, policy: str, item: EvalItem) -> Outcome:
        """One run, as `codehelm solve` makes it: its own sandbox (started on first use, so a
        run that never executes code starts none)."""
        try:
            sandbox = LocalSandbox(**sandbox_options())
        except Exception as exc:
            return self.failed(exc)
        try:
            graph = build_solve_graph(model, sandbox, policy=policy)  # type: ignore[arg-type]
            state = await run_graph(graph, item.prompt, budget=Budget(max_seconds=120.0))
        except Exception as exc:
            return self.failed(exc)
        finally:
            with contextlib.suppress(Exception):
                await sandbox.close()
        answer = state.answer.content if state.answer is not None else ""
        return Outcome(
            correct=check_answer(item, answer).correct,
            calls=state.usage.calls,
            tokens=state.usage.total_tokens,
        )

    def failed(self, exc: BaseException) -> Outcome:
        self.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
        return Outcome(correct=False, error=type(exc).__name__)


@dataclass
class Row:
    setting: Setting
    acc: dict[str, float]
    n: int
    best: float
    best_mode: str
    oracle: float
    se_best: float
    paired_se: dict[str, float]  # policy minus the best single mode


def analyse(
    grid: list[Setting],
    cells: dict[tuple[int, str], Cell],
    items: list[EvalItem],
    policies: Sequence[str],
) -> list[Row]:
    rows = []
    families = list(dict.fromkeys(item.family for item in items))
    for setting in grid:
        acc = {p: cells[(setting.index, p)].accuracy for p in policies}
        n = len(items)
        best_mode = "code" if acc["code"] >= acc["text"] else "text"
        best = acc[best_mode]
        per_family = []
        for family in families:
            at = [i for i, item in enumerate(items) if item.family == family]
            by_mode = [
                sum(cells[(setting.index, m)].outcomes[i].correct for i in at) / len(at)
                for m in ("code", "text")
            ]
            per_family.append((max(by_mode), len(at)))
        oracle = sum(a * k for a, k in per_family) / n
        best_outcomes = [o.correct for o in cells[(setting.index, best_mode)].outcomes]
        paired = {
            p: paired_se([o.correct for o in cells[(setting.index, p)].outcomes], best_outcomes)
            for p in policies
        }
        rows.append(Row(setting, acc, n, best, best_mode, oracle, se(best, n), paired))
    return rows


def summarise(rows: list[Row], policy: str) -> dict[str, Any]:
    gains = [100 * (r.acc[policy] - r.best) for r in rows]
    gaps = [100 * (r.oracle - r.acc[policy]) for r in rows]
    return {
        "settings": len(rows),
        "steer_ge_best" if policy == "steer" else "ge_best": sum(
            r.acc[policy] >= r.best - r.se_best - 1e-12 for r in rows
        ),
        "ge_best_paired_se": sum(
            r.acc[policy] >= r.best - r.paired_se[policy] - 1e-12 for r in rows
        ),
        "mean_accuracy": round(100 * statistics.fmean(r.acc[policy] for r in rows), 2),
        "mean_gain_over_best": round(statistics.fmean(gains), 2),
        "mean_gap_to_oracle": round(statistics.fmean(gaps), 2),
    }


def print_report(
    rows: list[Row],
    cells: dict[tuple[int, str], Cell],
    policies: Sequence[str],
    families: Sequence[str],
) -> None:
    short = {"self-estimate": "self-est"}
    heads = [short.get(p, p) for p in policies]
    print(
        f"\nAccuracy (%) per setting; accuracies are code/text per family ({', '.join(families)})"
    )
    print(
        f"{'#':>3} {'setting':<40} {'accuracies, check':<34} "
        + " ".join(f"{h:>8}" for h in heads)
        + f" {'best':>9} {'oracle':>7} {'SE':>5}"
    )
    for r in rows:
        s = r.setting
        print(
            f"{s.index:>3} {s.label[:40]:<40} {s.brief()[:34]:<34} "
            + " ".join(f"{100 * r.acc[p]:>8.1f}" for p in policies)
            + f" {100 * r.best:>5.1f}{r.best_mode[0]:>1}   {100 * r.oracle:>6.1f}"
            + f" {100 * se(r.acc['steer'], r.n):>5.1f}"
        )

    print(
        "(best: the better of code and text, c/t; oracle: the better per family;"
        " SE: of steer's accuracy)"
    )
    print("\nPer policy, mean over the settings (accuracy and differences in points)")
    print(
        f"{'policy':<14} {'accuracy':>9} {'best mode':>10} {'oracle':>7} {'gain/best':>10}"
        f" {'gap/oracle':>11} {'>=best-SE':>10} {'paired':>7} {'calls':>6} {'tokens':>7}"
        f" {'errors':>7}"
    )
    mean_best = 100 * statistics.fmean(r.best for r in rows)
    mean_oracle = 100 * statistics.fmean(r.oracle for r in rows)
    mean_se = 100 * statistics.fmean(r.se_best for r in rows)
    for p in policies:
        s = summarise(rows, p)
        outs = [o for r in rows for o in cells[(r.setting.index, p)].outcomes]
        print(
            f"{p:<14} {s['mean_accuracy']:>9.1f} {mean_best:>10.1f} {mean_oracle:>7.1f}"
            f" {s['mean_gain_over_best']:>+10.1f} {s['mean_gap_to_oracle']:>11.1f}"
            f" {s.get('steer_ge_best', s.get('ge_best')):>6}/{len(rows):<3}"
            f" {s['ge_best_paired_se']:>4}/{len(rows):<3}"
            f" {statistics.fmean(o.calls for o in outs):>5.1f}"
            f" {statistics.fmean(o.tokens for o in outs):>7.0f}"
            f" {sum(o.error is not None for o in outs):>7}"
        )
    print(f"(mean SE of the best mode's accuracy per setting: {mean_se:.1f} points)")

    print("\nsteer minus best single mode (points), by check reliability and by profile")
    for key, name in (
        (lambda r: r.setting.check, "check"),
        (lambda r: r.setting.profile, "profile"),
    ):
        groups: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            groups[key(r)].append(r)
        for label, group in groups.items():
            gain = statistics.fmean(100 * (r.acc["steer"] - r.best) for r in group)
            gap = statistics.fmean(100 * (r.oracle - r.acc["steer"]) for r in group)
            print(
                f"  {name} {label:<32} gain {gain:>+6.1f}  gap to oracle {gap:>5.1f}"
                f"  ({len(group)} settings)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small grid (8 settings)")
    parser.add_argument("--n", type=int, default=None, help="tasks per family per setting")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plan-skill", type=float, default=0.5, help="0.5: a neutral planner")
    parser.add_argument("--estimate-noise", type=float, default=1.5)
    parser.add_argument("--correlation", type=float, default=0.5, help="retry correlation")
    parser.add_argument("--crash-share", type=float, default=0.2)
    parser.add_argument("--hardcode-share", type=float, default=0.1)
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    parser.add_argument("--details", type=Path, default=None, help="write every policy's summary")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = set(policies) - set(POLICIES)
    if unknown:
        parser.error(f"unknown policies {sorted(unknown)}; choose from {POLICIES}")
    for needed in ("steer", "code", "text"):
        if needed not in policies:
            policies.append(needed)
    n = args.n if args.n is not None else (6 if args.quick else 10)
    grid = make_grid(families, args.quick)
    items = generate_items(families, n, args.seed)
    multi_line = sorted({i.family for i in items if "\n" in (i.reference or "")})
    if multi_line:
        parser.error(f"families with multi-line answers cannot be simulated: {multi_line}")

    print(
        f"{len(grid)} settings x {len(policies)} policies x {len(items)} tasks "
        f"({n} per family: {', '.join(families)}) = {len(grid) * len(policies) * len(items)} runs;"
        f" planner skill {args.plan_skill:g}, estimate noise {args.estimate_noise:g},"
        f" retry correlation {args.correlation:g}, crash share {args.crash_share:g},"
        f" hard-coded share {args.hardcode_share:g}; concurrency {args.concurrency}"
        f" on {os.cpu_count()} cores",
        flush=True,
    )
    sweep = Sweep(args, items)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = asyncio.run(sweep.run(grid, policies))
    wall = time.perf_counter() - start
    rows = analyse(grid, cells, items, policies)
    print_report(rows, cells, policies, families)
    summary = summarise(rows, "steer")
    result = {
        "settings": summary["settings"],
        "steer_ge_best": summary["steer_ge_best"],
        "mean_gain_over_best": summary["mean_gain_over_best"],
        "mean_gap_to_oracle": summary["mean_gap_to_oracle"],
    }
    print(f"\nsummary: {json.dumps(result)}")
    runs = len(grid) * len(policies) * len(items)
    print(f"{runs} runs in {wall:.0f} s ({runs / wall:.1f} runs/s)")
    if sweep.errors:
        print(f"{sum(sweep.errors.values())} runs raised:")
        for error, count in sweep.errors.most_common(5):
            print(f"  {count} x {error}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.details is not None:
        details = {
            **result,
            "steer_ge_best_paired_se": summary["ge_best_paired_se"],
            "mean_steer_accuracy": summary["mean_accuracy"],
            "policies": {p: summarise(rows, p) for p in policies},
            "tasks_per_setting": len(items),
            "families": families,
            "errors": sum(sweep.errors.values()),
            "wall_s": round(wall, 1),
        }
        args.details.parent.mkdir(parents=True, exist_ok=True)
        args.details.write_text(json.dumps(details, indent=2) + "\n")
        print(f"wrote {args.details}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
