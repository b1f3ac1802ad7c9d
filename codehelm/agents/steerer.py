"""Steering between code and text (CodeSteer).

A `SteeringPolicy` says how each plan step's mode is chosen:

- `plan`: the planner's choice for each step, no review (the cheapest);
- `code` / `text`: always that mode;
- `self-estimate`: the model rates code against text for the step and takes the higher;
- `steer`: the planner's choice first; after every attempt the `Steerer` reviews it with
  the symbolic checker (is the code computing, or printing a constant?) and the verifier's
  self-answer check, then answers, asks for a revision, or switches mode once every
  failed attempt at the step used the same one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from codehelm.agents.candidates import choose_answer, has_usable_answer
from codehelm.agents.symbolic import analyse
from codehelm.errors import ModelOutputError
from codehelm.messages import Check, Guidance, Plan, PlanStep, Usage, Verdict
from codehelm.models import ModelClient
from codehelm.policy import SteeringPolicy
from codehelm.prompts import render
from codehelm.state import Attempt, SolveState

Mode = Literal["code", "text"]


class ModeEstimate(BaseModel):
    code: int = Field(ge=0, le=10)
    text: int = Field(ge=0, le=10)


async def estimate_mode(model: ModelClient, step: PlanStep) -> tuple[Mode, Usage]:
    """Self-estimate: the model scores both methods for `step`; ties and failures go to code."""
    try:
        reply = await model.structured(
            render("estimate", goal=step.goal), ModeEstimate, agent="steerer"
        )
    except ModelOutputError as exc:
        return "code", exc.usage
    mode: Mode = "text" if reply.value.text > reply.value.code else "code"
    return mode, reply.usage


async def apply_policy(
    plan: Plan, policy: SteeringPolicy, model: ModelClient
) -> tuple[Plan, Usage]:
    """Set each step's mode as the policy says; `steer` and `plan` keep the planner's choices."""
    if policy in ("steer", "plan"):
        return plan, Usage()
    usage = Usage()
    steps = []
    for step in plan.steps:
        mode: Mode
        if policy == "self-estimate":
            mode, spent = await estimate_mode(model, step)
            usage = usage + spent
        else:
            mode = "code" if policy == "code" else "text"
        steps.append(step.model_copy(update={"mode": mode}))
    rationale = f"{plan.rationale}; modes by policy {policy}".lstrip("; ")
    return plan.model_copy(update={"steps": steps, "rationale": rationale}), usage


def other(mode: Mode) -> Mode:
    return "text" if mode == "code" else "code"


CONFIRMING = frozenset({"agreement", "tests"})
"""Checks that another attempt or a generated test backs the answer: evidence a single
attempt and its own check program cannot give (a check program may accept anything)."""


class Steerer:
    """Reviews each verified attempt and decides: answer, revise, or switch mode.

    An answer is accepted once another attempt backs it (`CONFIRMING`). An answer that ran
    and passed what it could, but is unconfirmed, is tried again in the mode with fewer
    attempts, so the first retry is the other mode: a program and a reasoning that agree
    are the strongest evidence a step can get, and the mode that keeps agreeing with itself
    is the better one even when the check program is useless. A failed attempt is revised
    in its mode, and the mode switched after `switch_after` failures in it. With no attempts
    left (`max_attempts`), the step's answer is voted across its attempts (`choose_answer`).
    """

    name = "steerer"

    def __init__(self, *, switch_after: int = 2, max_attempts: int = 4) -> None:
        self.switch_after = switch_after
        self.max_attempts = max_attempts

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        step, verdict, plan = state.step, state.verdict, state.plan
        assert step is not None and verdict is not None and plan is not None
        mode: Mode = "code" if step.mode == "code" else "text"
        findings: list[Check] = []
        attempts = list(state.attempts)
        action: Literal["answer", "revise", "switch"] = "answer"
        hint = ""
        next_mode = mode
        if mode == "code" and state.action is not None and verdict.outcome != "fail":
            report = analyse(state.action.code)
            findings.append(
                Check(name="symbolic", passed=not report.hard_coded, detail=report.summary())
            )
            asked_before = any(a.feedback.startswith(HARD_CODED) for a in attempts)
            if report.hard_coded and not asked_before:
                action, hint = "revise", HARD_CODED
                attempts.append(
                    Attempt(mode="code", content=state.action.code, feedback=HARD_CODED)
                )
        if action == "answer" and not confirmed(verdict):
            if verdict.outcome != "fail":
                content = state.candidate.rationale if state.candidate else ""
                attempts.append(Attempt(mode=mode, content=content, feedback=""))
            if len(attempts) < self.max_attempts:
                action = "revise"
                next_mode, hint = self._retry(state, attempts, mode)
            elif not has_usable_answer(state, step.id):
                action, hint = "revise", "; ".join(verdict.reasons)
        update: dict[str, Any] = {"attempts": attempts} if attempts != state.attempts else {}
        if next_mode != mode:
            action = "switch"
            steps = [
                s.model_copy(update={"mode": next_mode}) if s.id == step.id else s
                for s in plan.steps
            ]
            update["plan"] = plan.model_copy(update={"steps": steps})
        guidance = Guidance(
            step_id=step.id,
            action=action,
            mode=next_mode,
            hint=hint,
            findings=findings,
            run_id=state.task.run_id,
            sender=self.name,
        )
        return {**update, "guidance": guidance, "messages": [guidance]}

    def _retry(self, state: SolveState, attempts: list[Attempt], mode: Mode) -> tuple[Mode, str]:
        """The next try at a failed or unconfirmed step: its mode, and why."""
        step, verdict = state.step, state.verdict
        assert step is not None and verdict is not None
        tried = [a.mode for a in attempts]
        if verdict.outcome == "fail":
            if len(tried) >= self.switch_after and set(tried) == {mode}:
                return other(mode), f"{len(tried)} {mode} attempts failed; try {other(mode)}"
            return mode, "; ".join(verdict.reasons)
        if tried.count(other(mode)) < tried.count(mode):
            return other(mode), f"unconfirmed; an independent {other(mode)} attempt"
        chosen = choose_answer(state, step.id)
        ahead: Mode = mode if chosen is None else "code" if chosen[0].mode == "code" else "text"
        return ahead, f"unconfirmed; another {ahead} attempt (its answer leads)"


def confirmed(verdict: Verdict) -> bool:
    """Whether another attempt or a generated test backs the judged answer."""
    return verdict.outcome != "fail" and any(
        c.passed and c.name in CONFIRMING for c in verdict.checks
    )


HARD_CODED = "the program prints a constant; write code that computes the answer"
