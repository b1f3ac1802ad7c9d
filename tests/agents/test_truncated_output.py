"""A program whose output was cut is never verified: the answer may be in the cut part."""

from __future__ import annotations

from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Verdict
from codehelm.models import ScriptedModel
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply


async def test_cut_output_fails_verification_and_the_coder_is_told(sandbox: LocalSandbox) -> None:
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Count from 0 to the 6000th number"))],
            "coder": [code_reply("for i in range(6000):\n    print(i)"), code_reply("print(5999)")],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="plan")
    state = await run_graph(graph, "Counting from 0, what is the 6000th number?")
    first = next(m for m in state.messages if isinstance(m, Verdict))
    assert first.outcome == "fail"
    assert any(c.name == "complete_output" and c.passed is False for c in first.checks)
    assert state.answer is not None and state.answer.content == "5999"
    assert state.stop_reason == "verified"
    _, retry = model.calls[-1]
    assert "the output was cut" in retry[-1]["content"]
