from __future__ import annotations

import pytest
from pydantic import ValidationError

from codehelm.messages import (
    MESSAGE_LIST,
    Answer,
    Approval,
    Budget,
    Check,
    CodeAction,
    ErrorReport,
    Evidence,
    Execution,
    ExecutionError,
    Plan,
    PlanStep,
    Task,
    Usage,
    Verdict,
)
from codehelm.state import Attempt, SolveState


def one_of_each() -> list:
    task = Task(prompt="What is 2 + 2?", budget=Budget(max_steps=5), run_id="r1", sender="user")
    plan = Plan(steps=[PlanStep(id="s1", goal="Add", mode="code")], parent_id=task.id)
    action = CodeAction(step_id="s1", code="print(2 + 2)")
    execution = Execution(
        action_id=action.id,
        stdout="4\n",
        error=ExecutionError(name="ValueError", value="bad", traceback="Traceback ..."),
        duration_ms=1.5,
    )
    evidence = Evidence(source="https://example.org", quote="2 + 2 = 4", content_hash="abc")
    answer = Answer(content="4", confidence=0.9, usage=Usage(prompt_tokens=3, cost_usd=0.01))
    verdict = Verdict(
        target_id=answer.id, outcome="pass", checks=[Check(name="executed", passed=True)]
    )
    error = ErrorReport(error="no code block", detail="...")
    return [task, plan, action, execution, evidence, answer, verdict, error]


def test_every_message_type_round_trips_through_json() -> None:
    messages = one_of_each()
    restored = MESSAGE_LIST.validate_json(MESSAGE_LIST.dump_json(messages))
    assert restored == messages
    assert [type(m) for m in restored] == [type(m) for m in messages]


def test_state_round_trips_through_json() -> None:
    messages = one_of_each()
    state = SolveState(
        task=messages[0],
        messages=messages,
        plan=messages[1],
        attempts=[Attempt(mode="code", content="print(1)", feedback="wrong")],
        usage=Usage(prompt_tokens=10, completion_tokens=2),
    )
    assert SolveState.model_validate_json(state.model_dump_json()) == state


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ({"decision": "edit"}, "an 'edit' decision needs the edited program in 'code'"),
        ({"decision": "edit", "code": "  \n"}, "needs the edited program"),
        ({"decision": "reject"}, "a 'reject' decision needs a 'reason' for the coder"),
        ({"decision": "reject", "reason": " "}, "needs a 'reason'"),
    ],
)
def test_an_incomplete_approval_says_what_it_lacks(decision: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Approval.model_validate(decision)


def test_usage_adds_up_and_keeps_unknown_cost_unknown() -> None:
    a = Usage(model="m1", prompt_tokens=10, completion_tokens=5, cost_usd=None, calls=1)
    b = Usage(model="m2", prompt_tokens=1, completion_tokens=1, cost_usd=0.5, calls=1)
    total = a + b
    assert (total.total_tokens, total.calls, total.cost_usd, total.model) == (17, 2, 0.5, "m1,m2")
    assert (a + a).cost_usd is None
