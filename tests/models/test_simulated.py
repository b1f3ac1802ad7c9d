"""SimulatedModel: its parameters hold over many calls, draws are seeded and order-free, and
the real solve graph runs on it."""

from __future__ import annotations

import contextlib
import io
import json
import random
from typing import Any

import pytest
from pydantic import BaseModel, Field

from codehelm.agents.coder import extract_code
from codehelm.agents.reasoner import extract_text_answer
from codehelm.agents.verifier import CHECK_PRELUDE, self_answer_check
from codehelm.evals.tasks import check_answer, generate_items
from codehelm.graphs.compose import run_graph
from codehelm.graphs.solve import build_solve_graph
from codehelm.models import FamilySkill, ModelClient, SimParams, SimTask, SimulatedModel
from codehelm.models.simulated import minimal_instance, tasks_from_items, wrong_answer
from codehelm.policy import POLICIES
from codehelm.prompts import render
from codehelm.tools.sandbox.local import LocalSandbox

N = 60  # tasks per family
TURNS = 20  # calls per task and agent: 1200 draws per family and mode

TASKS = {
    **{f"Task A{i}: compute the value.": SimTask("a", str(1000 + 37 * i)) for i in range(N)},
    **{f"Task B{i}: order the letters.": SimTask("b", "cab" + "xyz"[i % 3]) for i in range(N)},
}
SKILLS = {"a": FamilySkill(accuracy_code=0.8, accuracy_text=0.3), "b": FamilySkill(0.25, 0.7)}


def printed(program: str, answer: str | None = None) -> str | None:
    """The last line a program prints (None if it raises), run here: the programs are ours."""
    out = io.StringIO()
    scope: dict[str, Any] = {} if answer is None else {"answer": answer}
    source = program if answer is None else CHECK_PRELUDE + program
    try:
        with contextlib.redirect_stdout(out):
            exec(source, scope)
    except Exception:
        return None
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def coder_prompt(task: str) -> list[dict[str, str]]:
    return render("coder", goal="Solve it", task=task, context="", attempts=[])


def reasoner_prompt(task: str) -> list[dict[str, str]]:
    return render("reasoner", goal="Solve it", task=task, context="", attempts=[])


async def code_share(model: ModelClient, family: str) -> tuple[float, float]:
    """Share of coder replies printing the gold, and share of programs that raise."""
    right = crashed = total = 0
    for prompt, task in TASKS.items():
        if task.family != family:
            continue
        for _ in range(TURNS):
            reply = await model.complete(coder_prompt(prompt), agent="coder")
            code = extract_code(reply.text)
            assert code is not None
            value = printed(code)
            right += value == task.gold
            crashed += value is None
            total += 1
    return right / total, crashed / total


async def text_share(model: ModelClient, family: str) -> float:
    right = total = 0
    for prompt, task in TASKS.items():
        if task.family != family:
            continue
        for _ in range(TURNS):
            reply = await model.complete(reasoner_prompt(prompt), agent="reasoner")
            right += extract_text_answer(reply.text) == task.gold
            total += 1
    return right / total


async def test_accuracy_in_code_and_text_holds_per_family() -> None:
    model = SimulatedModel(TASKS, SimParams(families=SKILLS, seed=3, crash_share=0.5))
    for family, skill in SKILLS.items():
        right, crashed = await code_share(model, family)
        assert right == pytest.approx(skill.accuracy_code, abs=0.04)
        assert crashed == pytest.approx(0.5 * (1 - skill.accuracy_code), abs=0.04)
        assert await text_share(model, family) == pytest.approx(skill.accuracy_text, abs=0.04)
    assert model.calls[0].kind == "code" and model.calls[-1].kind == "text"


