"""SWE-bench's own specifications, log parsers and resolution rule, from the `swebench`
package (4.1.0, the `swebench` extra), loaded without Docker, modal or datasets.

`swebench/__init__.py` and `swebench/harness/__init__.py` import docker, modal and datasets
eagerly; `swebench.harness.test_spec.test_spec` and the non-Python log parsers (through
`harness.utils`) pull in datasets and requests. So the packages `swebench`,
`swebench.harness`, `swebench.harness.test_spec` and `swebench.harness.log_parsers` are
registered bare (their real `__path__`, no `__init__` run), `test_spec.test_spec` as a
stand-in whose `TestSpec` carries what the log parsers read (`instance_id`, `repo`,
`version`), and the bare `log_parsers` gets the Python repositories' `MAP_REPO_TO_PARSER`
(the local grader builds Python environments only). Then only `harness.constants`,
`harness.log_parsers.python` and `harness.grading` are imported for real. Modules already
imported (e.g. `swebench` imported whole) are used as they are.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codehelm.errors import ConfigError

VERSION = "4.1.0"
INSTALL_HINT = "pip install 'codehelm[swebench]'"
Parser = Callable[[str, Any], dict[str, str]]


@dataclass
class TestSpec:
    """What SWE-bench's log parsers read of a test specification."""

    instance_id: str
    repo: str
    version: str


@dataclass(frozen=True)
class Upstream:
    """The parts of `swebench` the local grader uses."""

    specs: dict[str, dict[str, dict[str, Any]]]  # MAP_REPO_VERSION_TO_SPECS
    parsers: dict[str, Parser]  # MAP_REPO_TO_PARSER
    named_parsers: dict[str, Parser]  # parse_log_* functions by name, e.g. "pytest"
    requirement_paths: dict[str, list[str]]  # MAP_REPO_TO_REQS_PATHS
    repo_install: dict[str, str]  # MAP_REPO_TO_INSTALL
    fail_only_repos: set[str]
    tests_report: Callable[..., dict[str, dict[str, list[str]]]]  # get_eval_tests_report
    resolution_status: Callable[[dict[str, dict[str, Any]]], str]  # get_resolution_status
    eval_types: Any  # the EvalType enum
    resolved_full: str

    def evaluate(
        self, repo: str, status: dict[str, str], f2p: list[str], p2p: list[str]
    ) -> tuple[bool, dict[str, dict[str, list[str]]]]:
        """SWE-bench's rule (every FAIL_TO_PASS and PASS_TO_PASS test passes) on a status map,
        and its report: {"FAIL_TO_PASS": {"success": [...], "failure": [...]}, ...}."""
        fail_only = repo in self.fail_only_repos
        eval_type = self.eval_types.FAIL_ONLY if fail_only else self.eval_types.PASS_AND_FAIL
        report = self.tests_report(
            status, {"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p}, eval_type=eval_type
        )
        return self.resolution_status(report) == self.resolved_full, report

    def parser(self, repo: str, name: str | None) -> Parser | None:
        """The log parser named `name` (e.g. "pytest", "parse_log_django"), else the repo's."""
        if name:
            return self.named_parsers.get(name.removeprefix("parse_log_"))
        return self.parsers.get(repo)


def _bare_package(name: str, path: Path) -> None:
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        module.__package__ = name
        sys.modules[name] = module


@functools.cache
def load_upstream() -> Upstream:
    """Import SWE-bench's grading parts (cached); a `ConfigError` when it is not installed."""
    spec = importlib.util.find_spec("swebench")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"grading SWE-bench needs the swebench package: {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    _bare_package("swebench", root)
    _bare_package("swebench.harness", root / "harness")
    _bare_package("swebench.harness.test_spec", root / "harness" / "test_spec")
    _bare_package("swebench.harness.log_parsers", root / "harness" / "log_parsers")
    if "swebench.harness.test_spec.test_spec" not in sys.modules:
        stand_in = types.ModuleType("swebench.harness.test_spec.test_spec")
        stand_in.TestSpec = TestSpec  # type: ignore[attr-defined]
        sys.modules[stand_in.__name__] = stand_in
    try:
        constants = importlib.import_module("swebench.harness.constants")
        python_parsers = importlib.import_module("swebench.harness.log_parsers.python")
        parsers = sys.modules["swebench.harness.log_parsers"]
        if not hasattr(parsers, "MAP_REPO_TO_PARSER"):
            parsers.MAP_REPO_TO_PARSER = python_parsers.MAP_REPO_TO_PARSER_PY  # type: ignore[attr-defined]
        grading = importlib.import_module("swebench.harness.grading")
    except ImportError as exc:
        raise ConfigError(f"cannot load swebench ({exc}): {INSTALL_HINT}") from exc
    if not hasattr(constants, "MAP_REPO_TO_REQS_PATHS"):
        raise ConfigError(f"swebench {VERSION} is needed for its install specifications")
    named = {
        name.removeprefix("parse_log_"): value
        for name, value in vars(python_parsers).items()
        if name.startswith("parse_log_") and callable(value)
    }
    return Upstream(
        specs=constants.MAP_REPO_VERSION_TO_SPECS,
        parsers=parsers.MAP_REPO_TO_PARSER,
        named_parsers=named,
        requirement_paths=constants.MAP_REPO_TO_REQS_PATHS,
        repo_install=constants.MAP_REPO_TO_INSTALL,
        fail_only_repos=set(constants.FAIL_ONLY_REPOS),
        tests_report=grading.get_eval_tests_report,
        resolution_status=grading.get_resolution_status,
        eval_types=constants.EvalType,
        resolved_full=constants.ResolvedStatus.FULL.value,
    )
