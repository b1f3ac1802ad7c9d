"""Page loads of the run viewer (`codehelm ui`), and a screenshot of each of its pages.

Builds a home folder of real runs made with a scripted model (a solved task, a run paused for
approval, a research run on a small corpus, an eval folder), a run of --events trace events
(the solved run's events recorded again until there are that many) and --runs more runs for
the list; starts `codehelm ui` on a free port; and times each page: the server's answer
(median and p95 of repeated requests) and the browser's load (Navigation Timing, request to
load event, in headless Chromium: Debian's chromium and chromium-driver), beside the CPU
time the app spends on it (served in this process), which other work on the machine does
not inflate.

    python benchmarks/viewer.py [--events 1000] [--runs 5000] [--out DIR]

Target: every page under 300 ms with a run of 1,000 trace events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codehelm.evals.report import write_report
from codehelm.evals.runner import EvalPlan, run_eval
from codehelm.messages import Usage
from codehelm.models import ScriptedModel
from codehelm.runtime.batch import make_batch_runner
from codehelm.runtime.research import research
from codehelm.runtime.trace import TraceStore
from codehelm.ui.app import create_app
from codehelm.ui.stores import Stores
from tests.conftest import code_reply, plan_reply
from tests.graphs.test_research import EXTRACTION, corpus, scope
from tests.ui.conftest import (
    MULTIPLY,
    chromium,
    make_run,
    run_settings,
    start_viewer,
    stop,
)

TARGET_MS = 300.0
REQUESTS = 20


def build(work: Path, events: int, runs: int) -> dict[str, str]:
    """The runs and eval folder; returns the page to show for each name."""
    home = work / "home"
    solved = make_run(home, MULTIPLY, "What is 6 * 7?")
    paused = make_run(home, MULTIPLY, "What is 6 * 7, once a person approves?", approve=True)
    big = replay(home, solved.run_id, events)
    researched = asyncio.run(
        research(
            "Which Python version added asyncio.TaskGroup?",
            settings=run_settings(home, {}, corpus=corpus(work)),
            model=ScriptedModel(
                {
                    "planner": [scope("asyncio.TaskGroup added in version")],
                    "mindmap": [EXTRACTION],
                    "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
                }
            ),
        )
    )
    evaluate(work / "eval-demo", home)
    with TraceStore(home / "trace.sqlite") as store:  # a long history for the list
        for i in range(runs):
            store.start_run(f"old{i:06d}", "solve", f"an earlier task, number {i}", {})
            store.end_run(f"old{i:06d}", status="done", answer=str(i), usage=Usage(calls=1))
    return {
        "runs": "/runs",
        "runs-search": "/runs?q=6+*+7",
        "run": f"/runs/{solved.run_id}",
        f"run-{events}-events": f"/runs/{big}",
        "approval": f"/runs/{paused.run_id}",
        "research": f"/runs/{researched.run_id}",
        "evals": "/evals",
        "eval": "/evals/eval-demo",
        "eval-runs": "/evals/eval-demo/records?family=all&mode=code",
    }


def replay(home: Path, run_id: str, events: int) -> str:
    """A run with `events` trace events: those of `run_id`, recorded again in order."""
    big = "big" + run_id[3:]
    with TraceStore(home / "trace.sqlite") as store:
        record = store.get_run(run_id)
        original = store.events(run_id)
        store.start_run(big, record.kind, f"{record.prompt} ({events} events)", record.settings)
        for i in range(events):
            e = original[i % len(original)]
            store.record(
                big,
                e.kind,
                agent=e.agent,
                name=e.name,
                status=e.status,
                payload=e.payload,
                duration_ms=e.duration_ms,
            )
        store.end_run(big, status="done", answer=record.answer, stop_reason=record.stop_reason)
    return big


def evaluate(folder: Path, home: Path) -> None:
    script = {
        "planner": [plan_reply(("code", "Compute it"))],
        "coder": [code_reply("print(42)")],
        "reasoner": ["Answer: 42"],
    }
    plan = EvalPlan(families=["multiplication", "letters"], n=2, modes=["code", "text"])
    runner = make_batch_runner("local", concurrency=2)
    records = asyncio.run(run_eval(plan, run_settings(home, script), folder, runner))
    write_report(records, folder)


def server_ms(url: str) -> list[float]:
    """Times of repeated requests for `url`; the first is the page's first load (the graph
    drawn, each step rendered), the others come after it (steps are rendered once)."""
    times = []
    with httpx.Client() as client:
        for _ in range(1 + REQUESTS):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return times


def cpu_ms(client: TestClient, path: str) -> float:
    """The median CPU time the app spends on `path`, served in this process: what a page
    costs whatever else the machine is doing."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(REQUESTS):
        start = time.process_time()
        client.get(path).raise_for_status()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def browser_ms(browser: WebDriver, url: str, screenshot: Path) -> tuple[float, int]:
    """The browser's load time of `url` (ms) and the page's size (bytes); saves a screenshot
    once the graph, if any, is drawn."""
    browser.set_window_size(1280, 900)
    browser.get(url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")
    timing = browser.execute_script(
        "const t = performance.getEntriesByType('navigation')[0];"
        "return [t.loadEventEnd - t.startTime, t.transferSize];"
    )
    if browser.find_elements(By.CSS_SELECTOR, "pre.mermaid"):
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#graph svg")))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height), 6000))
    browser.save_screenshot(str(screenshot))
    return float(timing[0]), int(timing[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "codehelm-viewer-screenshots"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pages = build(work, args.events, args.runs)
        viewer = start_viewer(work / "home", work)
        browser = chromium(work / "chromium")
        try:
            browser.get(viewer.url("/evals"))  # a cold browser's first page is not the viewer's
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(
                f"{'page':<18} {'first load':>10} {'then median':>11} {'p95':>6}"
                f" {'server CPU':>10} {'browser load':>12} {'KB':>5}"
            )
            worst = 0.0
            app = create_app(Stores.found(work / "home", [], work))
            client = TestClient(app, base_url="http://127.0.0.1")
            for name, path in pages.items():
                first, *times = server_ms(viewer.url(path))
                median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
                cpu = cpu_ms(client, path)
                load, size = browser_ms(browser, viewer.url(path), args.out / f"{name}.png")
                worst = max(worst, first, p95, load)
                print(
                    f"{name:<18} {first:>7.1f} ms {median:>8.1f} ms {p95:>6.1f} {cpu:>7.1f} ms"
                    f" {load:>9.1f} ms {size / 1024:>5.0f}"
                )
        finally:
            browser.quit()
            stop(viewer)
    verdict = "under" if worst < TARGET_MS else "OVER"
    print(f"slowest: {worst:.1f} ms, {verdict} the {TARGET_MS:.0f} ms target")
    print(f"screenshots: {args.out}")


if __name__ == "__main__":
    main()
