"""The viewer in a real browser: the runs list, a run page, live updates, approvals."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from codehelm.chat import ChatMessage
from codehelm.messages import Usage, new_id
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import code_reply, plan_reply
from tests.ui.conftest import MULTIPLY, Viewer, make_run, run_settings

WAIT = 30  # seconds a page may take to show what is expected


def css(browser: WebDriver, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def test_runs_list_shows_a_run_made_in_the_test(
    home: Path, viewer: Viewer, browser: WebDriver
) -> None:
    run = make_run(home, MULTIPLY, "What is 6 * 7?")
    browser.get(viewer.url("/runs"))
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-run="{run.run_id}"]')
    cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1:5] == ["done", "What is 6 * 7?", "42", "uncertain"]
    assert int(cells[5]) == run.steps and int(cells[6]) == run.usage.total_tokens

    search = browser.find_element(By.NAME, "q")
    search.send_keys("no such task")
    search.submit()
    WebDriverWait(browser, WAIT).until(seen.url_contains("q=no+such+task"))
    assert not browser.find_elements(By.CSS_SELECTOR, "tr.run")


def test_runs_list_pages_through_thousands_of_runs_newest_first(
    home: Path, viewer: Viewer, browser: WebDriver
) -> None:
    with TraceStore(home / "trace.sqlite") as store:
        for i in range(1200):
            store.start_run(f"run{i:05d}", "solve", f"task number {i}", {})
            failed = i % 100 == 0
            store.end_run(
                f"run{i:05d}",
                status="failed" if failed else "done",
                answer=None if failed else str(i),
                usage=Usage(prompt_tokens=i),
            )
    browser.get(viewer.url("/runs"))
    ids = [
        row.get_attribute("data-run") for row in browser.find_elements(By.CSS_SELECTOR, "tr.run")
    ]
    assert ids == [f"run{i:05d}" for i in range(1199, 1149, -1)]
    assert "page 1 of 24" in css(browser, "nav.pages")
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    WebDriverWait(browser, WAIT).until(
        seen.text_to_be_present_in_element((By.CSS_SELECTOR, "nav.pages"), "page 2 of 24")
    )
    assert browser.find_element(By.CSS_SELECTOR, "tr.run").get_attribute("data-run") == "run01149"

    browser.get(viewer.url("/runs?status=failed&q=task+number+1"))
    shown = [
        row.get_attribute("data-run") for row in browser.find_elements(By.CSS_SELECTOR, "tr.run")
    ]
    assert shown == ["run01100", "run01000", "run00100"]


def test_run_page_shows_the_program_the_answer_and_the_graph(
    home: Path, viewer: Viewer, browser: WebDriver
) -> None:
    run = make_run(home, MULTIPLY, "What is 6 * 7?")
    browser.get(viewer.url(f"/runs/{run.run_id}"))
    assert css(browser, "#answer") == "42" and css(browser, "#stop-reason") == "reproduced"
    program = browser.find_element(By.CSS_SELECTOR, ".m-code_action .program")
    assert program.text.strip() == "print(6 * 7)"
    assert program.find_elements(By.CSS_SELECTOR, ".hl span.nb")  # `print`, highlighted
    assert "[code] Multiply" in " ".join(css(browser, ".m-plan .plan").split()).replace(
        "code ", "[code] "
    )
    assert css(browser, ".m-execution .stdout").strip() == "42"
    assert "executed" in css(browser, ".m-verdict .checks")
    calls = browser.find_elements(By.CSS_SELECTOR, ".ev-model_call")
    assert [c.find_element(By.CSS_SELECTOR, ".agent").text for c in calls] == ["planner", "coder"]
    assert "tool · run_code" in css(browser, ".ev-tool_call .what")
    prompt = calls[1].find_element(By.CSS_SELECTOR, "details.call")  # fetched when opened
    prompt.find_element(By.TAG_NAME, "summary").click()
    reply = WebDriverWait(browser, WAIT).until(
        lambda _: prompt.find_elements(By.CSS_SELECTOR, ".reply")
    )
    assert "print(6 * 7)" in reply[0].text and "6 * 7?" in prompt.text
    # the graph, drawn by the vendored Mermaid, with the nodes this run went through marked
    drawn = WebDriverWait(browser, WAIT).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, "#graph svg"))
    )
    taken = {n.text for n in drawn.find_elements(By.CSS_SELECTOR, ".node.taken")}
    assert {"planner", "coder", "executor", "verifier"} <= taken
    assert "reasoner" not in taken


def test_a_live_run_updates_its_page_without_reload(
    home: Path, viewer: Viewer, browser: WebDriver
) -> None:
    asked, release = threading.Event(), threading.Event()

    def coder(agent: str, turn: int, messages: Sequence[ChatMessage]) -> str:
        asked.set()
        release.wait(WAIT)
        return code_reply("print(6 * 7)")

    model = ScriptedModel({"planner": [plan_reply(("code", "Multiply"))], "coder": coder})
    settings, run_id = run_settings(home, {}), new_id()
    thread = threading.Thread(
        target=lambda: asyncio.run(
            solve("What is 6 * 7?", settings=settings, model=model, run_id=run_id)
        )
    )
    thread.start()
    try:
        assert asked.wait(WAIT)  # the plan is recorded; the coder is thinking
        browser.get(viewer.url(f"/runs/{run_id}"))
        live = (By.CSS_SELECTOR, "#run-head .status")
        WebDriverWait(browser, WAIT).until(seen.text_to_be_present_in_element(live, "live"))
        assert browser.find_elements(By.CSS_SELECTOR, ".m-plan")
        assert not browser.find_elements(By.CSS_SELECTOR, ".m-code_action")
        assert run_id in httpx.get(viewer.url("/runs?status=running")).text
        assert run_id not in httpx.get(viewer.url("/runs?status=interrupted")).text
        browser.execute_script("window.sameDocument = true")
    finally:
        release.set()
        thread.join(60)
    wait = WebDriverWait(browser, WAIT)
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-head .status"), "done"))
    assert css(browser, "#answer") == "42"
    assert "print(6 * 7)" in css(browser, ".m-code_action .program")
    assert css(browser, ".m-execution .stdout").strip() == "42"
    assert browser.execute_script("return window.sameDocument") is True  # never reloaded


def test_a_pending_approval_is_decided_from_the_run_page(
    home: Path, viewer: Viewer, browser: WebDriver
) -> None:
    paused = make_run(home, MULTIPLY, "What is 6 * 7?", approve=True)
    assert paused.status == "paused"
    browser.get(viewer.url(f"/runs/{paused.run_id}"))
    program = browser.find_element(By.CSS_SELECTOR, "#approval textarea")
    assert program.get_attribute("value").strip() == "print(6 * 7)"
    program.clear()
    program.send_keys("print(6 * 8)")
    browser.find_element(By.ID, "approve-edit").click()
    wait = WebDriverWait(browser, WAIT)
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-head .status"), "done"))
    assert css(browser, "#answer") == "48"
    assert "edit" in css(browser, ".m-approval")
