"""Summaries of evaluation records: per family and mode, as a Markdown table and a PNG chart."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from codehelm.evals.runner import EvalRecord

ALL = "all"


class Row(BaseModel):
    family: str
    mode: str
    n: int
    accuracy: float
    mean_tokens: float
    mean_wall_s: float
    cost_usd: float | None
    errors: int


def summarize(records: Sequence[EvalRecord]) -> list[Row]:
    """One row per (family, mode), then one per mode over all families.

    Failed runs (an `error`) count as wrong answers, and are also counted in `errors`.
    """
    groups: dict[tuple[str, str], list[EvalRecord]] = defaultdict(list)
    for record in records:
        groups[(record.family, record.mode)].append(record)
        groups[(ALL, record.mode)].append(record)
    rows = [_row(family, mode, group) for (family, mode), group in groups.items()]
    return sorted(rows, key=lambda r: (r.family == ALL, r.family, r.mode))


def _row(family: str, mode: str, group: list[EvalRecord]) -> Row:
    costs = [r.cost_usd for r in group if r.cost_usd is not None]
    return Row(
        family=family,
        mode=mode,
        n=len(group),
        accuracy=sum(r.correct for r in group) / len(group),
        mean_tokens=statistics.fmean(r.tokens for r in group),
        mean_wall_s=statistics.fmean(r.wall_s for r in group),
        cost_usd=sum(costs) if costs else None,
        errors=sum(r.error is not None for r in group),
    )


def markdown(rows: Sequence[Row]) -> str:
    lines = [
        "| family | mode | n | accuracy | mean tokens | mean wall s | cost $ | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cost = f"{r.cost_usd:.4f}" if r.cost_usd is not None else "-"
        family = f"**{r.family}**" if r.family == ALL else r.family
        lines.append(
            f"| {family} | {r.mode} | {r.n} | {r.accuracy:.1%} | {r.mean_tokens:.0f} "
            f"| {r.mean_wall_s:.1f} | {cost} | {r.errors} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[Row], path: Path) -> Path:
    """Accuracy against mean tokens: one marker per family and mode, modes in colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    modes = sorted({r.mode for r in rows})
    colours = plt.get_cmap("tab10")
    for i, mode in enumerate(modes):
        mine = [r for r in rows if r.mode == mode]
        families = [r for r in mine if r.family != ALL]
        ax.scatter(
            [r.mean_tokens for r in families],
            [100 * r.accuracy for r in families],
            color=colours(i),
            alpha=0.6,
            label=mode,
        )
        for r in families:
            ax.annotate(r.family, (r.mean_tokens, 100 * r.accuracy), fontsize=7, alpha=0.7)
        for r in mine:
            if r.family == ALL:
                ax.scatter(
                    [r.mean_tokens],
                    [100 * r.accuracy],
                    color=colours(i),
                    marker="*",
                    s=250,
                    edgecolors="black",
                    label=f"{mode} (all)",
                )
    ax.set_xlabel("mean tokens per item")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-5, 105)
    ax.set_title("codehelm eval: accuracy against tokens per steering mode")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(records: Sequence[EvalRecord], out_dir: Path) -> tuple[Path, Path]:
    """`report.md` and `accuracy_vs_tokens.png` in `out_dir`."""
    rows = summarize(records)
    table = out_dir / "report.md"
    table.write_text("# codehelm eval\n\n" + markdown(rows))
    return table, plot(rows, out_dir / "accuracy_vs_tokens.png")
