"""The viewer under test: `codehelm ui` started as a process on a free port, headless
Chromium (Debian's, through chromium-driver) driving it, and runs made with scripted models."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import RunResult, solve
from tests.conftest import code_reply, plan_reply

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
MULTIPLY = {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Viewer:
    """A running `codehelm ui`: its port, and the file of what it printed."""

    process: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def printed(self) -> str:
        return self.log.read_text()

    def url(self, path: str = "/runs") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_viewer(home: Path, cwd: Path, *args: str) -> Viewer:
    """Start `codehelm ui --home HOME ARGS` in `cwd`, its output in `cwd/viewer.log`, and
    wait until it accepts connections."""
    port = free_port()
    command = [sys.executable, "-m", "codehelm", "ui", "--home", str(home), "--port", str(port)]
    log = cwd / "viewer.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 60
    while True:  # wait for the port
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Viewer(process, port, log)
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the viewer did not start in 60 s"
            time.sleep(0.05)


def stop(viewer: Viewer) -> None:
    viewer.process.terminate()
    viewer.process.wait(timeout=20)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def viewer(home: Path, tmp_path: Path) -> Iterator[Viewer]:
    running = start_viewer(home, tmp_path)
    yield running
    stop(running)


def run_settings(home: Path, script: dict[str, Any], **settings: Any) -> Settings:
    """Settings of a run whose model is `script` in a file (so the viewer can resume it)."""
    path = home.parent / f"script-{len(list(home.parent.glob('script-*.json')))}.json"
    path.write_text(json.dumps(script))
    return Settings(home=home, model=f"scripted:{path}", steer="plan", **settings)


def make_run(home: Path, script: dict[str, Any], prompt: str, **settings: Any) -> RunResult:
    """Solve `prompt` with a scripted model in `home`, as `codehelm solve` would."""
    chosen = run_settings(home, script, **settings)
    return asyncio.run(solve(prompt, settings=chosen, model=ScriptedModel(script)))


def chromium(profile: Path) -> WebDriver:
    """Headless Debian Chromium, without the background traffic a closed network refuses."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("the viewer's tests need chromium and chromium-driver: make test-setup")
    driver = chromium(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()
