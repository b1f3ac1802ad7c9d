"""Planner: task -> `Plan`. Each step carries the steering decision: code or text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from codehelm.agents.steerer import apply_policy
from codehelm.errors import ModelOutputError
from codehelm.messages import ErrorReport, Plan, PlanStep
from codehelm.models import ModelClient
from codehelm.policy import SteeringPolicy
from codehelm.prompts import render
from codehelm.state import SolveState


class DraftStep(BaseModel):
    goal: str = Field(min_length=1, max_length=300)
    mode: Literal["code", "text"]


class PlanDraft(BaseModel):
    """What the model fills in: kept tiny so small models can produce it."""

    steps: list[DraftStep] = Field(min_length=1, max_length=4)


class Planner:
    """Asks the model for a plan; falls back to one step in `default_mode` if it cannot give one.

    The steering `policy` then sets each step's mode (see `codehelm.agents.steerer`).
    """

    name = "planner"

    def __init__(
        self,
        model: ModelClient,
        *,
        policy: SteeringPolicy = "steer",
        default_mode: Literal["code", "text"] = "code",
    ):
        self.model = model
        self.policy = policy
        self.default_mode = default_mode

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        task = state.task
        feedback = state.attempts[-1].feedback if state.attempts else ""
        prompt = render("planner", task=task.prompt, feedback=feedback)
        stamp = {"run_id": task.run_id, "sender": self.name, "parent_id": task.id}
        messages: list[Any] = []
        try:
            reply = await self.model.structured(prompt, PlanDraft, agent=self.name)
            steps = [
                PlanStep(id=f"s{i + 1}", goal=s.goal.strip() or task.prompt, mode=s.mode)
                for i, s in enumerate(reply.value.steps)
            ]
            usage = reply.usage
            rationale = ""
        except ModelOutputError as exc:
            messages.append(
                ErrorReport(error="the planner gave no usable plan", detail=str(exc), **stamp)
            )
            steps = [PlanStep(id="s1", goal=task.prompt, mode=self.default_mode)]
            usage = exc.usage
            rationale = f"fallback: one {self.default_mode} step"
        plan, steering = await apply_policy(
            Plan(steps=steps, rationale=rationale, **stamp), self.policy, self.model
        )
        usage = usage + steering
        messages.append(plan)
        update: dict[str, Any] = {
            "plan": plan,
            "messages": messages,
            "usage": usage,
            "step_index": 0,
            "results": {},
            "attempts": [],
        }
        if state.plan is not None:
            update["replans"] = state.replans + 1
        return update
