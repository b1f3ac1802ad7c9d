"""Execution-state snapshots: a sandbox's workspace files and the picklable part of its
interpreter state, saved on the host so a resumed run gets its variables back.

It works through the `Sandbox` protocol alone (`run_code` and `files`), so every
backend gets it: code run inside the sandbox pickles the interpreter's globals
(with cloudpickle where the sandbox has it, so functions and classes defined in
earlier cells survive) into a file in the workspace; the host then archives the
workspace. What cannot be pickled (open files, sockets, generators...) is
listed, never silently dropped; imported modules are re-imported by name.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from codehelm.errors import BadInputError, SandboxError
from codehelm.snapshot_ref import SnapshotRef
from codehelm.tools.sandbox.base import Sandbox

STATE_FILE = ".codehelm-state.pkl"
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
# What the snapshot code imports in the interpreter, imported ahead (by a `SandboxPool`
# warming a sandbox). cloudpickle (~25 ms of CPU to import) is not: a snapshot imports it
# only for values plain pickle cannot carry to another interpreter.
PRELOAD = """
import importlib as _importlib, json as _json, pickle as _pickle, types as _types
del _importlib, _json, _pickle, _types
"""

_SAVE = f"""
def _codehelm_save_state():
    import json, pickle, types
    pickler = pickle  # cloudpickle once a value needs it: one defined here (in __main__)
    values, modules, skipped = {{}}, {{}}, []
    for name, value in list(globals().items()):
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
            continue
        try:
            plain = b"__main__" not in pickle.dumps(value)
        except Exception:
            plain = False
        if not plain and pickler is pickle:
            try:
                import cloudpickle as pickler
            except ImportError:
                pass
        try:
            if not plain:
                pickler.dumps(value)
        except Exception as exc:
            skipped.append(f"{{name}} ({{type(value).__name__}}: {{type(exc).__name__}})")
        else:
            values[name] = value
    if values or modules:
        with open({STATE_FILE!r}, "wb") as handle:
            pickler.dump({{"values": values, "modules": modules}}, handle)
    print(json.dumps({{"saved": sorted(values), "modules": sorted(modules), "skipped": skipped}}))
_codehelm_save_state()
del _codehelm_save_state
"""

_RESTORE = f"""
def _codehelm_restore_state():
    import importlib, json, os, pickle
    with open({STATE_FILE!r}, "rb") as handle:
        state = pickle.load(handle)
    os.remove({STATE_FILE!r})
    failed = []
    for name, module in state["modules"].items():
        try:
            globals()[name] = importlib.import_module(module)
        except Exception as exc:
            failed.append(f"{{name}} (import {{module}}: {{type(exc).__name__}})")
    globals().update(state["values"])
    print(json.dumps({{"restored": sorted(state["values"]), "failed": failed}}))
_codehelm_restore_state()
del _codehelm_restore_state
"""


async def take_snapshot(sandbox: Sandbox, path: Path) -> SnapshotRef:
    """Save `sandbox`'s interpreter state and workspace files to the archive `path`."""
    saved = await sandbox.run_code(_SAVE, timeout=60)
    if not saved.ok:
        why = saved.error.summary() if saved.error else "timed out"
        raise SandboxError(f"could not snapshot the interpreter state: {why}")
    report = _report(saved.stdout, "saved")
    state_saved = bool(report["saved"] or report["modules"])  # else no state file was written
    names = await _walk(sandbox, ".")
    if not names:  # an empty sandbox, the common start of a run: nothing to archive
        return SnapshotRef(path="", skipped=report["skipped"])
    buffer = io.BytesIO()
    count = 0
    skipped_files: list[str] = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in names:
            try:
                data = await sandbox.files.read_bytes(name)
            except BadInputError as exc:  # e.g. a symlink out of the workspace (a venv's python)
                skipped_files.append(f"{name} ({exc})")
                continue
            await asyncio.to_thread(_add, archive, name, data)  # compressing: off the loop
            count += name != STATE_FILE
            if buffer.tell() > MAX_SNAPSHOT_BYTES:
                raise SandboxError(
                    f"the workspace is over {MAX_SNAPSHOT_BYTES >> 20} MB; "
                    "snapshots keep small workspaces only"
                )
    if state_saved:
        await sandbox.run_code(f"import os as _os; _os.remove({STATE_FILE!r}); del _os")
    size = await asyncio.to_thread(_write, path, buffer.getvalue())
    return SnapshotRef(
        path=str(path),
        variables=report["saved"],
        skipped=report["skipped"],
        files=count,
        size_bytes=size,
        skipped_files=skipped_files,
    )


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    archive.addfile(info, io.BytesIO(data))


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _read(path: Path) -> dict[str, bytes]:
    """The files in the archive at `path` (name -> contents)."""
    files: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            if member.isfile() and handle is not None:
                files[member.name] = handle.read()
    return files


async def restore_snapshot(sandbox: Sandbox, ref: SnapshotRef) -> list[str]:
    """Put a snapshot's files and variables into `sandbox`; returns what could not be restored."""
    if ref.empty:
        return list(ref.skipped)
    try:
        files = await asyncio.to_thread(_read, Path(ref.path))
    except FileNotFoundError as exc:
        raise SandboxError(
            f"the snapshot {ref.path} is gone; the run's variables are lost"
        ) from exc
    for name, data in files.items():
        await sandbox.files.write(name, data)
    if STATE_FILE not in files:  # workspace files alone: no variable or module was saved
        return list(ref.skipped)
    restored = await sandbox.run_code(_RESTORE, timeout=60)
    if not restored.ok:
        why = restored.error.summary() if restored.error else "timed out"
        raise SandboxError(f"could not restore the interpreter state: {why}")
    report = _report(restored.stdout, "failed")
    return [*ref.skipped, *report["failed"]]


def _report(stdout: str, key: str) -> dict[str, Any]:
    """The JSON line the snapshot code printed last (user threads may print too)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and key in report:
            return report
    raise SandboxError(f"the sandbox gave no snapshot report (it printed {stdout[-200:]!r})")


async def _walk(sandbox: Sandbox, folder: str) -> list[str]:
    names: list[str] = []
    for entry in await sandbox.files.list(folder):
        if entry.is_dir:
            names += await _walk(sandbox, entry.path)
        else:
            names.append(entry.path)
    return names
