"""`codehelm eval --executor ray` on a real Ray cluster started with `ray start --head`, runs
kept in PostgreSQL: a worker killed in the middle of a job is replaced, the job retried and
taken up from its checkpoint, and `runs.jsonl` and the run store each hold every job once."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from codehelm.evals.runner import read_records
from codehelm.evals.tasks import generate_items
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply

pytestmark = pytest.mark.slow

N = 4
JOB_PROCESS = "ray::_run_job"  # the title Ray gives a worker while it runs a job


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_env() -> dict[str, str]:
    """The environment of the cluster and its clients: token authentication (as Ray turns
    on by itself once `~/.ray/auth_token` exists), with a token of this test's own."""
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@pytest.fixture(scope="module")
def ray_cluster(ray_env: dict[str, str]) -> Iterator[str]:
    """The address of a two-CPU Ray cluster on 127.0.0.1, stopped at the end."""
    pytest.importorskip("ray")
    ray = Path(sys.executable).with_name("ray")
    # Ray's socket paths live under its temporary folder and must stay short.
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    port = _free_port()
    start = [ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    options = ["--num-cpus", "2", "--temp-dir", temp, "--include-dashboard", "false"]
    options += ["--disable-usage-stats", "--object-store-memory", str(100 * 2**20)]
    env = {**ray_env, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([*start, *options], check=True, capture_output=True, env=env, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _slow_script(tmp_path: Path) -> str:
    """Programs that take three seconds to print each item's product."""
    items = generate_items(["multiplication"], N, seed=0)
    products = [" * ".join(map(str, item.data["operands"])) for item in items]
    slow = {p: code_reply(f"import time\ntime.sleep(3)\nprint({p})") for p in products}
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"planner": [plan_reply(("code", "Multiply"))], "coder": slow}))
    return f"scripted:{path}"


def _runs_a_job(process: psutil.Process) -> bool:
    try:
        return (process.cmdline() or [""])[0].startswith(JOB_PROCESS)
    except psutil.Error:  # it ended meanwhile
        return False


def _kill_a_busy_worker(deadline: float) -> int:
    """SIGKILL a Ray worker once it has been running a job for a second; its pid."""
    while time.monotonic() < deadline:
        for process in psutil.process_iter():
            if _runs_a_job(process):
                time.sleep(1.0)
                if _runs_a_job(process):  # still the same job: its program sleeps 3 s
                    process.send_signal(signal.SIGKILL)
                    return process.pid
        time.sleep(0.1)
    raise AssertionError("no Ray worker ever ran a job")


def test_eval_on_a_ray_cluster_retries_a_killed_workers_job_once(
    ray_cluster: str, ray_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "codehelm", "eval", "--families", "multiplication"]
    command += ["--n", str(N), "--steer", "code", "--model", _slow_script(tmp_path)]
    command += ["--executor", "ray", "--ray-address", ray_cluster, "--concurrency", "2"]
    command += ["--checkpoints", database_url, "--out", str(out)]
    env = {**ray_env, "CODEHELM_HOME": str(tmp_path / "home")}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        try:
            killed = _kill_a_busy_worker(time.monotonic() + 120)
            stdout, stderr = run.communicate(timeout=300)
        finally:
            run.kill()
    assert run.returncode == 0, stderr.decode()[-3000:]
    assert not psutil.pid_exists(killed)

    records = read_records(out / "runs.jsonl")
    assert sorted(r.item_id for r in records) == sorted(
        i.id for i in generate_items(["multiplication"], N, 0)
    )
    assert all(r.error is None and r.correct for r in records), [r.error for r in records]
    with TraceStore(database_url) as store:  # one run per job, every one finished
        runs = store.runs(limit=100)
    assert sorted(r.run_id for r in runs) == sorted(i for r in records for i in r.run_ids)
    assert {r.status for r in runs} == {"done"}
    assert "multiplication" in stdout.decode() and "100.0%" in stdout.decode()
