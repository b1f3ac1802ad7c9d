"""The change history signal: recency-weighted change counts from ``git log``, in rank_files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from codehelm.tools.repo import history
from codehelm.tools.repo.history import change_scores, changed_files
from codehelm.tools.repo.map import RankWeights, file_signals, rank_files

ISSUE = "the parser drops the last token of a quoted value"
# two files the issue matches equally (same text, names it does not mention)
TWIN = "def parse(text):\n    # parser: split a quoted value into tokens\n    return text.split()\n"


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)


def _commit(root: Path, files: dict[str, str], message: str = "change") -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", message)


@pytest.fixture
def twins(tmp_path: Path) -> Path:
    """A repository whose two equally relevant files differ only in their history."""
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, {"pkg/alpha.py": TWIN, "pkg/beta.py": TWIN, "pkg/other.py": "X = 1\n"})
    return tmp_path


def test_history_breaks_the_tie_between_equal_files(twins: Path) -> None:
    assert rank_files(twins, ISSUE, k=2, weights=RankWeights(history=0.0)) == [
        "pkg/alpha.py",  # a tie, broken by name
        "pkg/beta.py",
    ]
    assert change_scores(twins) == {}  # the root commit adds everything: no change yet
    # beta changes twice and ends as it was: the text still cannot tell the twins apart
    _commit(twins, {"pkg/beta.py": TWIN + "\n# fix one\n"})
    _commit(twins, {"pkg/beta.py": TWIN, "pkg/other.py": "X = 2\n"})
    assert rank_files(twins, ISSUE, k=2) == ["pkg/beta.py", "pkg/alpha.py"]
    signals = file_signals(twins, ISSUE).history  # scaled by the maximum
    assert set(signals) == {"pkg/beta.py", "pkg/other.py"} and signals["pkg/beta.py"] == 1.0
    assert 0.0 < signals["pkg/other.py"] < 1.0
    # a newer HEAD is a new history (the cache is per HEAD commit)
    for text in (TWIN + "# one\n", TWIN + "# two\n", TWIN):
        _commit(twins, {"pkg/alpha.py": text})
    assert rank_files(twins, ISSUE, k=1) == ["pkg/alpha.py"]


def test_recent_changes_count_more(twins: Path) -> None:
    _commit(twins, {"pkg/alpha.py": TWIN + "\n# old\n"})
    _commit(twins, {"pkg/beta.py": TWIN + "\n# new\n"})
    scores = change_scores(twins, half_life=1.0)
    assert scores["pkg/beta.py"] == 1.0 and scores["pkg/alpha.py"] == 0.5
    assert changed_files(twins) == (("pkg/beta.py",), ("pkg/alpha.py",))


def test_paths_are_relative_to_a_subdirectory_root(twins: Path) -> None:
    _commit(twins, {"pkg/beta.py": TWIN + "\n# fix\n", "README": "x\n"})
    assert change_scores(twins / "pkg") == {"beta.py": 1.0}  # README is outside


def test_no_git_history_changes_nothing(tmp_path: Path) -> None:
    files = {"pkg/alpha.py": TWIN, "pkg/beta.py": TWIN + "# more\n", "pkg/c.py": "Y = 1\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert change_scores(tmp_path) == {}
    assert file_signals(tmp_path, ISSUE).history == {}
    assert rank_files(tmp_path, ISSUE) == rank_files(
        tmp_path, ISSUE, weights=RankWeights(history=0.0)
    )


def test_git_missing_means_no_history(twins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _commit(twins, {"pkg/beta.py": TWIN + "\n# fix\n"})
    assert rank_files(twins, ISSUE, k=1) == ["pkg/beta.py"]  # its history outweighs its length
    history.clear_cache()
    monkeypatch.setenv("PATH", str(twins / "no-such-bin"))
    assert change_scores(twins) == {}
    assert rank_files(twins, ISSUE, k=1) == ["pkg/alpha.py"]  # BM25 prefers the shorter one
