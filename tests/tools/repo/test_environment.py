"""RepoEnvironment in a real LocalSandbox (bubblewrap, no network) on a repository made here."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from codehelm.tools.repo import (
    EnvironmentSpec,
    PatchApplyError,
    RepoEnvironment,
    upload_repository,
)
from codehelm.tools.sandbox.local import LocalSandbox
from tests.git_repo import CALC_PYPROJECT, git

PYPROJECT = CALC_PYPROJECT
TESTS = """\
from calc import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6
"""
FIX = """\
diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a + b
+    return a + b + 100
\x20
"""


def make_repo(root: Path) -> Path:
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "calc" / "__init__.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
    )
    (root / "tests" / "test_calc.py").write_text(TESTS)
    (root / ".gitignore").write_text("*.log\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding the calc repository and its built venv, and the build's Python."""
    repo = make_repo(tmp_path_factory.mktemp("src") / "calc")
    workspace = tmp_path_factory.mktemp("ws")

    async def build() -> str:
        async with LocalSandbox(workspace=workspace, timeout=60) as box:
            await upload_repository(box, repo, "repo")
            report = await RepoEnvironment(box, "repo", EnvironmentSpec()).build(timeout=300)
            assert report.ok, report.log
            return report.python

    return workspace, asyncio.run(build())


def test_build_offline_and_run_tests(built: tuple[Path, str]) -> None:
    workspace, python = built
    assert python.startswith("3.11.")
    assert (workspace / "repo-venv" / "bin" / "python").exists()

    async def check() -> None:
        async with LocalSandbox(workspace=workspace, timeout=60) as box:
            env = RepoEnvironment(box, "repo", EnvironmentSpec())
            run = await env.run_tests("tests")
            assert run.with_outcome("passed") == [
                "tests/test_calc.py::test_add",
                "tests/test_calc.py::test_mul",
            ]
            where = await env.run("python -c 'import calc, sys; print(calc.__file__, sys.prefix)'")
            assert where.ok and where.command.startswith("python -c")
            module, prefix = where.stdout.split()
            assert module == f"{workspace}/repo/calc/__init__.py"
            assert prefix == f"{workspace}/repo-venv"
            launcher = await env.run("pytest -q tests/test_calc.py::test_add")
            assert launcher.ok and "1 passed" in launcher.stdout

    asyncio.run(check())


def test_patch_reset_round_trip(built: tuple[Path, str]) -> None:
    workspace, _ = built

    async def check() -> None:
        async with LocalSandbox(workspace=workspace, timeout=60) as box:
            env = RepoEnvironment(box, "repo", EnvironmentSpec())
            await env.apply_patch(FIX)
            await box.files.write("repo/notes.txt", "scratch")
            run = await env.run_tests(["tests"])
            assert run.with_outcome("failed") == ["tests/test_calc.py::test_add"]
            assert run.with_outcome("passed") == ["tests/test_calc.py::test_mul"]
            await env.reset()
            status = await env.run("git status --porcelain")
            assert status.ok and status.stdout == ""
            assert (await env.run_tests("tests")).counts == {"passed": 2}

    asyncio.run(check())


def test_bad_patch_refused_with_gits_reason(built: tuple[Path, str]) -> None:
    workspace, _ = built
    stale = FIX.replace("return a + b\n+", "return a - b\n+")

    async def check() -> None:
        async with LocalSandbox(workspace=workspace, timeout=60) as box:
            env = RepoEnvironment(box, "repo", EnvironmentSpec())
            reason = r"does not apply: error: patch failed: calc/__init__.py:1"
            with pytest.raises(PatchApplyError, match=reason):
                await env.apply_patch(stale)
            with pytest.raises(PatchApplyError, match="empty"):
                await env.apply_patch("\n")
            assert (await env.run("git status --porcelain")).stdout == ""

    asyncio.run(check())


async def test_missing_interpreter_is_a_clear_environment_error(tmp_path: Path) -> None:
    async with LocalSandbox(timeout=30) as box:
        report = await RepoEnvironment(box, ".", EnvironmentSpec(python="2.5")).build()
    assert not report.ok and report.python == ""
    assert report.error is not None
    assert report.error.startswith("environment error: Python 2.5 is not installed")
    assert "pyenv install 2.5" in report.error


async def test_failing_install_is_reported_as_environment(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc")
    spec = EnvironmentSpec(install="python -m pip install -e ./missing-dir")
    async with LocalSandbox(timeout=60) as box:
        await upload_repository(box, repo, "repo")
        report = await RepoEnvironment(box, "repo", spec).build(timeout=300)
    assert not report.ok
    assert report.error is not None
    assert report.error.startswith("environment error: install `python -m pip install -e")
    assert "missing-dir" in report.log


async def test_upload_commit_or_working_tree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc" / "__init__.py").write_text("changed\n")
    (repo / "new.py").write_text("new\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    git(repo, "add", "run.sh")
    git(repo, "commit", "-q", "-m", "script")
    (repo / "link").symlink_to("calc/__init__.py")
    async with LocalSandbox(timeout=30) as box:
        await upload_repository(box, repo, "tree")
        await upload_repository(box, repo, "base", commit=base)
        assert await box.files.read("tree/calc/__init__.py") == "changed\n"
        assert await box.files.read("tree/new.py") == "new\n"
        assert (box.workspace / "tree" / "link").is_symlink()
        assert (box.workspace / "tree" / "run.sh").stat().st_mode & 0o111
        assert not (box.workspace / "tree" / "debug.log").exists()
        assert (await box.files.read("base/calc/__init__.py")).startswith("def add")
        assert not (box.workspace / "base" / "run.sh").exists()
        for dest in ("tree", "base"):
            status = await box.run_command("git status --porcelain && git log --oneline", cwd=dest)
            assert status.ok and status.stdout.count("\n") == 1, status.stdout
