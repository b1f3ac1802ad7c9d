"""The eval report's calibration table: accuracy per verification label, tokens per correct."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codehelm.config import Settings
from codehelm.evals.report import (
    ALL,
    CalibrationRow,
    calibrate,
    calibration_markdown,
    write_report,
)
from codehelm.evals.runner import EvalPlan, EvalRecord, Label, _vote, read_records, run_eval
from codehelm.messages import Answer
from codehelm.runtime.batch import LocalBatchRunner
from codehelm.runtime.runner import RunResult
from tests.evals.test_eval_runner import N, script_for_multiplication


def record(
    i: int, mode: str, label: Label | None, correct: bool, tokens: int, error: str | None = None
) -> EvalRecord:
    return EvalRecord(
        item_id=f"multiplication-1-0-{i}",
        family="multiplication",
        difficulty=1,
        mode=mode,
        model="scripted",
        samples=1,
        answer=None if label == "no_answer" else "42",
        correct=correct,
        tokens=tokens,
        label=label,
        error=error,
    )


def records() -> list[EvalRecord]:
    steer = [
        *(record(i, "steer", "verified", i < 3, 100) for i in range(4)),  # 3 of 4 right
        record(4, "steer", "uncertain", True, 200),
        record(5, "steer", "uncertain", False, 200),
        record(6, "steer", "failed", False, 300),
        record(7, "steer", "no_answer", False, 0, error="RuntimeError: boom"),
    ]
    text = [
        record(0, "text", None, True, 50),  # written before labels were recorded
        record(1, "text", None, False, 50),
        record(2, "text", "unjudged", True, 80),
    ]
    return [*text, *steer]


def by_key(rows: list[CalibrationRow]) -> dict[tuple[str, str], CalibrationRow]:
    return {(r.mode, r.label): r for r in rows}


def test_calibration_counts_accuracy_and_tokens_per_correct() -> None:
    rows = calibrate(records())
    assert [(r.mode, r.label) for r in rows] == [
        ("steer", "verified"),
        ("steer", "uncertain"),
        ("steer", "failed"),
        ("steer", "no_answer"),
        ("steer", ALL),
        ("text", "verified"),
        ("text", "uncertain"),
        ("text", "unjudged"),
        ("text", "failed"),
        ("text", "no_answer"),
        ("text", "unknown"),
        ("text", ALL),
    ]
    rows_by = by_key(rows)
    verified = rows_by[("steer", "verified")]
    assert (verified.n, verified.correct, verified.share, verified.accuracy) == (4, 3, 0.5, 0.75)
    assert verified.tokens == 400 and verified.tokens_per_correct == pytest.approx(400 / 3)
    uncertain = rows_by[("steer", "uncertain")]
    assert (uncertain.n, uncertain.accuracy, uncertain.tokens_per_correct) == (2, 0.5, 400.0)
    failed = rows_by[("steer", "failed")]
    assert (failed.n, failed.share, failed.accuracy, failed.tokens_per_correct) == (
        1,
        0.125,
        0.0,
        None,
    )
    assert rows_by[("steer", "no_answer")].n == 1
    steer = rows_by[("steer", ALL)]
    assert (steer.n, steer.correct, steer.tokens, steer.tokens_per_correct) == (8, 4, 1100, 275.0)

    empty = rows_by[("text", "verified")]
    assert (empty.n, empty.share, empty.accuracy, empty.tokens_per_correct) == (0, 0.0, None, None)
    unknown = rows_by[("text", "unknown")]
    assert (unknown.n, unknown.accuracy, unknown.tokens_per_correct) == (2, 0.5, 100.0)
    assert rows_by[("text", "unjudged")].accuracy == 1.0
    text = rows_by[("text", ALL)]
    assert (text.n, text.correct, text.tokens_per_correct) == (3, 2, 90.0)


def test_calibration_markdown() -> None:
    table = calibration_markdown(calibrate(records()))
    assert "| steer | verified | 4 | 50.0% | 3 | 75.0% | 133 |" in table
    assert "| steer | failed | 1 | 12.5% | 0 | 0.0% | - |" in table
    assert "| steer | no answer | 1 | 12.5% | 0 | 0.0% | - |" in table
    assert "| steer | **all** | 8 | 100.0% | 4 | 50.0% | 275 |" in table
    assert "| text | verified | 0 | 0.0% | 0 | - | - |" in table
    assert "| text | unknown | 2 | 66.7% | 1 | 50.0% | 100 |" in table


def test_records_written_before_labels_read_as_unknown(tmp_path: Path) -> None:
    journal = tmp_path / "runs.jsonl"
    old = record(0, "code", "verified", True, 120).model_dump(mode="json")
    del old["label"]  # the shape of a line written before this field existed
    journal.write_text(json.dumps(old) + "\n")
    [read] = read_records(journal)
    assert read.label is None
    write_report([read], tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "## Calibration" in report
    assert "| code | unknown | 1 | 100.0% | 1 | 100.0% | 120 |" in report
    assert "| code | verified | 0 | 0.0% | 0 | - | - |" in report


def result(answer: str | None, verdict: str | None) -> RunResult:
    return RunResult.model_validate(
        {
            "run_id": "r",
            "status": "done" if answer is not None else "stopped",
            "answer": Answer(content=answer) if answer is not None else None,
            "verdict": verdict,
        }
    )


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([result(None, None)], (None, "no_answer")),
        ([result("7", "pass")], ("7", "verified")),
        ([result("7", "uncertain")], ("7", "uncertain")),
        ([result("7", "fail")], ("7", "failed")),
        ([result("7", None)], ("7", "unjudged")),
        # the vote's winner takes the best verdict among the samples that gave it
        ([result("7", "fail"), result("7.0", "pass"), result("8", "uncertain")], ("7", "verified")),
        ([result("7", "fail"), result("7", None), result(None, None)], ("7", "unjudged")),
        ([result("8", "fail"), result("7", "uncertain"), result("7", "fail")], ("7", "uncertain")),
    ],
)
def test_the_checked_answer_is_labelled_by_its_verdicts(
    results: list[RunResult], expected: tuple[str | None, Label]
) -> None:
    assert _vote(results, (1.0, 0.5, 0.2)) == expected


async def test_scripted_eval_records_labels_and_reports_calibration(tmp_path: Path) -> None:
    settings = Settings(model=script_for_multiplication(tmp_path), home=tmp_path / "unused")
    plan = EvalPlan(families=["multiplication"], n=N, modes=["code", "text"])
    out = tmp_path / "out"
    records = await run_eval(plan, settings, out, LocalBatchRunner(1))
    assert all(r.label is not None for r in records)
    assert all((r.label == "no_answer") == (r.answer is None) for r in records)
    assert [r.label for r in read_records(out / "runs.jsonl")] == [r.label for r in records]

    rows = by_key(calibrate(records))
    for mode, correct in (("code", N), ("text", 0)):
        mine = [r for r in records if r.mode == mode]
        overall = rows[(mode, ALL)]
        assert (overall.n, overall.correct) == (N, correct)
        assert overall.tokens == sum(r.tokens for r in mine)
        labelled = [row for (m, label), row in rows.items() if m == mode and label != ALL]
        assert sum(row.n for row in labelled) == N
        assert sum(row.correct for row in labelled) == correct
        for row in labelled:
            assert row.n == sum(r.label == row.label for r in mine)
    assert rows[("code", ALL)].tokens_per_correct == pytest.approx(
        sum(r.tokens for r in records if r.mode == "code") / N
    )
    assert rows[("text", ALL)].tokens_per_correct is None
    write_report(records, out)
    assert "| text | **all** | 2 | 100.0% | 0 | 0.0% | - |" in (out / "report.md").read_text()
