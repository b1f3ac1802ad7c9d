"""Runs that stop before their plan is done: the answer must answer the task, not a step.

A budget stop or a provider failing mid-run ends the run cleanly (not as a failed run),
with the best answer to the plan's last step if there is one; results of earlier steps are
partial results, reported apart, and a run without an answer exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.chat import ChatMessage
from codehelm.cli import app
from codehelm.config import Settings
from codehelm.errors import ContextWindowError, ModelCallError
from codehelm.models import ScriptedModel
from codehelm.runtime.runner import solve
from tests.conftest import code_reply, plan_reply

TWO_STEPS = plan_reply(("code", "Multiply 2 by 3"), ("code", "Add 36 to the product"))


async def test_a_budget_stop_after_an_early_step_has_no_answer(settings: Settings) -> None:
    model = ScriptedModel(
        {"planner": [TWO_STEPS], "coder": [code_reply("print(2 * 3)"), code_reply("print(42)")]}
    )
    # planner, coder, executor, verifier (step 1 accepted), coder: the budget ends it there
    limited = settings.model_copy(update={"max_steps": 5})
    result = await solve("What is 2 * 3 + 36?", settings=limited, model=model)
    assert result.status == "stopped"
    assert result.answer is None  # "6" answers step 1, not the task
    assert result.stop_reason is not None and result.stop_reason.startswith("budget: reached 5")
    assert "no answer to the task's last step" in result.stop_reason
    assert result.partial == {"Multiply 2 by 3": "6"}


async def test_a_model_failing_mid_run_stops_the_run_cleanly(settings: Settings) -> None:
    def coder(agent: str, turn: int, messages: Sequence[ChatMessage]) -> str:
        if turn == 0:
            return code_reply("print(2 * 3)")
        raise ModelCallError("openai/x: the provider answered 502 Bad Gateway after 4 attempts")

    model = ScriptedModel({"planner": [TWO_STEPS], "coder": coder})
    result = await solve("What is 2 * 3 + 36?", settings=settings, model=model)
    assert result.status == "stopped"
    assert result.stop_reason is not None
    assert result.stop_reason.startswith("model error: openai/x: the provider answered 502")
    assert result.answer is None and result.partial == {"Multiply 2 by 3": "6"}


async def test_a_prompt_outgrowing_the_context_window_mid_run_stops_cleanly(
    settings: Settings,
) -> None:
    def coder(agent: str, turn: int, messages: Sequence[ChatMessage]) -> str:
        if turn == 0:
            return code_reply("print(2 * 3)")
        raise ContextWindowError("the prompt does not fit local/smollm2's context window")

    model = ScriptedModel({"planner": [TWO_STEPS], "coder": coder})
    result = await solve("What is 2 * 3 + 36?", settings=settings, model=model)
    assert result.status == "stopped" and result.partial == {"Multiply 2 by 3": "6"}
    assert result.stop_reason is not None
    assert result.stop_reason.startswith("model error: the prompt does not fit")


async def test_a_task_that_does_not_fit_is_bad_input(settings: Settings) -> None:
    def planner(agent: str, turn: int, messages: Sequence[ChatMessage]) -> str:
        raise ContextWindowError("the task does not fit local/smollm2's context window")

    with pytest.raises(ContextWindowError, match="the task does not fit"):
        await solve("What is 2 * 3?", settings=settings, model=ScriptedModel({"planner": planner}))


async def test_a_stopped_run_keeps_the_best_answer_to_its_last_step(settings: Settings) -> None:
    model = ScriptedModel(
        {"planner": [plan_reply(("code", "Multiply"))], "coder": [code_reply("print(6 * 7)")]}
    )
    limited = settings.model_copy(update={"max_steps": 4})  # planner, coder, executor, verifier
    result = await solve("What is 6 * 7?", settings=limited, model=model)
    assert result.status == "stopped" and result.stop_reason == "budget: reached 4 steps"
    assert result.answer is not None and result.answer.content == "42"
    assert result.verdict == "uncertain"


def test_the_cli_shows_partial_results_apart_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "script.json"
    coder = [code_reply("print(2 * 3)"), code_reply("print(42)")]
    script.write_text(json.dumps({"planner": [TWO_STEPS], "coder": coder}))
    monkeypatch.setenv("CODEHELM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEHELM_STEER", "plan")
    result = CliRunner().invoke(
        app, ["solve", "What is 2 * 3 + 36?", "--model", f"scripted:{script}", "--max-steps", "5"]
    )
    assert result.exit_code == 1, result.output
    assert "No answer." in result.stdout and "partial: Multiply 2 by 3 = 6" in result.stdout
    assert "Answer:" not in result.stdout
