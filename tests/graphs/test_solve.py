"""Routing of the solve graph with scripted models and a real LocalSandbox."""

from __future__ import annotations

import pytest

from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Budget, ErrorReport, Execution, Plan, Verdict
from codehelm.models import ScriptedModel
from codehelm.state import SolveState
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply


def kinds(state: SolveState) -> list[str]:
    return [type(m).__name__ for m in state.messages]


async def solve(
    script: dict, sandbox: LocalSandbox, prompt: str = "task", budget: Budget | None = None, **kw
) -> tuple[SolveState, ScriptedModel]:
    model = ScriptedModel(script)
    graph = build_solve_graph(model, sandbox, **{"exec_timeout": 2.0, "policy": "plan", **kw})
    return await run_graph(graph, prompt, budget=budget), model


async def test_code_path_answers_with_a_reproduced_execution_not_a_verified_one(
    sandbox: LocalSandbox,
) -> None:
    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Multiply"))],
            "coder": [code_reply("print(3847 * 2931)")],
        },
        sandbox,
    )
    assert state.answer is not None and state.answer.content == "11275557"
    assert state.stop_reason == "reproduced"  # ran twice alike; nothing checked it
    assert state.answer.mode == "code" and state.answer.confidence == 1.0
    assert kinds(state) == ["Task", "Plan", "CodeAction", "Execution", "Answer", "Verdict"]
    assert [agent for agent, _ in model.calls] == ["planner", "coder"]
    assert state.usage.calls == 2 and state.usage.total_tokens > 0
    assert state.steps == 4  # planner, coder, executor, verifier


async def test_text_path_answers_unverified_without_running_code(sandbox: LocalSandbox) -> None:
    state, _ = await solve(
        {
            "planner": [plan_reply(("text", "Recall the capital"))],
            "reasoner": ["France's capital is Paris.\nAnswer: Paris"],
        },
        sandbox,
    )
    assert state.answer is not None and state.answer.content == "Paris"
    assert state.stop_reason == "unverified"
    assert "Execution" not in kinds(state)
    verdict = next(m for m in state.messages if isinstance(m, Verdict))
    assert verdict.outcome == "uncertain"


async def test_failing_execution_is_revised_with_the_error_fed_back(sandbox: LocalSandbox) -> None:
    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Compute"))],
            "coder": [code_reply("print(undefined_name)"), code_reply("print(6 * 7)")],
        },
        sandbox,
    )
    assert state.answer is not None and state.answer.content == "42"
    assert state.stop_reason == "reproduced"
    _, second_prompt = model.calls[2]
    assert "NameError" in second_prompt[-1]["content"]
    assert "print(undefined_name)" in second_prompt[-2]["content"]


async def test_verifier_rejects_output_that_changes_between_runs(sandbox: LocalSandbox) -> None:
    state, _ = await solve(
        {
            "planner": [plan_reply(("code", "Count"))],
            "coder": [code_reply("import random\nprint(random.random())"), code_reply("print(1)")],
        },
        sandbox,
    )
    verdicts = [m for m in state.messages if isinstance(m, Verdict)]
    assert [v.outcome for v in verdicts] == ["fail", "uncertain"]
    assert "reproduces" in verdicts[0].reasons[0]
    assert state.answer is not None and state.answer.content == "1"


async def test_programs_may_use_variables_from_earlier_steps(sandbox: LocalSandbox) -> None:
    state, _ = await solve(
        {
            "planner": [plan_reply(("code", "Define"), ("code", "Use"))],
            "coder": [code_reply("base = 41\nprint(base)"), code_reply("print(base + 1)")],
        },
        sandbox,
    )
    verdicts = [m for m in state.messages if isinstance(m, Verdict)]
    assert [v.outcome for v in verdicts] == ["uncertain", "uncertain"]
    assert state.answer is not None and state.answer.content == "42"


async def test_program_that_prints_nothing_is_rejected(sandbox: LocalSandbox) -> None:
    state, _ = await solve(
        {"planner": [plan_reply(("code", "Compute"))], "coder": [code_reply("x = 6 * 7")]},
        sandbox,
        max_revisions=1,
        max_replans=0,
    )
    assert state.answer is None
    assert state.stop_reason is not None
    assert state.stop_reason.startswith("gave up after 2 failed attempts")
    assert "printed nothing" in state.stop_reason


async def test_exhausted_revisions_lead_to_one_replan(sandbox: LocalSandbox) -> None:
    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Compute")), plan_reply(("text", "Think"))],
            "coder": [code_reply("raise ValueError('boom')")],
            "reasoner": ["Answer: 7"],
        },
        sandbox,
        max_revisions=1,
        max_replans=1,
    )
    assert [a for a, _ in model.calls] == ["planner", "coder", "coder", "planner", "reasoner"]
    assert "ValueError: boom" in model.calls[3][1][-1]["content"]
    assert state.replans == 1
    assert state.answer is not None and state.answer.content == "7"


async def test_multi_step_plan_passes_results_forward(sandbox: LocalSandbox) -> None:
    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Compute a"), ("code", "Double a"))],
            "coder": [code_reply("print(21)"), code_reply("print(21 * 2)")],
        },
        sandbox,
    )
    assert state.results == {"s1": "21", "s2": "42"}
    assert state.answer is not None and state.answer.content == "42"
    assert "Compute a = 21" in model.calls[2][1][-1]["content"]


