"""Run pytest (locally or in a `Sandbox`) and parse its results per test.

Outcomes come from pytest's `--junitxml` report (xunit1, whose testcases name their file);
`-rA` short-summary lines supply node ids and tell an unexpected pass (XPASS), which junit
XML records as a plain pass, from a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from codehelm.tools.repo.paths import RepoToolError
from codehelm.tools.sandbox.base import Sandbox

Outcome = Literal["passed", "failed", "error", "skipped", "xfail", "xpass"]
OUTPUT_TAIL = 4000
PYTEST_FLAGS = ("-m", "pytest", "-rA", "-p", "no:cacheprovider", "-o", "junit_family=xunit1")
_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+)(?: - (.*)| (.*))?$")


class PytestCase(BaseModel):
    """One test's outcome."""

    model_config = ConfigDict(frozen=True)

    nodeid: str
    outcome: Outcome
    message: str = ""
    duration: float = 0.0


class PytestRun(BaseModel):
    """A pytest run: the command, its exit, each test's outcome and the output's tail."""

    model_config = ConfigDict(frozen=True)

    command: str
    exit_code: int | None  # None when the run was killed by the timeout
    timed_out: bool = False
    duration_s: float = 0.0
    tests: list[PytestCase] = []
    output: str = ""  # the last OUTPUT_TAIL characters of stdout and stderr

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(t.outcome for t in self.tests))

    @property
    def ok(self) -> bool:
        """True when pytest exited 0 (every collected test passed, skipped or xfailed)."""
        return self.exit_code == 0

    def with_outcome(self, *outcomes: Outcome) -> list[str]:
        """Node ids of the tests with one of `outcomes`."""
        return [t.nodeid for t in self.tests if t.outcome in outcomes]

    def summary(self) -> str:
        """A short text report for an agent: counts, then each failure or error."""
        if self.timed_out:
            head = f"pytest timed out after {self.duration_s:.0f}s"
        else:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())) or "no tests"
            head = f"pytest exit {self.exit_code}: {counts}"
        bad = [
            f"{t.outcome.upper()} {t.nodeid}: {t.message}"
            for t in self.tests
            if t.outcome in ("failed", "error")
        ]
        return "\n".join([head, *bad])


def junit_address(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's junit XML gives the test `nodeid`."""
    names = nodeid.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names = [n for n in names if n != "()"]
    return ".".join(names[:-1]), names[-1]


def _nodeid_from_file(file: str | None, classname: str, name: str) -> str:
    """A node id from xunit1's `file` attribute (SKIPPED summary lines carry no node id)."""
    if not file:
        return "::".join(k for k in (classname, name) if k)
    module = re.sub(r"\.py$", "", file.replace("/", "."))
    inner = classname.removeprefix(module).lstrip(".")
    return "::".join([file, *(inner.split(".") if inner else []), name])


def parse_results(xml_text: str, output: str) -> list[PytestCase]:
    """Per-test outcomes from a junit XML report and pytest's `-rA` output."""
    nodeids: dict[tuple[str, str], str] = {}
    xpass: set[tuple[str, str]] = set()
    for line in output.splitlines():
        match = _SUMMARY.match(line.strip())
        if match:
            key = junit_address(match.group(2))
            nodeids.setdefault(key, match.group(2))
            if match.group(1) == "XPASS":
                xpass.add(key)
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise RepoToolError(f"could not parse pytest's junit XML report: {exc}") from None
    cases = []
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        nodeid = nodeids.get(key) or _nodeid_from_file(case.get("file"), *key)
        outcome: Outcome = "passed"
        message = ""
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        if failure is not None:
            outcome, message = "failed", failure.get("message", "")
        elif error is not None:
            outcome, message = "error", error.get("message", "")
        elif skipped is not None:
            xfail = skipped.get("type") == "pytest.xfail"
            outcome, message = ("xfail" if xfail else "skipped"), skipped.get("message", "")
        elif key in xpass:
            outcome = "xpass"
        cases.append(
            PytestCase(
                nodeid=nodeid,
                outcome=outcome,
                message=message.strip().splitlines()[0] if message.strip() else "",
                duration=float(case.get("time") or 0.0),
            )
        )
    return cases


def _argv(args: list[str] | str | None) -> list[str]:
    if args is None:
        return []
    return shlex.split(args) if isinstance(args, str) else list(args)


async def run_local(
    root: Path, args: list[str] | str | None, *, python: str | None = None, timeout: float = 300.0
) -> PytestRun:
    """pytest `args` with `python` (default: this interpreter) in `root`, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="codehelm-pytest-") as tmp:
        xml = Path(tmp) / "junit.xml"
        argv = [python or sys.executable, *PYTEST_FLAGS, f"--junitxml={xml}", *_argv(args)]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        report = await asyncio.to_thread(xml.read_text) if xml.exists() else ""
    return PytestRun(
        command=shlex.join(argv),
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_s=time.perf_counter() - started,
        tests=parse_results(report, text) if report else [],
        output=text[-OUTPUT_TAIL:],
    )


async def run_in_sandbox(
    sandbox: Sandbox,
    args: list[str] | str | None,
    *,
    cwd: str | None = None,
    python: str = "python",
    timeout: float = 300.0,
) -> PytestRun:
    """pytest `args` through `sandbox.run_command`, in `cwd` of its workspace (default: root)."""
    xml = f".codehelm-junit-{uuid.uuid4().hex}.xml"
    command = shlex.join(
        [
            python,
            "-m",
            "pytest",
            "-rA",
            "-p",
            "no:cacheprovider",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={xml}",
            *_argv(args),
        ]
    )
    result = await sandbox.run_command(
        f"PYTHONDONTWRITEBYTECODE=1 {command}", timeout=timeout, cwd=cwd
    )
    text = result.stdout + result.stderr
    where = f"{cwd.rstrip('/')}/{xml}" if cwd else xml
    report = ""
    with contextlib.suppress(Exception):  # no report: pytest did not get to write one
        report = await sandbox.files.read(where)
    with contextlib.suppress(Exception):
        await sandbox.run_command(f"rm -f {shlex.quote(xml)}", cwd=cwd)
    return PytestRun(
        command=command,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        duration_s=result.duration_ms / 1000,
        tests=parse_results(report, text) if report else [],
        output=text[-OUTPUT_TAIL:],
    )
