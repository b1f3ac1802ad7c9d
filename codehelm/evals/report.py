"""Summaries of evaluation records: per family and mode, as a Markdown table and a PNG chart,
and per mode a calibration table: accuracy among the answers of each verification label."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from codehelm.evals.runner import EvalRecord

ALL = "all"
UNKNOWN = "unknown"
"""The label of records written before labels were recorded."""
LABELS = ("verified", "uncertain", "failed", "no_answer")
"""Calibration rows every mode shows; "unjudged" and "unknown" rows only when they occur."""
_LABEL_ORDER = ("verified", "uncertain", "unjudged", "failed", "no_answer", UNKNOWN)


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


class CalibrationRow(BaseModel):
    """The records of one mode with one label (or all of them, `label` == ALL)."""

    mode: str
    label: str
    n: int
    share: float  # of the mode's records
    correct: int
    accuracy: float | None  # None when there are no such records
    tokens: int
    tokens_per_correct: float | None  # None when none was correct


def calibrate(records: Sequence[EvalRecord]) -> list[CalibrationRow]:
    """Per mode: one row per label, then one over all the mode's records.

    The rows of `LABELS` are always there (n 0 when no record has the label); "unjudged" and
    "unknown" (records without a label) only when some record has them. `tokens_per_correct`
    is every token the rows' jobs spent (wrong answers included) over their correct answers.
    """
    by_mode: dict[str, list[EvalRecord]] = defaultdict(list)
    for record in records:
        by_mode[record.mode].append(record)
    rows = []
    for mode in sorted(by_mode):
        mine = by_mode[mode]
        by_label: dict[str, list[EvalRecord]] = defaultdict(list)
        for record in mine:
            by_label[record.label or UNKNOWN].append(record)
        for label in _LABEL_ORDER:
            if label in LABELS or label in by_label:
                rows.append(_calibration_row(mode, label, by_label[label], len(mine)))
        rows.append(_calibration_row(mode, ALL, mine, len(mine)))
    return rows


def _calibration_row(mode: str, label: str, group: list[EvalRecord], total: int) -> CalibrationRow:
    correct = sum(r.correct for r in group)
    tokens = sum(r.tokens for r in group)
    return CalibrationRow(
        mode=mode,
        label=label,
        n=len(group),
        share=len(group) / total,
        correct=correct,
        accuracy=correct / len(group) if group else None,
        tokens=tokens,
        tokens_per_correct=tokens / correct if correct else None,
    )


def calibration_markdown(rows: Sequence[CalibrationRow]) -> str:
    lines = [
        "| mode | label | n | share | correct | accuracy | tokens per correct |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        accuracy = f"{r.accuracy:.1%}" if r.accuracy is not None else "-"
        per_correct = f"{r.tokens_per_correct:.0f}" if r.tokens_per_correct is not None else "-"
        label = f"**{r.label}**" if r.label == ALL else r.label.replace("_", " ")
        lines.append(
            f"| {r.mode} | {label} | {r.n} | {r.share:.1%} | {r.correct} | {accuracy} "
            f"| {per_correct} |"
        )
    return "\n".join(lines) + "\n"


CALIBRATION_NOTE = (
    "Accuracy among the answers of each verification label: verified (the verifier passed "
    "the answer), uncertain, unjudged (no verdict), failed, no answer (the run stopped or "
    "failed); unknown for records written before labels were recorded. Tokens per correct is "
    "every token spent, wrong answers included, over the correct answers.\n\n"
)


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
    """`report.md` (the summary, then the calibration table) and `accuracy_vs_tokens.png`."""
    rows = summarize(records)
    table = out_dir / "report.md"
    table.write_text(
        "# codehelm eval\n\n"
        + markdown(rows)
        + "\n## Calibration\n\n"
        + CALIBRATION_NOTE
        + calibration_markdown(calibrate(records))
    )
    return table, plot(rows, out_dir / "accuracy_vs_tokens.png")
