"""Predictions files (SWE-bench's JSONL: instance_id, model_name_or_path, model_patch):
read, and appended to one line at a time so an interrupted run resumes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from codehelm.evals.swebench.instances import InstanceFileError


class Prediction(BaseModel):
    """A candidate patch for one instance."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    instance_id: str
    model_name_or_path: str = ""
    model_patch: str | None = ""


def read_predictions(path: Path) -> dict[str, Prediction]:
    """Predictions by instance id; a later line for the same id wins. Also reads SWE-bench's
    JSON form (a list of objects). A line cut short by a crash (the last) is ignored."""
    if not path.is_file():
        raise InstanceFileError(f"no predictions file at {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = list(enumerate(json.loads(text), 1))
        except json.JSONDecodeError as exc:
            raise InstanceFileError(f"{path}: invalid JSON: {exc.msg}") from None
    else:
        lines = text.splitlines()
        rows = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                if n == len(lines) and not text.endswith("\n"):
                    break  # a partial last line: written when the run was interrupted
                raise InstanceFileError(f"{path} line {n}: invalid JSON: {exc.msg}") from None
    found: dict[str, Prediction] = {}
    for n, row in rows:
        try:
            prediction = Prediction.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "record"
            raise InstanceFileError(f"{path} line {n}: field {field}: {first['msg']}") from None
        found[prediction.instance_id] = prediction
    return found


def predicted_ids(path: Path) -> set[str]:
    """Ids already in the predictions file at `path` (none if it does not exist yet)."""
    return set(read_predictions(path)) if path.exists() else set()


def append_prediction(path: Path, prediction: Prediction) -> None:
    """Append one prediction as a JSON line, flushed to disk. A last line cut off by an
    interrupted run is dropped first, so the file stays valid JSONL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(prediction.model_dump(), ensure_ascii=False) + "\n"
    with path.open("a+b") as file:
        file.seek(0)
        data = file.read()
        if data and not data.endswith(b"\n"):
            file.truncate(data.rfind(b"\n") + 1)
        file.write(line.encode("utf-8"))
        file.flush()
        os.fsync(file.fileno())