async def test_retry_correlation_repeats_the_first_attempt() -> None:
    params = SimParams(families=SKILLS, seed=1, retry_correlation=1.0)
    model = SimulatedModel(TASKS, params)
    for prompt in list(TASKS)[:: N // 10]:
        outcomes = set()
        for _ in range(5):
            reply = await model.complete(reasoner_prompt(prompt), agent="reasoner")
            outcomes.add(extract_text_answer(reply.text) == TASKS[prompt].gold)
        assert len(outcomes) == 1


async def test_self_check_false_accept_and_false_reject_rates_hold() -> None:
    params = SimParams(families=SKILLS, false_accept=0.15, false_reject=0.3, seed=5)
    model = SimulatedModel(TASKS, params)
    rng = random.Random(0)
    said: dict[bool, list[bool]] = {True: [], False: []}
    for prompt, task in TASKS.items():
        for _ in range(TURNS // 2):
            right = rng.random() < 0.5
            answer = task.gold if right else wrong_answer(task, rng)
            messages = render("self_check", task=prompt, answer=answer)
            reply = await model.complete(messages, agent="verifier")
            code = extract_code(reply.text)
            assert code is not None and answer not in code  # never the answer as a literal
            verdict = printed(code, answer)
            assert verdict is not None
            accepted = verdict == "Correct"
            said[right].append(accepted)
            if accepted:  # a real check: a different answer is not accepted as well
                assert printed(code, answer + "1") != "Correct"
    false_reject = 1 - sum(said[True]) / len(said[True])
    false_accept = sum(said[False]) / len(said[False])
    assert false_reject == pytest.approx(0.3, abs=0.04)
    assert false_accept == pytest.approx(0.15, abs=0.04)


async def test_the_verifier_takes_its_checks_as_discriminating(sandbox: LocalSandbox) -> None:
    items = generate_items(["multiplication"], 2, seed=0)
    tasks = tasks_from_items(items, lambda item, answer: check_answer(item, answer).correct)
    model = SimulatedModel(tasks, SimParams(false_accept=0.0, false_reject=0.0))
    for item in items:
        assert item.reference is not None
        wrong = wrong_answer(tasks[item.prompt], random.Random(1))
        good, _ = await self_answer_check(model, sandbox, item.prompt, item.reference)
        bad, _ = await self_answer_check(model, sandbox, item.prompt, wrong)
        assert (good.passed, bad.passed) == (True, False), (good, bad)


async def test_draws_are_seeded_per_task_agent_and_turn_not_by_order() -> None:
    params = SimParams(families=SKILLS, seed=11, crash_share=0.3, hardcode_share=0.2)
    prompts = list(TASKS)[:: N // 6]

    async def replies(order: list[str]) -> dict[tuple[str, int], str]:
        model = SimulatedModel(TASKS, params)
        seen: dict[tuple[str, int], str] = {}
        turns: dict[str, int] = {}
        for prompt in order:
            reply = await model.complete(coder_prompt(prompt), agent="coder")
            turns[prompt] = turns.get(prompt, -1) + 1
            seen[(prompt, turns[prompt])] = reply.text
        return seen

    order = [p for p in prompts for _ in range(3)]
    shuffled = order[:]
    random.Random(2).shuffle(shuffled)
    assert await replies(order) == await replies(shuffled)
    other = SimulatedModel(TASKS, SimParams(families=SKILLS, seed=12))
    first = await replies(order)
    again = [await other.complete(coder_prompt(p), agent="coder") for p in order]
    assert [r.text for r in again] != list(first.values())


async def test_planner_and_estimate_follow_the_skills() -> None:
    from codehelm.agents.planner import PlanDraft
    from codehelm.agents.steerer import ModeEstimate

    sure = SimulatedModel(TASKS, SimParams(families=SKILLS, plan_skill=1.0, estimate_noise=0))
    coin = SimulatedModel(TASKS, SimParams(families=SKILLS, plan_skill=0.5, seed=4))
    code_plans = 0
    for prompt, task in TASKS.items():
        plan = await sure.structured(render("planner", task=prompt, feedback=""), PlanDraft)
        better = SKILLS[task.family].better
        assert [s.mode for s in plan.value.steps] == [better]
        # the estimate sees only the step's goal, which names the task
        goal = plan.value.steps[0].goal
        estimate = await sure.structured(render("estimate", goal=goal), ModeEstimate)
        skill = SKILLS[task.family]
        expected = (round(10 * skill.accuracy_code), round(10 * skill.accuracy_text))
        assert (estimate.value.code, estimate.value.text) == expected
        neutral = await coin.structured(render("planner", task=prompt, feedback=""), PlanDraft)
        code_plans += neutral.value.steps[0].mode == "code"
    assert code_plans / len(TASKS) == pytest.approx(0.5, abs=0.12)
    assert plan.usage.prompt_tokens > 50 and plan.usage.completion_tokens > 5


class Odd(BaseModel):
    name: str = Field(min_length=3)
    count: int = Field(ge=2)
    kind: str = Field(json_schema_extra={"enum": ["x", "y"]})
    tags: list[str] = Field(min_length=1)
    ratio: float | None = None


async def test_other_structured_calls_get_a_valid_value() -> None:
    model = SimulatedModel(TASKS)
    reply = await model.structured([{"role": "user", "content": "Anything"}], Odd, agent="x")
    assert reply.repairs == 0 and reply.value.count == 2 and len(reply.value.name) == 3
    assert json.loads(json.dumps(minimal_instance(Odd.model_json_schema())))["tags"] == ["x"]
    text = await model.complete([{"role": "user", "content": "Say something"}], agent="writer")
    assert text.text.strip().splitlines()[-1].startswith("Answer:")


@pytest.mark.parametrize("policy", POLICIES)
async def test_the_solve_graph_runs_end_to_end_on_it(policy: str, sandbox: LocalSandbox) -> None:
    items = generate_items(["multiplication", "game24"], 1, seed=0)
    tasks = tasks_from_items(items, lambda item, answer: check_answer(item, answer).correct)
    perfect = SimParams(
        families={"multiplication": FamilySkill(1.0, 1.0), "game24": FamilySkill(1.0, 1.0)},
        false_accept=0.0,
        false_reject=0.0,
    )
    hopeless = SimParams(default=FamilySkill(0.0, 0.0), false_accept=0.0, false_reject=0.0)
    for params, solved in ((perfect, True), (hopeless, False)):
        model = SimulatedModel(tasks, params)
        graph = build_solve_graph(model, sandbox, policy=policy)  # type: ignore[arg-type]
        for item in items:
            state = await run_graph(graph, item.prompt)
            answer = state.answer.content if state.answer else ""
            assert check_answer(item, answer).correct is solved, (policy, state.stop_reason)
            assert state.usage.calls >= 2 and state.usage.total_tokens > 100
        kinds = {call.kind for call in model.calls}
        assert "plan" in kinds and kinds & {"code", "text"}
        if policy == "steer":
            assert "check" in kinds
