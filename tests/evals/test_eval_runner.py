"""`codehelm eval` end to end with a scripted model: records, resume, report, chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.evals.report import summarize
from codehelm.evals.runner import EvalPlan, read_records, run_eval
from codehelm.evals.tasks import generate_items
from codehelm.runtime.batch import LocalBatchRunner
from tests.conftest import code_reply, plan_reply

N = 2


def script_for_multiplication(tmp_path: Path) -> str:
    """Code that computes each item's product; text that always says 0."""
    items = generate_items(["multiplication"], N, seed=0)
    products = [" * ".join(map(str, item.data["operands"])) for item in items]
    script = {
        "planner": [plan_reply(("code", "Multiply"))],
        "coder": {product: code_reply(f"print({product})") for product in products},
        "reasoner": ["I estimate it.\nAnswer: 0"],
    }
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return f"scripted:{path}"


async def test_eval_records_checks_and_resumes(tmp_path: Path) -> None:
    settings = Settings(model=script_for_multiplication(tmp_path), home=tmp_path / "unused")
    plan = EvalPlan(families=["multiplication"], n=N, modes=["code", "text"])
    out = tmp_path / "out"
    planned: list[tuple[int, int]] = []
    records = await run_eval(
        plan, settings, out, LocalBatchRunner(1), on_plan=lambda t, d: planned.append((t, d))
    )
    assert planned == [(4, 0)]
    by_mode = {(r.item_id, r.mode): r for r in records}
    assert all(by_mode[(i.id, "code")].correct for i in generate_items(["multiplication"], N, 0))
    assert not any(r.correct for r in records if r.mode == "text")
    assert all(r.tokens > 0 and r.model_calls >= 1 and r.run_ids for r in records)
    assert len(read_records(out / "runs.jsonl")) == 4

    again = await run_eval(
        plan, settings, out, LocalBatchRunner(1), on_plan=lambda t, d: planned.append((t, d))
    )
    assert planned[-1] == (4, 4)  # everything was already done
    assert [r.key for r in again] == [r.key for r in records]
    assert len(read_records(out / "runs.jsonl")) == 4

    rows = {(r.family, r.mode): r for r in summarize(records)}
    assert rows[("multiplication", "code")].accuracy == 1.0
    assert rows[("all", "text")].accuracy == 0.0 and rows[("all", "text")].n == N


def test_a_damaged_journal_line_is_skipped(tmp_path: Path) -> None:
    journal = tmp_path / "runs.jsonl"
    journal.write_text('{"item_id": "x"\n')  # cut off by a kill mid-write
    assert read_records(journal) == []


def test_eval_command_writes_the_report_and_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEHELM_MODEL", raising=False)
    model = script_for_multiplication(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--families",
            "multiplication",
            "--n",
            str(N),
            "--steer",
            "code,text",
            "--model",
            model,
            "--concurrency",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "multiplication" in result.stdout and "100.0%" in result.stdout
    report = (out / "report.md").read_text()
    assert "| multiplication | code | 2 | 100.0% |" in report
    assert (out / "accuracy_vs_tokens.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--families", "chess"], "unknown families ['chess']"),
        (["--steer", "yolo"], "invalid eval option modes"),
        (["--n", "0"], "invalid eval option n"),
        (["--executor", "dask"], "unknown executor"),
    ],
)
def test_bad_eval_options_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--model", "scripted:/nonexistent.json", "--out", str(tmp_path), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