async def test_step_budget_stops_with_the_best_partial_answer(sandbox: LocalSandbox) -> None:
    state, _ = await solve(
        {"planner": [plan_reply(("code", "Compute"))], "coder": [code_reply("x = 1")]},
        sandbox,
        budget=Budget(max_steps=6),
    )
    assert state.stop_reason == "budget: reached 6 steps; no answer to the task's last step yet"
    assert state.steps == 6
    assert state.answer is None


async def test_token_budget_stops_and_keeps_partial_results_apart(sandbox: LocalSandbox) -> None:
    script = {
        "planner": [plan_reply(("code", "a"), ("code", "b"))],
        "coder": [code_reply("print(1)"), code_reply("print(2)")],
    }
    unbounded, _ = await solve(script, sandbox)
    assert unbounded.answer is not None and unbounded.answer.content == "2"
    # One token short of the whole run: the last coder call crosses the limit.
    limit = unbounded.usage.total_tokens - 1
    state, _ = await solve(script, sandbox, budget=Budget(max_tokens=limit))
    assert state.stop_reason == (
        f"budget: used {unbounded.usage.total_tokens} of {limit} tokens;"
        " no answer to the task's last step yet"
    )
    assert state.answer is None  # step 1's verified "1" answers step 1, not the task
    assert state.results_by_goal() == {"a": "1"}


@pytest.mark.parametrize(
    "planner_reply",
    ["I think we should compute it.", '{"steps": "compute"}', "", '{"steps": [{"goal": 3}]}'],
    ids=["prose", "wrong-type", "empty", "missing-mode"],
)
async def test_malformed_plan_falls_back_and_is_reported(
    sandbox: LocalSandbox, planner_reply: str
) -> None:
    state, _ = await solve(
        {"planner": [planner_reply], "coder": [code_reply("print(2 + 2)")]},
        sandbox,
        prompt="What is 2 + 2?",
    )
    errors = [m for m in state.messages if isinstance(m, ErrorReport)]
    assert len(errors) == 1 and "no usable plan" in errors[0].error
    plan = next(m for m in state.messages if isinstance(m, Plan))
    assert plan.steps[0].goal == "What is 2 + 2?" and plan.steps[0].mode == "code"
    assert state.answer is not None and state.answer.content == "4"
    assert state.usage.calls == 4  # three planner attempts and the coder


@pytest.mark.parametrize(
    "reply", ["", "The answer is 4.", "```\n\n```"], ids=["empty", "prose", "blank"]
)
async def test_reply_without_code_is_an_error_message_then_a_retry(
    sandbox: LocalSandbox, reply: str
) -> None:
    state, model = await solve(
        {"planner": [plan_reply(("code", "Add"))], "coder": [reply, code_reply("print(4)")]},
        sandbox,
    )
    errors = [m for m in state.messages if isinstance(m, ErrorReport)]
    assert len(errors) == 1 and "no Python code block" in errors[0].error
    assert "```python" in model.calls[2][1][-1]["content"]
    assert state.answer is not None and state.answer.content == "4"


async def test_timeouts_are_reported_and_revised(sandbox: LocalSandbox) -> None:
    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Loop"))],
            "coder": [code_reply("while True:\n    pass"), code_reply("print('done')")],
        },
        sandbox,
        exec_timeout=0.5,
    )
    first = next(m for m in state.messages if isinstance(m, Execution))
    assert first.timed_out and first.state_lost
    assert "timed out after 0.5 s" in model.calls[2][1][-1]["content"]
    assert state.answer is not None and state.answer.content == "done"


async def test_user_node_replaces_an_agent(sandbox: LocalSandbox) -> None:
    # The default verifier passes the correct "4"; this one wants odd numbers, so the answer
    # tells whose verifier ran.
    async def odd_verifier(state: SolveState) -> dict:
        from codehelm.messages import Answer
        from codehelm.state import Attempt

        assert state.action is not None and state.execution is not None
        content = state.execution.stdout.strip()
        candidate = Answer(content=content, step_id="s1", mode="code")
        if int(content) % 2:
            verdict = Verdict(target_id=candidate.id, outcome="pass")
            return {"candidate": candidate, "verdict": verdict, "messages": [candidate, verdict]}
        verdict = Verdict(target_id=candidate.id, outcome="fail", reasons=["not odd"])
        attempt = Attempt(mode="code", content=state.action.code, feedback="the answer is not odd")
        return {
            "candidate": candidate,
            "verdict": verdict,
            "messages": [candidate, verdict],
            "attempts": [*state.attempts, attempt],
        }

    state, model = await solve(
        {
            "planner": [plan_reply(("code", "Add"))],
            "coder": [code_reply("print(2 + 2)"), code_reply("print(2 + 3)")],
        },
        sandbox,
        nodes={"verifier": odd_verifier},
    )
    assert state.answer is not None and state.answer.content == "5"
    _, second_prompt = model.calls[-1]
    assert "the answer is not odd" in second_prompt[-1]["content"]
    with pytest.raises(ValueError, match="unknown solve agents"):
        build_solve_graph(ScriptedModel({}), sandbox, nodes={"judge": odd_verifier})
