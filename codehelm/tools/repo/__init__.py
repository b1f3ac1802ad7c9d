"""Repository tools: confined navigation, search, editing, diff and tests (`Repo`), and the
repo map for localisation without a model (`rank_files`, `repo_map`)."""

from codehelm.tools.repo.map import rank_files, repo_map
from codehelm.tools.repo.paths import EditRefusedError, PathOutsideRepoError, RepoToolError
from codehelm.tools.repo.repo import Repo
from codehelm.tools.repo.testing import PytestCase, PytestRun

__all__ = [
    "EditRefusedError",
    "PathOutsideRepoError",
    "PytestCase",
    "PytestRun",
    "Repo",
    "RepoToolError",
    "rank_files",
    "repo_map",
]
