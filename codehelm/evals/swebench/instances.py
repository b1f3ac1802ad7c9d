"""SWE-bench task instances: `SWEInstance`, read from JSONL or parquet, and their clones."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from codehelm.errors import BadInputError

_DIFF_TARGET = re.compile(r"^diff --git a/.* b/(.*)$", re.MULTILINE)


class InstanceFileError(BadInputError):
    """An instances or predictions file cannot be read; the message names the line and field."""


class SWEInstance(BaseModel):
    """One SWE-bench task instance (the fields the grader and the fix command use)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    instance_id: str
    repo: str  # "owner/name"
    base_commit: str
    problem_statement: str = ""
    version: str = ""
    FAIL_TO_PASS: list[str] = []
    PASS_TO_PASS: list[str] = []
    test_patch: str = ""
    patch: str = ""  # the gold patch
    environment_setup_commit: str = ""
    eval_script: str | None = None
    log_parser: str | None = None

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        """SWE-bench's files hold these lists JSON-encoded in a string."""
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list of test names: {exc}") from None
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def test_files(self) -> list[str]:
        """The files the test patch touches, in order."""
        return list(dict.fromkeys(_DIFF_TARGET.findall(self.test_patch)))

    def clone_path(self, repos: Path) -> Path:
        """Where `repos` holds this instance's repository: `<repos>/<owner>__<name>`."""
        return repos / self.repo.replace("/", "__")


def _instance(row: Any, where: str) -> SWEInstance:
    if not isinstance(row, dict):
        raise InstanceFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    try:
        return SWEInstance.model_validate(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        raise InstanceFileError(f"{where}: field {field}: {first['msg']}") from None


def read_instances(path: Path) -> list[SWEInstance]:
    """Instances from a JSONL file (one object a line) or a parquet file (needs pyarrow)."""
    if not path.is_file():
        raise InstanceFileError(f"no instances file at {path}")
    if path.suffix == ".parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise InstanceFileError(f"reading {path} needs pyarrow: pip install pyarrow")
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
        instances = [_instance(row, f"{path} row {n}") for n, row in enumerate(rows, 1)]
    else:
        instances = []
        with path.open(encoding="utf-8") as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InstanceFileError(f"{path} line {n}: invalid JSON: {exc.msg}") from None
                instances.append(_instance(row, f"{path} line {n}"))
    seen: set[str] = set()
    for instance in instances:
        if instance.instance_id in seen:
            raise InstanceFileError(f"{path}: instance_id {instance.instance_id} appears twice")
        seen.add(instance.instance_id)
    return instances


def clone_problem(instance: SWEInstance, repos: Path) -> str | None:
    """Why the clone under `repos` cannot serve `instance` (missing, or no base commit)."""
    clone = instance.clone_path(repos)
    if not (clone / ".git").exists():
        return (
            f"no clone of {instance.repo} at {clone}: "
            f"git clone https://github.com/{instance.repo} {clone}"
        )
    found = subprocess.run(
        ["git", "-C", str(clone), "cat-file", "-e", f"{instance.base_commit}^{{commit}}"],
        capture_output=True,
    )
    if found.returncode != 0:
        return f"base commit {instance.base_commit} is not in {clone}: git -C {clone} fetch"
    return None
