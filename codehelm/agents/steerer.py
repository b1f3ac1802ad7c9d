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

from codehelm.agents.symbolic import analyse
from codehelm.errors import ModelOutputError
from codehelm.messages import Check, Guidance, Plan, PlanStep, Usage
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


class Steerer:
    """Reviews each verified attempt and decides: answer, revise, or switch mode."""

    name = "steerer"

    def __init__(self, *, switch_after: int = 2) -> None:
        self.switch_after = switch_after

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        step, verdict, plan = state.step, state.verdict, state.plan
        assert step is not None and verdict is not None and plan is not None
        mode: Mode = "code" if step.mode == "code" else "text"
        findings: list[Check] = []
        update: dict[str, Any] = {}
        action: Literal["answer", "revise", "switch"] = "answer"
        hint = ""
        if verdict.outcome == "fail":
            tried = [a.mode for a in state.attempts]
            if len(tried) >= self.switch_after and set(tried) == {mode}:
                action, hint = "switch", f"{len(tried)} {mode} attempts failed; try {other(mode)}"
                mode = other(mode)
                steps = [
                    s.model_copy(update={"mode": mode}) if s.id == step.id else s
                    for s in plan.steps
                ]
                update["plan"] = plan.model_copy(update={"steps": steps})
            else:
                action, hint = "revise", "; ".join(verdict.reasons)
        elif mode == "code" and state.action is not None:
            report = analyse(state.action.code)
            findings.append(
                Check(name="symbolic", passed=not report.hard_coded, detail=report.summary())
            )
            asked_before = any(a.feedback.startswith(HARD_CODED) for a in state.attempts)
            if report.hard_coded and not asked_before:
                action, hint = "revise", HARD_CODED
                attempt = Attempt(mode="code", content=state.action.code, feedback=HARD_CODED)
                update["attempts"] = [*state.attempts, attempt]
        guidance = Guidance(
            step_id=step.id,
            action=action,
            mode=mode,
            hint=hint,
            findings=findings,
            run_id=state.task.run_id,
            sender=self.name,
        )
        return {**update, "guidance": guidance, "messages": [guidance]}


HARD_CODED = "the program prints a constant; write code that computes the answer"
