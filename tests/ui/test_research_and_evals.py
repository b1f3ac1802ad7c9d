"""The viewer's research run page (report, citations, mind map), fix run page (patch, tests)
and eval pages (report table, chart, each row's runs), on runs and an eval made in the test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from codehelm.evals.report import write_report
from codehelm.evals.runner import EvalPlan, run_eval
from codehelm.models import ScriptedModel
from codehelm.runtime.batch import make_batch_runner
from codehelm.runtime.fix import fix
from codehelm.runtime.research import research
from tests.conftest import code_reply, plan_reply
from tests.graphs.fix_repo import FIX_NEW, FIX_OLD, ISSUE, WRONG_NEW, make_repo
from tests.graphs.test_fix import edits, script
from tests.graphs.test_research import EXTRACTION, corpus, scope
from tests.ui.conftest import Viewer, run_settings, start_viewer, stop

WAIT = 30


def test_a_research_run_shows_its_report_citations_and_mind_map(
    home: Path, tmp_path: Path, viewer: Viewer, browser: WebDriver
) -> None:
    model = ScriptedModel(
        {
            "planner": [scope("asyncio.TaskGroup added in version")],
            "mindmap": [EXTRACTION],
            "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
        }
    )
    settings = run_settings(home, {}, corpus=corpus(tmp_path))
    result = asyncio.run(
        research("Which Python version added asyncio.TaskGroup?", settings=settings, model=model)
    )
    assert result.answer is not None and result.citations
    browser.get(viewer.url(f"/runs/{result.run_id}"))
    report = browser.find_element(By.CSS_SELECTOR, "article.report")
    assert "asyncio.TaskGroup was added in Python 3.11" in report.text
    report.find_element(By.CSS_SELECTOR, "a.cite").click()
    cited = browser.find_element(By.CSS_SELECTOR, "#cite-1")
    WebDriverWait(browser, WAIT).until(seen.url_contains("#cite-1"))
    assert result.citations[0].quote[:40] in cited.text
    assert result.citations[0].source in cited.find_element(By.CSS_SELECTOR, ".source").text
    # the mind map: one circle per node, coloured by kind, its text and provenance on hover
    titles = [
        t.get_attribute("textContent")
        for t in browser.find_elements(By.CSS_SELECTOR, ".mindmap svg g > title")
    ]
    assert any(t.startswith("evidence") and "source:" in t for t in titles)
    assert any(t.startswith("entity") and "asyncio.TaskGroup" in t for t in titles)
    colours = {
        c.get_attribute("fill") for c in browser.find_elements(By.CSS_SELECTOR, ".mindmap circle")
    }
    assert len(colours) >= 3  # entity, claim and evidence nodes (and the legend)


def test_an_eval_folder_shows_its_report_chart_and_the_runs_of_each_row(
    home: Path, tmp_path: Path, browser: WebDriver
) -> None:
    script = {
        "planner": [plan_reply(("code", "Compute it"))],
        "coder": [code_reply("print(42)")],
        "reasoner": ["Answer: 42"],
    }
    folder = tmp_path / "steering-eval"
    plan = EvalPlan(families=["multiplication"], n=2, modes=["code", "text"])
    runner = make_batch_runner("local", concurrency=1)
    records = asyncio.run(run_eval(plan, run_settings(home, script), folder, runner))
    write_report(records, folder)
    viewer = start_viewer(home, tmp_path)  # finds the eval folder in its working directory
    try:
        browser.get(viewer.url("/evals"))
        browser.find_element(By.LINK_TEXT, "steering-eval").click()
        rows = WebDriverWait(browser, WAIT).until(
            seen.presence_of_all_elements_located((By.CSS_SELECTOR, "table.report tbody tr"))
        )
        cells = [[c.text for c in row.find_elements(By.TAG_NAME, "td")][:3] for row in rows[:4]]
        assert cells == [
            ["multiplication", "code", "2"],
            ["multiplication", "text", "2"],
            ["all", "code", "2"],
            ["all", "text", "2"],
        ]
        chart = browser.find_element(By.CSS_SELECTOR, "img.chart")
        assert browser.execute_script("return arguments[0].naturalWidth", chart) > 0

        rows[0].find_element(By.LINK_TEXT, "runs").click()
        links = WebDriverWait(browser, WAIT).until(
            seen.presence_of_all_elements_located((By.CSS_SELECTOR, "table.records td a"))
        )
        code_runs = {r.run_ids[0]: r for r in records if r.mode == "code"}
        assert {a.text for a in links} == set(code_runs)
        links[0].click()
        WebDriverWait(browser, WAIT).until(
            seen.text_to_be_present_in_element((By.CSS_SELECTOR, "#answer"), "42")
        )
        assert "print(42)" in browser.find_element(By.CSS_SELECTOR, ".m-code_action").text
    finally:
        stop(viewer)


@pytest.mark.slow
def test_a_fix_run_shows_its_patch_and_the_tests_of_each_candidate(
    home: Path, tmp_path: Path, viewer: Viewer, browser: WebDriver
) -> None:
    repo = make_repo(tmp_path / "calc")
    model = ScriptedModel(script(edits(FIX_OLD, WRONG_NEW), edits(FIX_OLD, FIX_NEW)))
    settings = run_settings(home, {}, fix_candidates=2)
    result = asyncio.run(fix(repo, ISSUE, settings=settings, model=model))
    assert result.verdict == "pass" and result.selected == "c2", result.stop_reason
    browser.get(viewer.url(f"/runs/{result.run_id}"))
    patch = browser.find_element(By.CSS_SELECTOR, "section.fix .diff")
    assert "+    if n % 2:" in patch.text and patch.find_elements(By.CSS_SELECTOR, ".gi")
    checks = browser.find_element(By.CSS_SELECTOR, "section.fix .checks").text
    assert "reproduction" in checks and "regressions" in checks
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.candidates tbody tr")]
    assert rows[0].startswith("c1 yes passes 1")  # one regression
    assert rows[1].startswith("c2 (chosen) yes passes 0")
