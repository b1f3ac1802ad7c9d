"""Verdicts mean what they say: a check decides only when it discriminates, `pass` needs an
independent confirmation, and a step's answer is chosen from all its attempts."""

from __future__ import annotations

import pytest

from codehelm.agents.verifier import hard_codes, outcome_of, self_answer_check
from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.messages import Check, Verdict
from codehelm.models import ScriptedModel
from codehelm.policy import Selector
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply

TASK = "What is 6 * 7?"


async def check(sandbox: LocalSandbox, program: str, answer: str) -> Check:
    model = ScriptedModel({"verifier": [code_reply(program)]})
    found, _ = await self_answer_check(model, sandbox, TASK, answer)
    return found


async def test_a_check_that_prints_a_number_is_a_recomputation(sandbox: LocalSandbox) -> None:
    agrees = await check(sandbox, "print(6 * 7)", "42")
    assert agrees.passed is True and "recomputed" in agrees.detail
    disagrees = await check(sandbox, "print(6 * 7)", "41")
    assert disagrees.passed is False and "a recomputation gives 42" in disagrees.detail


async def test_a_check_printing_the_answer_back_decides_nothing(sandbox: LocalSandbox) -> None:
    echoed = await check(sandbox, "print(number(answer))", "42")
    assert echoed.passed is None and "back" in echoed.detail


async def test_a_check_that_hard_codes_the_candidate_decides_nothing(
    sandbox: LocalSandbox,
) -> None:
    vacuous = await check(
        sandbox, "print('Correct' if number(answer) == 11275557 else 'Wrong')", "11275557"
    )
    assert vacuous.passed is None and "literal" in vacuous.detail
    assert hard_codes("x = 11275557", "11275557", "What is 3847 * 2931?")
    assert not hard_codes("print(6 * 7)", "42", TASK)
    assert not hard_codes("print(7 * 6)", "7", "How many days has a week of 7?")  # in the task


async def test_an_explicit_rejection_fails_and_a_discriminating_acceptance_passes(
    sandbox: LocalSandbox,
) -> None:
    program = "print('Correct' if number(answer) == 6 * 7 else 'Wrong: it is 42')"
    assert (await check(sandbox, program, "42")).passed is True
    rejected = await check(sandbox, program, "41")
    assert rejected.passed is False and rejected.detail.startswith("Wrong")


def test_pass_needs_an_independent_check() -> None:
    ran = [Check(name="executed", passed=True), Check(name="reproduces", passed=True)]
    assert outcome_of(ran) == "uncertain"
    assert outcome_of([*ran, Check(name="self_check", passed=True)]) == "pass"
    assert outcome_of([*ran, Check(name="agreement", passed=True)]) == "pass"
    assert outcome_of([*ran, Check(name="self_check", passed=None)]) == "uncertain"
    conflict = [*ran, Check(name="agreement", passed=True), Check(name="self_check", passed=False)]
    assert outcome_of(conflict) == "uncertain"  # one check program against two programs
    assert outcome_of([*ran, Check(name="self_check", passed=False)]) == "fail"


async def test_agreeing_programs_outweigh_a_check_that_rejects_everything_and_a_text_answer(
    sandbox: LocalSandbox,
) -> None:
    # The check program rejects every answer. Before, two such "failures" switched the step
    # to text and the wrong text answer won for being last.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Multiply 6 by 7"))],
            "coder": [code_reply("print(6 * 7)"), code_reply("a, b = 6, 7\nprint(a * b)")],
            "reasoner": ["Answer: 41"],
            "verifier": [code_reply("print('Wrong')")],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="steer", exec_timeout=5.0)
    state = await run_graph(graph, TASK)
    assert state.answer is not None and state.answer.content == "42"
    verdicts = [m for m in state.messages if isinstance(m, Verdict)]
    assert [v.outcome for v in verdicts] == ["fail", "uncertain"]
    assert any(c.name == "agreement" and c.passed for c in verdicts[1].checks)
    assert state.stop_reason == "reproduced"
    assert not any(agent == "reasoner" for agent, _ in model.calls)


async def test_the_answer_is_voted_across_attempts_not_the_last_one(sandbox: LocalSandbox) -> None:
    # Two programs print 42 and only the check program rejects them: in the vote a rejection
    # by a check program alone counts as uncertain, so 42 (two votes) beats a later 41.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Multiply 6 by 7"))],
            "coder": [code_reply("print(6 * 7)"), code_reply("print(42 * 1)")],
            "reasoner": ["Answer: 41"],
            "verifier": [code_reply("print('Wrong')")],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="steer", exec_timeout=5.0)
    state = await run_graph(graph, TASK)
    assert state.answer is not None and state.answer.content == "42"


def test_literals_copied_from_the_coder_examples_are_caught() -> None:
    from codehelm.agents.coder import borrowed_literals

    examples = 'Goal: Count the letter r in strawberry\nprint("strawberry".count("r"))\n127 * 349'
    own = "Count the letter a in potato"
    assert borrowed_literals('print("strawberry".count("a"))', examples, own) == ["strawberry"]
    assert borrowed_literals('print("potato".count("a"))', examples, own) == []
    assert borrowed_literals("print(12 * 34)", examples, "What is 12 * 34?") == []  # not "127"
    assert borrowed_literals("print(127 * 5)", examples, "What is 12 * 5?") == ["127"]


