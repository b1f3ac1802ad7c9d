"""Repository tools (`codehelm.tools.repo.Repo`) on real git repositories made in tmp_path."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from codehelm.errors import BadInputError
from codehelm.tools.repo import EditRefusedError, PathOutsideRepoError, PytestRun, Repo
from codehelm.tools.repo.testing import junit_address
from codehelm.tools.sandbox.base import CommandResult, Sandbox
from tests.git_repo import git

pytestmark = pytest.mark.skipif(
    shutil.which("rg") is None or shutil.which("git") is None, reason="needs ripgrep and git"
)

CALC = '''"""Arithmetic."""


def add(a, b):
    return a - b


def mul(a, b):
    return a * b
'''

TEST_CALC = """from pkg.calc import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6
"""

TEST_MIX = """import pytest


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_pass():
    assert True


def test_fail():
    assert 1 == 2, "one is not two"


def test_error(broken):
    pass


@pytest.mark.skip(reason="not today")
def test_skip():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="fixed already")
def test_xpass():
    assert True


class TestGroup:
    @pytest.mark.parametrize("n", [1, 2])
    def test_param(self, n):
        assert n == 1
"""


def big_module() -> str:
    parts = ['"""A large module."""', "", "import os", ""]
    for i in range(40):
        parts += [
            "",
            f"class Thing{i}:",
            f'    """Thing number {i}."""',
            "",
            f"    def method_{i}(self, x: int,",
            "                  y: int = 2) -> int:",
            "        total = x + y",
            "        total += 1",
            "        return total",
            "",
            "    @property",
            f"    def name_{i}(self) -> str:",
            f"        return 'thing{i}'",
        ]
    parts += ["", "", "async def main() -> None:", "    pass", ""]
    return "\n".join(parts)


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        ".gitignore": "ignored/\n__pycache__/\n",
        "pkg/__init__.py": "",
        "pkg/calc.py": CALC,
        "pkg/util.py": "def twice(x):\n    return 2 * x  # add twice\n",
        "pkg/big.py": big_module(),
        "tests/test_calc.py": TEST_CALC,
        "notes.txt": "".join(f"needle {i}\n" for i in range(60)),
        "ignored/secret.py": "needle_secret = 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def repo(repo_dir: Path) -> Repo:
    return Repo(repo_dir)


# --- confinement ---------------------------------------------------------------------------


async def test_traversal_and_absolute_paths_are_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    for bad in ("../outside.txt", "pkg/../../outside.txt", str(outside), "/etc/passwd"):
        with pytest.raises(PathOutsideRepoError, match="outside the repository") as info:
            await repo.view(bad)
        assert bad in str(info.value)
        assert isinstance(info.value, BadInputError)
    with pytest.raises(PathOutsideRepoError):
        await repo.create("../new.py", "x = 1\n")
    with pytest.raises(PathOutsideRepoError):
        await repo.search_dir("secret", "..")
    assert not (tmp_path / "new.py").exists()
    # an absolute path inside the repository is fine
    assert "add" in await repo.view(str(repo.root / "pkg/calc.py"))


async def test_symlink_escape_is_refused(repo: Repo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    (repo.root / "link.txt").symlink_to(secret)
    (repo.root / "linkdir").symlink_to(tmp_path)
    with pytest.raises(PathOutsideRepoError, match="symlink") as info:
        await repo.view("link.txt")
    assert "link.txt" in str(info.value)
    with pytest.raises(PathOutsideRepoError, match="symlink"):
        await repo.str_replace("linkdir/secret.txt", "top", "bottom")
    assert secret.read_text() == "top secret\n"
    # a symlink that stays inside is followed
    (repo.root / "calc_link.py").symlink_to(repo.root / "pkg/calc.py")
    assert "def add" in await repo.view("calc_link.py")


# --- finding and searching -----------------------------------------------------------------


async def test_find_file_honours_gitignore(repo: Repo) -> None:
    found = await repo.find_file("*.py")
    assert "pkg/calc.py" in found and "tests/test_calc.py" in found
    assert "secret" not in found
    assert "no file matches" in await repo.find_file("*.rs")


async def test_find_file_cap(repo: Repo) -> None:
    for i in range(60):
        (repo.root / "gen" / f"m{i}.txt").parent.mkdir(exist_ok=True)
        (repo.root / "gen" / f"m{i}.txt").write_text("x\n")
    assert "60 files match 'gen/*.txt'" in await repo.find_file("gen/*.txt")
    assert "narrow your search" in await repo.find_file("gen/*.txt")


async def test_search_dir_fixed_string_grouped(repo: Repo) -> None:
    out = await repo.search_dir("add(")
    assert "3 matches in 2 files" in out
    assert "pkg/calc.py:" in out and "  4: def add(a, b):" in out
    assert "tests/test_calc.py:" in out
    assert "ignored/" not in await repo.search_dir("needle_secret")  # .gitignore honoured
    assert "no matches" in await repo.search_dir("needle_secret")
    # fixed strings by default, regex on request
    assert "no matches" in await repo.search_dir("a.d(")
    assert "pkg/calc.py" in await repo.search_dir(r"def (add|mul)", regex=True)
    assert "2 matches in 1 files" in await repo.search_dir("def ", "pkg/calc.py")


async def test_search_caps(repo: Repo) -> None:
    out = await repo.search_dir("needle")
    assert out.startswith("60 matches in 1 files") and "narrow your search" in out
    out = await repo.search_file("needle", "notes.txt")
    assert "60 matches" in out and "narrow your search" in out
    for i in range(25):
        (repo.root / f"f{i}.txt").write_text("common\n")
    out = await repo.search_dir("common")
    assert "25 matches in 25 files" in out and "narrow your search" in out


async def test_search_file(repo: Repo) -> None:
    out = await repo.search_file("return", "pkg/calc.py")
    assert "2 matches" in out and "5:     return a - b" in out and "9:     return a * b" in out
    assert "no matches" in await repo.search_file("zzz", "pkg/calc.py")
    with pytest.raises(BadInputError, match="not a file"):
        await repo.search_file("x", "pkg")


# --- viewing -------------------------------------------------------------------------------


async def test_view_numbers_and_window(repo: Repo) -> None:
    out = await repo.view("pkg/calc.py")
    assert "pkg/calc.py: lines 1-9 of 9" in out
    assert "5|     return a - b" in out
    out = await repo.view("notes.txt")
    assert "lines 1-100" not in out  # 60 lines fit the window
    small = Repo(repo.root, window=10)
    out = await small.view("notes.txt", 5)
    assert "lines 5-14 of 60" in out
    assert "(4 lines above)" in out and "(46 lines below; view from line 15" in out
    assert "needle 13" in out and "needle 14" not in out
    assert "lines 3-4 of 60" in await small.view("notes.txt", 3, 4)
    assert "out of range" in await small.view("notes.txt", 100)
    with pytest.raises(BadInputError, match="no such file"):
        await repo.view("nope.py")


async def test_large_python_file_is_shown_as_skeleton(repo: Repo) -> None:
    out = await repo.view("pkg/big.py")
    assert "shown as a skeleton" in out
    lines = (repo.root / "pkg/big.py").read_text().splitlines()
    number = lines.index("class Thing3:") + 1
    assert f"{number:>5}|" in out and "class Thing3:" in out
    assert "def method_3(self, x: int," in out and "y: int = 2) -> int:" in out  # full signature
    assert "@property" in out and "async def main() -> None:" in out
    assert "total += 1" not in out  # bodies elided
    assert "... (lines" in out
    # a range of the same file shows code
    assert "total += 1" in await repo.view("pkg/big.py", 1, 20)


# --- editing -------------------------------------------------------------------------------


async def test_str_replace_and_undo(repo: Repo) -> None:
    out = await repo.str_replace("pkg/calc.py", "return a - b", "return a + b")
    assert "5|     return a + b" in out and "1|" in out  # edited region, numbered
    assert "a + b" in (repo.root / "pkg/calc.py").read_text()
    await repo.str_replace("pkg/calc.py", "def mul", "def times")
    await repo.undo("pkg/calc.py")
    assert "def mul" in (repo.root / "pkg/calc.py").read_text()
    out = await repo.undo("pkg/calc.py")
    assert "0 earlier edits" in out
    assert (repo.root / "pkg/calc.py").read_text() == CALC
    with pytest.raises(EditRefusedError, match="nothing to undo"):
        await repo.undo("pkg/calc.py")


async def test_str_replace_refusals(repo: Repo) -> None:
    with pytest.raises(EditRefusedError, match=r"2 matches .* \(at lines 5, 9\)"):
        await repo.str_replace("pkg/calc.py", "return a", "return b")
    with pytest.raises(EditRefusedError, match="no match"):
        await repo.str_replace("pkg/calc.py", "return a / b", "x")
    assert (repo.root / "pkg/calc.py").read_text() == CALC


async def test_unparsable_edit_is_refused_and_reverted(repo: Repo) -> None:
    with pytest.raises(EditRefusedError, match=r"would not parse: line 4: .*") as info:
        await repo.str_replace("pkg/calc.py", "def add(a, b):", "def add(a, b)")
    assert "reverted" in str(info.value)
    assert (repo.root / "pkg/calc.py").read_text() == CALC
    with pytest.raises(EditRefusedError, match="would not parse"):
        await repo.insert("pkg/calc.py", 5, "  oops = (")
    assert (repo.root / "pkg/calc.py").read_text() == CALC
    with pytest.raises(EditRefusedError, match="nothing to undo"):
        await repo.undo("pkg/calc.py")  # refused edits leave no history
    # non-Python files are not parsed
    await repo.str_replace("notes.txt", "needle 0\n", "def (\n")


async def test_insert(repo: Repo) -> None:
    out = await repo.insert("pkg/calc.py", 9, "\n\ndef sub(a, b):\n    return a - b")
    assert "def sub(a, b):" in out and "12|" in out
    text = (repo.root / "pkg/calc.py").read_text()
    assert text == CALC + "\n\ndef sub(a, b):\n    return a - b\n"
    await repo.insert("pkg/calc.py", 0, "import math")
    assert (repo.root / "pkg/calc.py").read_text().startswith("import math\n")
    with pytest.raises(EditRefusedError, match="out of range"):
        await repo.insert("pkg/calc.py", 99, "x = 1")
    await repo.undo("pkg/calc.py")
    await repo.undo("pkg/calc.py")
    assert (repo.root / "pkg/calc.py").read_text() == CALC


async def test_create_refuses_overwrite_and_undo_removes(repo: Repo) -> None:
    out = await repo.create("pkg/sub/new.py", "x = 1\n")
    assert "created pkg/sub/new.py" in out
    assert (repo.root / "pkg/sub/new.py").read_text() == "x = 1\n"
    with pytest.raises(EditRefusedError, match="already exists"):
        await repo.create("pkg/sub/new.py", "y = 2\n")
    with pytest.raises(EditRefusedError, match="already exists"):
        await repo.create("pkg/calc.py", "")
    with pytest.raises(EditRefusedError, match="would not parse"):
        await repo.create("pkg/bad.py", "def f(:\n")
    assert not (repo.root / "pkg/bad.py").exists()
    assert "removed" in await repo.undo("pkg/sub/new.py")
    assert not (repo.root / "pkg/sub/new.py").exists()


async def test_concurrent_edits_are_serialised(repo: Repo) -> None:
    await asyncio.gather(
        repo.str_replace("pkg/calc.py", "def add", "def plus"),
        repo.str_replace("pkg/calc.py", "def mul", "def times"),
    )
    text = (repo.root / "pkg/calc.py").read_text()
    assert "def plus" in text and "def times" in text


# --- diff ----------------------------------------------------------------------------------


async def test_diff_includes_modified_and_new_files(repo: Repo) -> None:
    assert await repo.diff() == ""
    await repo.str_replace("pkg/calc.py", "return a - b", "return a + b")
    await repo.create("pkg/extra.py", "VALUE = 3\n")
    (repo.root / "ignored" / "more.py").write_text("x = 1\n")
    patch = await repo.diff()
    assert "diff --git a/pkg/calc.py b/pkg/calc.py" in patch
    assert "-    return a - b\n+    return a + b" in patch
    assert "diff --git a/pkg/extra.py b/pkg/extra.py" in patch
    assert "new file mode" in patch and "+VALUE = 3" in patch
    assert "ignored" not in patch
    assert git(repo.root, "diff", "--cached", "--name-only") == ""  # the index is untouched
    # the patch applies to a clean checkout
    clone = repo.root.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=clone, check=True)
    assert (clone / "pkg/extra.py").read_text() == "VALUE = 3\n"


# --- tests ---------------------------------------------------------------------------------


async def test_run_tests_finds_the_bug_and_its_fix(repo: Repo) -> None:
    before = await repo.run_tests(["tests/test_calc.py"])
    assert isinstance(before, PytestRun)
    assert before.exit_code == 1
    assert before.with_outcome("failed") == ["tests/test_calc.py::test_add"]
    assert before.with_outcome("passed") == ["tests/test_calc.py::test_mul"]
    assert "FAILED tests/test_calc.py::test_add" in before.summary()
    await repo.str_replace("pkg/calc.py", "return a - b", "return a + b")
    after = await repo.run_tests("tests/test_calc.py -q")
    assert after.ok and after.counts == {"passed": 2}
    assert sys.executable in after.command
    assert await repo.diff() and "__pycache__" not in await repo.diff()


async def test_run_tests_parses_every_outcome(repo: Repo) -> None:
    await repo.create("tests/test_mix.py", TEST_MIX)
    run = await repo.run_tests(["tests/test_mix.py"])
    outcomes = {t.nodeid: t.outcome for t in run.tests}
    base = "tests/test_mix.py::"
    assert outcomes == {
        base + "test_pass": "passed",
        base + "test_fail": "failed",
        base + "test_error": "error",
        base + "test_skip": "skipped",
        base + "test_xfail": "xfail",
        base + "test_xpass": "xpass",
        base + "TestGroup::test_param[1]": "passed",
        base + "TestGroup::test_param[2]": "failed",
    }
    messages = {t.nodeid: t.message for t in run.tests}
    assert "one is not two" in messages[base + "test_fail"]
    assert "not today" in messages[base + "test_skip"]
    assert run.exit_code == 1 and not run.timed_out


async def test_run_tests_collection_error_and_timeout(repo: Repo) -> None:
    await repo.create("tests/test_broken.py", "import no_such_module_xyz\n")
    run = await repo.run_tests(["tests/test_broken.py"])
    assert [t.outcome for t in run.tests] == ["error"]
    assert run.tests[0].nodeid == "tests/test_broken.py"
    await repo.create("tests/test_slow.py", "import time\n\ndef test_slow():\n    time.sleep(30)\n")
    slow = await repo.run_tests(["tests/test_slow.py"], timeout=2)
    assert slow.timed_out and slow.exit_code is None and slow.tests == []


class _Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def read(self, path: str) -> str:
        return (self.root / path).read_text()


class _SubprocessSandbox:
    """Just enough of a `Sandbox` for `run_tests`: commands run with /bin/sh in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = _Files(root)
        self.commands: list[str] = []

    async def run_command(
        self, cmd: str, *, timeout: float | None = None, cwd: str | None = None
    ) -> CommandResult:
        self.commands.append(cmd)
        shell = cmd.replace("python -m pytest", f"{sys.executable} -m pytest", 1)
        proc = await asyncio.create_subprocess_shell(
            shell,
            cwd=self.root / (cwd or "."),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return CommandResult(
            command=cmd, exit_code=proc.returncode, stdout=out.decode(), stderr=err.decode()
        )


async def test_run_tests_through_a_sandbox(repo: Repo) -> None:
    sandbox = _SubprocessSandbox(repo.root)
    run = await repo.run_tests("tests/test_calc.py", sandbox=cast(Sandbox, sandbox))
    assert sandbox.commands[0].startswith("PYTHONDONTWRITEBYTECODE=1 python -m pytest -rA")
    assert run.counts == {"failed": 1, "passed": 1}
    assert not list(repo.root.glob(".codehelm-junit-*.xml"))  # the report is cleaned up


def test_junit_address() -> None:
    assert junit_address("tests/test_a.py::TestC::test_x[1]") == ("tests.test_a.TestC", "test_x[1]")
    assert junit_address("tests/test_b.py") == ("", "tests.test_b")


def test_repo_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not a directory"):
        Repo(tmp_path / "missing")
