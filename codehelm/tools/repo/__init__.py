"""Repository tools: confined navigation, search, editing, diff and tests (`Repo`), and the
repo map for localisation without a model (`rank_files`, `repo_map`), and isolated
environments to build, test and patch a repository in a sandbox (`RepoEnvironment`)."""

from codehelm.tools.repo.environment import (
    EnvironmentFailure,
    EnvironmentReport,
    EnvironmentSpec,
    PatchApplyError,
    RepoEnvironment,
    find_interpreter,
    upload_repository,
)
from codehelm.tools.repo.map import rank_files, repo_map
from codehelm.tools.repo.paths import EditRefusedError, PathOutsideRepoError, RepoToolError
from codehelm.tools.repo.repo import Repo
from codehelm.tools.repo.testing import PytestCase, PytestRun

__all__ = [
    "EditRefusedError",
    "EnvironmentFailure",
    "EnvironmentReport",
    "EnvironmentSpec",
    "PatchApplyError",
    "PathOutsideRepoError",
    "PytestCase",
    "PytestRun",
    "Repo",
    "RepoEnvironment",
    "RepoToolError",
    "find_interpreter",
    "rank_files",
    "repo_map",
    "upload_repository",
]
