"""A dollar budget that cannot be enforced (the model's price is unknown) is said at the start
of the run, not discovered after the money is spent."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from codehelm.cli import app
from codehelm.config import Settings
from codehelm.models import cost_unenforceable
from codehelm.runtime.runner import BudgetWarning, solve
from codehelm.runtime.trace import TraceStore
from tests.conftest import plan_reply
from tests.models.fake_openai import FakeOpenAI


@pytest.mark.parametrize(
    ("model", "api_base", "max_cost", "unenforceable"),
    [
        ("openai/gpt-4o-mini", None, 0.05, False),  # in litellm's price map
        ("local/smollm2", None, 0.05, False),  # free
        ("scripted:x.json", None, 0.05, False),
        ("openai/my-finetune", None, 0.05, True),  # not in the price map
        ("openai/gpt-4o-mini", "http://127.0.0.1:9/v1", 0.05, True),  # a server of your own
        ("openai/my-finetune", None, None, False),  # no dollar limit asked for
    ],
)
def test_which_dollar_limits_cannot_be_enforced(
    tmp_path: Path, model: str, api_base: str | None, max_cost: float | None, unenforceable: bool
) -> None:
    settings = Settings(home=tmp_path, model=model, api_base=api_base, max_cost_usd=max_cost)
    assert (cost_unenforceable(settings) is not None) == unenforceable


async def test_the_run_says_so_at_its_start(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = plan_reply(("text", "Recall it"))
    settings = Settings(
        home=tmp_path,
        model="openai/fake",
        api_base=fake_openai.base("ok"),
        max_cost_usd=0.01,
        max_steps=1,
    )
    with pytest.warns(BudgetWarning, match=r"the price of openai/fake is unknown"):
        result = await solve("What is 2 + 2?", settings=settings)
    with TraceStore(settings.trace_path) as store:
        messages = [e.payload for e in store.events(result.run_id, "message")]
    assert messages[1]["type"] == "error"
    assert "max_cost_usd ($0.01) cannot be enforced" in messages[1]["detail"]


def test_the_cli_warns_in_one_line(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = plan_reply(("text", "Recall it"))
    args = ["solve", "What is 2 + 2?", "--model", "openai/fake", "--max-cost", "0.01"]
    args += ["--api-base", fake_openai.base("ok"), "--max-steps", "1", "--home", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: the price of openai/fake is unknown, so max_cost_usd ($0.01) cannot be"
        " enforced; limit max_tokens instead"
    ]
