"""The local SWE-bench grader on a repository made here (acme/calc, with a real bug), in
bubblewrap sandboxes without network; instances and predictions files; the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.evals.swebench import (
    GradeConfig,
    GradeReport,
    InstanceFileError,
    InstanceSpec,
    Prediction,
    append_prediction,
    grade,
    predicted_ids,
    read_instances,
    read_predictions,
)
from tests.git_repo import CALC_PYPROJECT, git

pytest.importorskip("swebench", reason="grading needs the swebench extra")

CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
TESTS += "def test_add_zero():\n    assert add(0, 7) == 7\n"
GOLD = """\
diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -5,2 +5,2 @@ def add(a, b):
 def sub(a, b):
-    return a + b
+    return a - b
"""
BREAKS_ADD = """\
diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a + b
+    return a * b
\x20
"""
TEST_PATCH = """\
diff --git a/tests/test_add.py b/tests/test_add.py
--- a/tests/test_add.py
+++ b/tests/test_add.py
@@ -1,4 +1,4 @@
-from calc import add
+from calc import add, sub
\x20
\x20
 def test_add():
@@ -9,0 +10,4 @@ def test_add_zero():
+
+
+def test_sub():
+    assert sub(5, 3) == 2
"""
PYPROJECT = CALC_PYPROJECT
SPEC = InstanceSpec()  # pytest -rA, parsed by SWE-bench's pytest parser; codehelm's Python


def make_clone(repos: Path) -> str:
    """The clone of acme/calc under `repos`; returns the buggy base commit."""
    root = repos / "acme__calc"
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "calc" / "__init__.py").write_text(CALC)
    (root / "tests" / "test_add.py").write_text(TESTS)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    base = git(root, "rev-parse", "HEAD").strip()
    (root / "README").write_text("later work\n")  # the clone moves on past base_commit
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "later")
    return base


def instance(instance_id: str, base: str, repo: str = "acme/calc") -> dict[str, object]:
    return {
        "instance_id": instance_id,
        "repo": repo,
        "base_commit": base,
        "problem_statement": "sub adds instead of subtracting",
        "version": "0.1",
        "FAIL_TO_PASS": json.dumps(["tests/test_add.py::test_sub"]),
        "PASS_TO_PASS": json.dumps(
            ["tests/test_add.py::test_add", "tests/test_add.py::test_add_zero"]
        ),
        "test_patch": TEST_PATCH,
        "patch": GOLD,
        "environment_setup_commit": base,
    }


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradeReport:
    tmp = tmp_path_factory.mktemp("grade")
    base = make_clone(tmp / "repos")
    rows = [instance(f"acme__calc-{n}", base) for n in (1, 2, 3)]
    rows.append(instance("other__gone-1", base, repo="other/gone"))
    instances = read_instances(write_jsonl(tmp / "instances.jsonl", rows))
    patches = {"acme__calc-1": GOLD, "acme__calc-2": BREAKS_ADD, "acme__calc-3": ""}
    patches["other__gone-1"] = GOLD
    predictions = {i: Prediction(instance_id=i, model_patch=p) for i, p in patches.items()}
    config = GradeConfig(
        repos=tmp / "repos", home=tmp / "home", network=False, specs={"acme/calc": SPEC}
    )
    return asyncio.run(grade(instances, predictions, config))


def test_gold_patch_resolves(graded: GradeReport) -> None:
    assert graded.resolved == ["acme__calc-1"]
    gold = graded.instances[0]
    assert gold.tests["FAIL_TO_PASS"]["success"] == ["tests/test_add.py::test_sub"]
    assert len(gold.tests["PASS_TO_PASS"]["success"]) == 2


def test_breaking_and_empty_patches_are_unresolved(graded: GradeReport) -> None:
    assert graded.unresolved == ["acme__calc-2", "acme__calc-3"]
    breaking, empty = graded.instances[1], graded.instances[2]
    assert breaking.tests["PASS_TO_PASS"]["failure"] == [
        "tests/test_add.py::test_add",
        "tests/test_add.py::test_add_zero",
    ]
    assert breaking.reason.startswith("3 required tests fail: tests/test_add.py::test_sub")
    assert empty.reason == "empty patch"


def test_missing_clone_is_an_error(graded: GradeReport) -> None:
    assert list(graded.error) == ["other__gone-1"]
    assert graded.error["other__gone-1"].startswith("no clone of other/gone at ")
    assert graded.summary() == {
        "resolved": ["acme__calc-1"],
        "unresolved": ["acme__calc-2", "acme__calc-3"],
        "error": graded.error,
    }


async def test_patch_that_does_not_apply_is_unresolved(tmp_path: Path) -> None:
    base = make_clone(tmp_path / "repos")
    (one,) = read_instances(write_jsonl(tmp_path / "i.jsonl", [instance("acme__calc-9", base)]))
    stale = GOLD.replace("-    return a + b\n+", "-    return a / b\n+")
    config = GradeConfig(
        repos=tmp_path / "repos", home=tmp_path / "home", network=False, specs={"acme/calc": SPEC}
    )
    report = await grade(
        [one], {one.instance_id: Prediction(instance_id=one.instance_id, model_patch=stale)}, config
    )
    assert report.unresolved == ["acme__calc-9"]
    assert "does not apply: error: patch failed: calc/__init__.py:5" in report.instances[0].reason


def test_missing_base_commit_and_unknown_version_are_errors(tmp_path: Path) -> None:
    base = make_clone(tmp_path / "repos")
    rows = [instance("acme__calc-1", "0" * 40), instance("acme__calc-2", base)]
    instances = read_instances(write_jsonl(tmp_path / "i.jsonl", rows))
    predictions = {
        r.instance_id: Prediction(instance_id=r.instance_id, model_patch=GOLD) for r in instances
    }
    predictions["stray-1"] = Prediction(instance_id="stray-1", model_patch=GOLD)
    config = GradeConfig(repos=tmp_path / "repos", home=tmp_path / "home", network=False)
    report = asyncio.run(grade(instances, predictions, config))
    assert report.resolved == report.unresolved == []
    assert report.error["acme__calc-1"].startswith(f"base commit {'0' * 40} is not in ")
    assert report.error["acme__calc-2"].startswith("SWE-bench has no specification for acme/calc")
    assert report.error["stray-1"] == "not in the instances file"


def test_malformed_instances_name_line_and_field(tmp_path: Path) -> None:
    good = instance("a-1", "abc")
    path = tmp_path / "i.jsonl"
    path.write_text(json.dumps(good) + "\n\n{not json\n")
    with pytest.raises(InstanceFileError, match=r"i.jsonl line 3: invalid JSON"):
        read_instances(path)
    write_jsonl(path, [good, {**good, "instance_id": "a-2", "FAIL_TO_PASS": "[oops"}])
    with pytest.raises(InstanceFileError, match=r"line 2: field FAIL_TO_PASS: .*not a JSON list"):
        read_instances(path)
    write_jsonl(path, [{k: v for k, v in good.items() if k != "repo"}])
    with pytest.raises(InstanceFileError, match=r"line 1: field repo: Field required"):
        read_instances(path)
    (loaded,) = read_instances(write_jsonl(path, [{**good, "FAIL_TO_PASS": ["t::a"]}]))
    assert loaded.FAIL_TO_PASS == ["t::a"] and loaded.test_files() == ["tests/test_add.py"]


def test_parquet_instances(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow

    path = tmp_path / "i.parquet"
    pq.write_table(pyarrow.Table.from_pylist([instance("a-1", "abc")]), path)
    (loaded,) = read_instances(path)
    assert loaded.PASS_TO_PASS == [
        "tests/test_add.py::test_add",
        "tests/test_add.py::test_add_zero",
    ]


def test_predictions_append_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "out" / "preds.jsonl"
    assert predicted_ids(path) == set()
    append_prediction(path, Prediction(instance_id="a-1", model_name_or_path="m", model_patch="x"))
    with path.open("a") as file:
        file.write('{"instance_id": "a-2", "model_pa')  # a run killed mid-write
    assert predicted_ids(path) == {"a-1"}
    append_prediction(path, Prediction(instance_id="a-3", model_name_or_path="m", model_patch=""))
    assert list(read_predictions(path)) == ["a-1", "a-3"]
    assert path.read_text().count("\n") == 2


def test_cli_grade_json(tmp_path: Path) -> None:
    base = make_clone(tmp_path / "repos")
    rows = [instance("acme__calc-3", base), instance("other__gone-1", base, repo="other/gone")]
    instances = write_jsonl(tmp_path / "instances.jsonl", rows)
    preds = write_jsonl(
        tmp_path / "preds.jsonl",
        [
            {"instance_id": "acme__calc-3", "model_name_or_path": "m", "model_patch": ""},
            {"instance_id": "other__gone-1", "model_name_or_path": "m", "model_patch": GOLD},
        ],
    )
    args = ["grade", "--instances", str(instances), "--predictions", str(preds)]
    args += ["--repos", str(tmp_path / "repos"), "--home", str(tmp_path / "home"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary) == ["resolved", "unresolved", "error"]
    assert summary["resolved"] == [] and summary["unresolved"] == ["acme__calc-3"]
    assert list(summary["error"]) == ["other__gone-1"]

    missing = CliRunner().invoke(app, [*args[:2], str(tmp_path / "nope.jsonl"), *args[3:]])
    assert missing.exit_code == 2
    assert "no instances file at" in missing.stderr
