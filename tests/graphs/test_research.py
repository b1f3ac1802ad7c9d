"""The research graph on a local corpus, driven by a scripted model: a cited report whose
every quote is in its source, an abstention without evidence, computed evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.models import ScriptedModel
from codehelm.runtime.research import research
from codehelm.runtime.trace import TraceStore
from codehelm.tools.extract import extract_main_text
from tests.conftest import code_reply

PAGE = """<html><head><title>asyncio — Task groups</title></head><body>
<nav><a href="/">Home</a> | <a href="/library">Library</a> | <a href="/search">Search</a></nav>
<div class="ad">Buy our Python course today!</div>
<main><h1>Task groups</h1>
<p>Task groups combine a task creation API with a convenient and reliable way to wait for all
tasks in the group to finish. The class asyncio.TaskGroup is an asynchronous context manager
holding a group of tasks. Tasks can be added to the group using create_task().</p>
<p>The asyncio.TaskGroup class was added in Python 3.11. All tasks are awaited when the
context manager exits.</p></main>
<footer>Copyright 2001-2024, Python Software Foundation. Privacy policy.</footer>
</body></html>"""

NOTES = """# pathlib

The pathlib module offers classes representing filesystem paths with semantics appropriate
for different operating systems. The Path.walk method was added in Python 3.12.
"""


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "asyncio-task.html").write_text(PAGE)
    (folder / "pathlib.md").write_text(NOTES)
    (folder / "unrelated.txt").write_text("Bread is baked from flour, water and yeast. " * 20)
    return folder


def scope(*queries: str, compute: str = "") -> str:
    return json.dumps({"queries": list(queries), "compute": compute})


EXTRACTION = json.dumps(
    {"entities": ["asyncio.TaskGroup", "Python 3.11"], "claims": ["TaskGroup was added in 3.11"]}
)


@pytest.fixture
def research_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", corpus=corpus(tmp_path), steer="plan")


async def test_a_cited_report_whose_quotes_are_in_their_sources(
    research_settings: Settings,
) -> None:
    model = ScriptedModel(
        {
            "planner": [scope("asyncio.TaskGroup added in version")],
            "mindmap": [EXTRACTION],
            "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]. It is 42 years old [2]."],
        }
    )
    result = await research(
        "Which Python version added asyncio.TaskGroup?", settings=research_settings, model=model
    )
    assert result.status == "done" and result.answer is not None, result.stop_reason
    assert not result.abstained and result.citations
    assert "asyncio.TaskGroup was added in Python 3.11 [1]." in result.answer
    assert "42 years" not in result.answer  # a number no evidence holds is dropped
    assert "Buy our Python course" not in result.answer  # the page's chrome is not quoted
    for citation in result.citations:  # in the text read from its source, up to white space
        text = extract_main_text(Path(citation.source).read_bytes(), source=citation.source)
        assert " ".join(citation.quote.split()) in " ".join(text.split())
        assert f"[{citation.n}]" in result.answer
    assert result.mindmap is not None and Path(result.mindmap).is_file()
    assert Path(result.mindmap).with_suffix(".html").is_file()
    with TraceStore(research_settings.trace_path) as store:
        record = store.get_run(result.run_id)
    assert record.status == "done"


async def test_an_empty_corpus_abstains(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(home=tmp_path / "home", corpus=empty)
    model = ScriptedModel({"planner": [scope("anything at all")], "writer": ["Made up [1]."]})
    result = await research("What is the airspeed of a swallow?", settings=settings, model=model)
    assert result.answer is None and result.abstained and result.citations == []
    assert result.stop_reason is not None and result.stop_reason.startswith("abstained")


async def test_numbers_to_compute_become_computed_evidence(research_settings: Settings) -> None:
    model = ScriptedModel(
        {
            "planner": [scope("Path.walk added Python", compute="years between 3.11 and 3.12")],
            "mindmap": [EXTRACTION],
            "coder": [code_reply("print(12 - 11)")],
            "writer": ["Path.walk came one version after TaskGroup [1]."],
        }
    )
    result = await research(
        "How many versions after TaskGroup came Path.walk?", settings=research_settings, model=model
    )
    assert result.answer is not None
    computed = [c for c in result.citations if c.source.startswith("execution:")]
    assert [c.quote for c in computed] == ["1"]


@pytest.mark.slow
async def test_the_embedded_model_researches_a_corpus_to_a_cited_report(
    research_settings: Settings,
) -> None:
    settings = research_settings.model_copy(update={"model": "local/smollm2"})
    result = await research("Which Python version added asyncio.TaskGroup?", settings=settings)
    assert result.answer is not None, result.stop_reason
    assert result.citations
    texts = {
        c.source: " ".join(extract_main_text(Path(c.source).read_bytes(), source=c.source).split())
        for c in result.citations
    }
    for citation in result.citations:
        assert " ".join(citation.quote.split()) in texts[citation.source]
        assert f"[{citation.n}]" in result.answer
    assert any("3.11" in c.quote for c in result.citations)


def test_the_cli_prints_one_json_object_writes_the_report_and_draws_the_map(
    research_settings: Settings, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "planner": [scope("asyncio.TaskGroup added in version")],
                "mindmap": [EXTRACTION],
                "writer": ["asyncio.TaskGroup was added in Python 3.11 [1]."],
            }
        )
    )
    assert research_settings.corpus is not None
    home = ["--home", str(research_settings.home)]
    report = tmp_path / "report.md"
    args = ["research", "Which Python version added asyncio.TaskGroup?", *home]
    args += ["--corpus", str(research_settings.corpus), "--model", f"scripted:{script}"]
    done = CliRunner().invoke(app, [*args, "--out", str(report), "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert set(data) == {
        "run_id", "answer", "abstained", "citations", "mindmap", "stop_reason", "usage"
    }  # fmt: skip
    assert data["answer"] == report.read_text() and data["abstained"] is False
    assert {"n", "source", "quote"} <= set(data["citations"][0])
    drawn = CliRunner().invoke(app, ["show", data["run_id"], "--mindmap", *home])
    assert drawn.exit_code == 0, drawn.output
    html = research_settings.home / "mindmaps" / f"{data['run_id']}.html"
    assert html.is_file() and "<svg" in html.read_text()
    assert html.with_suffix(".png").stat().st_size > 1000


def test_research_without_a_corpus_says_what_to_set(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["research", "anything", "--home", str(tmp_path)])
    assert done.exit_code == 2
    assert "--corpus" in done.output and "Traceback" not in done.output


async def test_a_budget_stop_reports_what_was_found(research_settings: Settings) -> None:
    model = ScriptedModel({"planner": [scope("TaskGroup added")], "mindmap": [EXTRACTION]})
    # scope, two researchers and the map: then the budget ends it before the writer
    limited = research_settings.model_copy(update={"max_steps": 4})
    result = await research("When was TaskGroup added?", settings=limited, model=model)
    assert result.stop_reason is not None and result.stop_reason.startswith("budget: reached 4")
    assert result.answer is not None and result.citations
    assert "The asyncio.TaskGroup class was added in Python 3.11." in result.answer
    assert all(f"“{c.quote}” [{c.n}]" in result.answer for c in result.citations)
    assert [agent for agent, _ in model.calls if agent == "writer"] == []
