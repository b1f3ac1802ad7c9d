"""`codehelm swebench` writes predictions with the fix graph (scripted model) that the local
grader resolves; a second run skips what is already predicted."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.evals.swebench import GradeConfig, InstanceSpec, grade, read_instances
from codehelm.evals.swebench.predictions import read_predictions
from tests.graphs.fix_repo import FIX_NEW, FIX_OLD, ISSUE, REPRODUCTION, make_repo

pytest.importorskip("swebench", reason="grading needs the swebench extra")

TEST_PATCH = """\
diff --git a/tests/test_stats.py b/tests/test_stats.py
--- a/tests/test_stats.py
+++ b/tests/test_stats.py
@@ -7,3 +7,7 @@ def test_mean():

 def test_median_of_odd_length():
     assert median([3, 1, 2]) == 2
+
+
+def test_median_of_even_length():
+    assert median([4, 1, 3, 2]) == 2.5
"""


def write_instances(repos: Path, path: Path) -> None:
    clone = make_repo(repos / "acme__calc")
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, check=True, capture_output=True, text=True
    ).stdout.strip()
    row = {
        "instance_id": "acme__calc-1",
        "repo": "acme/calc",
        "base_commit": base,
        "problem_statement": ISSUE,
        "version": "0.1",
        "FAIL_TO_PASS": json.dumps(["tests/test_stats.py::test_median_of_even_length"]),
        "PASS_TO_PASS": json.dumps(
            ["tests/test_stats.py::test_mean", "tests/test_stats.py::test_median_of_odd_length"]
        ),
        "test_patch": TEST_PATCH,
        "patch": "",
        "environment_setup_commit": base,
    }
    path.write_text(json.dumps(row) + "\n")


def test_scripted_predictions_are_resolved_by_the_grader(tmp_path: Path) -> None:
    repos, instances, out = tmp_path / "repos", tmp_path / "instances.jsonl", tmp_path / "p.jsonl"
    write_instances(repos, instances)
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "localiser": [json.dumps({"functions": ["calc/stats.py::median"]})],
                "reproducer": [json.dumps({"code": REPRODUCTION})],
                "repairer": [
                    json.dumps(
                        {"edits": [{"path": "calc/stats.py", "old": FIX_OLD, "new": FIX_NEW}]}
                    )
                ],
            }
        )
    )
    args = [
        "swebench",
        *("--instances", str(instances), "--repos", str(repos), "--out", str(out)),
        *("--model", f"scripted:{script}", "--candidates", "1", "--home", str(tmp_path / "h")),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    predictions = read_predictions(out)
    assert "+    if n % 2:" in (predictions["acme__calc-1"].model_patch or "")
    assert predictions["acme__calc-1"].model_name_or_path.startswith("codehelm/")

    again = CliRunner().invoke(app, [*args, "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] == ["acme__calc-1"]
    assert len(out.read_text().splitlines()) == 1

    config = GradeConfig(repos=repos, home=tmp_path / "h", specs={"acme/calc": InstanceSpec()})
    report = asyncio.run(grade(read_instances(instances), predictions, config))
    assert report.resolved == ["acme__calc-1"], report.instances[0].model_dump_json(indent=1)
