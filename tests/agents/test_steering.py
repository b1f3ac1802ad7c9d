"""Steering policies, the symbolic checker and code-based self-checks, with scripted models."""

from __future__ import annotations

import pytest

from codehelm.agents.steerer import apply_policy
from codehelm.agents.symbolic import analyse
from codehelm.agents.verifier import mutate, self_answer_check
from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Answer, Guidance, Plan, PlanStep, Verdict
from codehelm.models import ScriptedModel
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply

CHECK_2_PLUS_2 = code_reply(
    "expected = 2 + 2\nprint('Correct' if number(answer) == expected else f'Wrong: {expected}')"
)


def test_symbolic_checker_counts_computation() -> None:
    report = analyse(
        "import itertools\nbest = 0\nfor p in itertools.permutations(range(4)):\n"
        "    if p[0] + p[1] > best:\n        best = p[0] + p[1]\nprint(best)"
    )
    assert (report.loops, report.branches, report.binary_ops) == (1, 1, 3)
    assert report.score == 2.75 and report.uses_search and not report.hard_coded
    trivial = analyse("print(3847 * 2931)")
    assert trivial.score == 0.25 and trivial.low_complexity and not trivial.hard_coded
    assert "may not be complex enough" in trivial.summary()
    constant = analyse("print(11275557)\nprint('done')")
    assert constant.hard_coded and "hard-coded" in constant.summary()
    assert analyse("import math\nprint(math.comb(10, 3))").uses_symbolic
    assert not analyse("def (:").parses


def test_mutation_changes_the_last_number_or_the_text() -> None:
    assert mutate("e appears 3 times") == "e appears 4 times"
    assert mutate("-1") == "0"
    assert mutate("Rome") == "Rome (altered)"


async def test_forced_policies_override_the_planners_modes() -> None:
    plan = Plan(
        steps=[PlanStep(id="s1", goal="a", mode="code"), PlanStep(id="s2", goal="b", mode="text")]
    )
    model = ScriptedModel({})
    text, _ = await apply_policy(plan, "text", model)
    assert [s.mode for s in text.steps] == ["text", "text"]
    code, _ = await apply_policy(plan, "code", model)
    assert [s.mode for s in code.steps] == ["code", "code"]
    kept, _ = await apply_policy(plan, "steer", model)
    assert kept == plan


async def test_self_estimate_takes_the_higher_rated_mode() -> None:
    plan = Plan(steps=[PlanStep(id="s1", goal="a"), PlanStep(id="s2", goal="b")])
    model = ScriptedModel({"steerer": ['{"code": 8, "text": 2}', '{"code": 1, "text": 9}']})
    estimated, usage = await apply_policy(plan, "self-estimate", model)
    assert [s.mode for s in estimated.steps] == ["code", "text"]
    assert usage.calls == 2


async def test_self_check_passes_a_right_answer_and_fails_a_wrong_one(
    sandbox: LocalSandbox,
) -> None:
    model = ScriptedModel({"verifier": [CHECK_2_PLUS_2]})
    right, _ = await self_answer_check(model, sandbox, "What is 2 + 2?", "The answer is 4")
    assert right.passed is True
    wrong, _ = await self_answer_check(model, sandbox, "What is 2 + 2?", "5")
    assert wrong.passed is False and wrong.detail == "Wrong: 4"


async def test_a_vacuous_self_check_decides_nothing(sandbox: LocalSandbox) -> None:
    model = ScriptedModel({"verifier": [code_reply("print('Correct')")]})
    check, _ = await self_answer_check(model, sandbox, "What is 2 + 2?", "4")
    assert check.passed is None and "also accepts a wrong answer" in check.detail


async def solve_steered(script: dict, sandbox: LocalSandbox, **kw):  # type: ignore[no-untyped-def]
    graph = build_solve_graph(ScriptedModel(script), sandbox, policy="steer", **kw)
    return await run_graph(graph, "What is 2 + 2?")