@pytest.mark.parametrize("steps", [1, 2])
async def test_a_one_step_plan_works_on_the_whole_task_not_the_planners_paraphrase(
    sandbox: LocalSandbox, steps: int
) -> None:
    # The planner's goal drops half of a two-part question; a step of a longer plan keeps its
    # own goal.
    task = 'How many times does "o" appear in "potato", and at which positions?'
    goals = [("code", "Count the letter o in potato")] * steps
    model = ScriptedModel(
        {"planner": [plan_reply(*goals)], "coder": [code_reply('print("2: 2, 6")')]}
    )
    graph = build_solve_graph(model, sandbox, policy="plan", exec_timeout=5.0)
    await run_graph(graph, task)
    first = next(m for agent, m in model.calls if agent == "coder")
    asked = first[-1]["content"]
    goal_line = next(line for line in asked.splitlines() if line.startswith("Goal:"))
    expected = task if steps == 1 else "Count the letter o in potato"
    assert goal_line == f"Goal: {expected}"


async def test_a_program_copying_the_example_is_sent_back(sandbox: LocalSandbox) -> None:
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Count the letter o in potato"))],
            "coder": [
                code_reply('print("strawberry".count("o"))'),
                code_reply('print("potato".count("o"))'),
            ],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="plan", exec_timeout=5.0)
    state = await run_graph(graph, 'How many times does "o" appear in "potato"?')
    assert state.answer is not None and state.answer.content == "2"
    second = [m for agent, m in model.calls if agent == "coder"][1]
    assert "'strawberry' from the example" in second[-1]["content"]


@pytest.mark.parametrize("selector", ["codet", "b4"])
async def test_k_candidate_programs_are_chosen_by_generated_checks(
    sandbox: LocalSandbox, selector: Selector
) -> None:
    # Three programs: two compute 6 * 7, one is off by one. The checks (a recomputation and an
    # explicit test) accept 42 only; CodeT's dual agreement (or B4) picks a program printing 42,
    # and the generated checks make the answer verified.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Multiply 6 by 7"))],
            "coder": [
                code_reply("print(6 * 7 + 1)"),
                code_reply("print(6 * 7)"),
                code_reply("a = 6\nprint(a * 7)"),
            ],
            "tester": [
                code_reply("print(6 * 7)"),
                code_reply("print('Correct' if number(answer) == 6 * 7 else 'Wrong')"),
            ],
        }
    )
    graph = build_solve_graph(
        model, sandbox, policy="plan", candidates=3, selector=selector, exec_timeout=5.0
    )
    state = await run_graph(graph, TASK)
    assert state.answer is not None and state.answer.content == "42"
    assert state.stop_reason == "verified"
    verdict = next(m for m in state.messages if isinstance(m, Verdict))
    tests = next(c for c in verdict.checks if c.name == "tests")
    assert tests.passed and "2 of 3 programs" in tests.detail and "2 of 2" in tests.detail
    coder_calls = [agent for agent, _ in model.calls if agent == "coder"]
    assert len(coder_calls) == 3


async def test_without_usable_checks_the_programs_majority_is_taken_unverified(
    sandbox: LocalSandbox,
) -> None:
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Multiply 6 by 7"))],
            "coder": [
                code_reply("print(6 * 7 + 1)"),
                code_reply("print(6 * 7)"),
                code_reply("print(7 * 6)"),
            ],
            "tester": [code_reply("print(number(answer))")],  # echoes: decides nothing
        }
    )
    graph = build_solve_graph(model, sandbox, policy="plan", candidates=3, exec_timeout=5.0)
    state = await run_graph(graph, TASK)
    assert state.answer is not None and state.answer.content == "42"
    assert state.stop_reason == "reproduced"


async def test_a_broken_check_cannot_hand_the_step_to_a_worse_later_program(
    sandbox: LocalSandbox,
) -> None:
    # From an embedded-model trace: the check compares with 17 and rejects the right product;
    # the revision drops a factor and a vacuous check lets it through. The step keeps 399160.
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Compute 17 * 587 * 40"))],
            "coder": [code_reply("print(17 * 587 * 40)"), code_reply("print(17 * 587)")],
            "reasoner": ["17 * 587 is 9979 and 9979 * 40 is 400000.\nAnswer: 400000"],
            "verifier": [
                code_reply(
                    "count = 17\nprint('Correct' if number(answer) == count else 'Wrong: 17')"
                ),
                code_reply("print('Correct')"),
            ],
        }
    )
    graph = build_solve_graph(model, sandbox, policy="steer", exec_timeout=5.0)
    state = await run_graph(graph, "Compute 17 * 587 * 40. Answer with the integer only.")
    verdicts = [m.outcome for m in state.messages if isinstance(m, Verdict)]
    assert verdicts[:2] == ["fail", "uncertain"]  # the rejection still asked for another try
    assert state.answer is not None and state.answer.content == "399160"
    assert state.stop_reason == "reproduced"  # nothing confirmed it


def test_an_unknown_selector_is_refused(sandbox: LocalSandbox) -> None:
    with pytest.raises(ValueError, match="unknown selector 'best'"):
        build_solve_graph(ScriptedModel({}), sandbox, candidates=2, selector="best")  # type: ignore[arg-type]
