"""A task too long for the model's context window: one line, exit code 2, before any call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.errors import ContextWindowError
from codehelm.models import make_model

LONG_TASK = "What is 17 * 23? " + "Ignore this filler sentence, it only pads the task. " * 800


async def test_a_known_model_is_refused_before_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """litellm knows gpt-4o-mini's window (128k tokens), so nothing is sent: had it been, the
    call would fail on the network (nothing is reachable here) and be retried instead."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = make_model("openai/gpt-4o-mini", retries=3, timeout=30)
    start = time.perf_counter()
    with pytest.raises(ContextWindowError) as caught:
        await model.complete([{"role": "user", "content": "word " * 130_000}])
    assert time.perf_counter() - start < 10
    message = str(caught.value)
    assert "does not fit openai/gpt-4o-mini's context window" in message
    assert "the model takes 128,000" in message and "\n" not in message


@pytest.mark.slow
def test_the_cli_says_the_task_does_not_fit_in_one_line(tmp_path: Path) -> None:
    assert len(LONG_TASK) > 40_000
    result = CliRunner().invoke(
        app, ["solve", LONG_TASK, "--model", "local/smollm2", "--home", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the task does not fit local/smollm2's context window")
    assert "shorten the task" in lines[0] and "Traceback" not in result.output