async def test_steer_switches_to_code_after_failed_text_attempts(sandbox: LocalSandbox) -> None:
    state = await solve_steered(
        {
            "planner": [plan_reply(("text", "Add 2 and 2"))],
            "reasoner": ["Two and two make five.\nAnswer: 5"],
            "verifier": [CHECK_2_PLUS_2],
            "coder": [code_reply("a, b = 2, 2\nprint(a + b)"), code_reply("print(sum([2, 2]))")],
        },
        sandbox,
    )
    guidance = [m for m in state.messages if isinstance(m, Guidance)]
    # the check program accepted the first program's 4, but one check program may accept
    # anything: a second, different program confirms it
    assert [g.action for g in guidance] == ["revise", "switch", "revise", "answer"]
    assert guidance[1].mode == "code" and guidance[2].mode == "code"
    last = [m for m in state.messages if isinstance(m, Verdict)][-1]
    assert any(c.name == "agreement" and c.passed for c in last.checks)
    assert state.answer is not None and state.answer.content == "4"
    assert state.answer.mode == "code" and state.stop_reason == "verified"


async def test_a_program_confirmed_by_a_reasoning_in_the_other_mode_is_verified(
    sandbox: LocalSandbox,
) -> None:
    # The check program would accept anything it is shown; what settles the step is the
    # reasoning, asked for in the other mode, arriving at the program's answer.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Add 2 and 2"))],
            "coder": [code_reply("a, b = 2, 2\nprint(a + b)")],
            "reasoner": ["Two and two make four.\nAnswer: 4"],
            "verifier": [CHECK_2_PLUS_2],
        }
    )
    state = await run_graph(build_solve_graph(model, sandbox, policy="steer"), "What is 2 + 2?")
    guidance = [m for m in state.messages if isinstance(m, Guidance)]
    assert [(g.action, g.mode) for g in guidance] == [("switch", "text"), ("answer", "text")]
    last = [m for m in state.messages if isinstance(m, Verdict)][-1]
    agreement = next(c for c in last.checks if c.name == "agreement")
    assert agreement.passed and "(code)" in agreement.detail
    assert state.answer is not None and state.answer.content == "4"
    assert state.answer.mode == "code"  # of equally judged answers, the program's
    assert state.stop_reason == "verified"


async def test_unconfirmed_answers_that_disagree_are_voted_when_attempts_run_out(
    sandbox: LocalSandbox,
) -> None:
    # No attempt ever agrees with another and the check program decides nothing: the step
    # does not loop, it takes the vote of its attempts and says nothing confirmed it.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Add 2 and 2"))],
            "coder": [code_reply("print(2 + 2)"), code_reply("print(2 * 3)")],
            "reasoner": ["Answer: 5", "Answer: 22"],
            "verifier": [code_reply("print('Correct')")],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="steer", max_revisions=3)
    state = await run_graph(graph, "What is 2 + 2?")
    answers = [m for m in state.messages if isinstance(m, Answer)]
    # after code and text disagree, the next try is in the mode whose answer leads the vote
    # (a tie goes to the first: the program's 4), then the mode with fewer attempts
    assert [a.mode for a in answers] == ["code", "text", "code", "text"]
    assert state.answer is not None and state.answer.content == "4"  # first of equal votes
    assert state.stop_reason == "reproduced"


async def test_steer_asks_for_computation_instead_of_a_constant(sandbox: LocalSandbox) -> None:
    state = await solve_steered(
        {
            "planner": [plan_reply(("code", "Add 2 and 2"))],
            "coder": [code_reply("print(4)"), code_reply("print(2 + 2)")],
            "verifier": [CHECK_2_PLUS_2],
        },
        sandbox,
    )
    guidance = [m for m in state.messages if isinstance(m, Guidance)]
    assert [g.action for g in guidance] == ["revise", "answer"]
    assert guidance[0].findings[0].passed is False
    assert state.answer is not None and state.answer.rationale == "print(2 + 2)"


@pytest.mark.parametrize("policy", ["text", "code"])
async def test_forced_policies_run_only_their_mode(sandbox: LocalSandbox, policy: str) -> None:
    graph = build_solve_graph(
        ScriptedModel(
            {
                "planner": [plan_reply(("code", "Add"))],
                "coder": [code_reply("print(2 + 2)")],
                "reasoner": ["Answer: 4"],
            }
        ),
        sandbox,
        policy=policy,  # type: ignore[arg-type]
    )
    state = await run_graph(graph, "What is 2 + 2?")
    assert state.answer is not None and state.answer.mode == policy
    assert not any(isinstance(m, Guidance) for m in state.messages)


def test_unknown_policy_is_rejected(sandbox: LocalSandbox) -> None:
    with pytest.raises(ValueError, match="unknown steering policy"):
        build_solve_graph(ScriptedModel({}), sandbox, policy="yolo")  # type: ignore[arg-type]
