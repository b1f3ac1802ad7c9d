"""LangGraph state schemas and their reducers. State holds typed messages, never loose dicts."""

from __future__ import annotations

import operator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from codehelm.messages import (
    Answer,
    AnyMessage,
    Check,
    CodeAction,
    Execution,
    Guidance,
    Plan,
    PlanStep,
    Task,
    Usage,
    Verdict,
)
from codehelm.snapshot_ref import SnapshotRef


class Attempt(BaseModel):
    """A failed try at the current step and why it failed; the next try sees it."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["code", "text"]
    content: str  # the code or the text reply
    feedback: str


class ProgramTests(BaseModel):
    """What sampling K programs with generated checks showed of the chosen program's output."""

    model_config = ConfigDict(frozen=True)

    output: str
    check: Check


class TaskInput(BaseModel):
    """What a served graph takes (LangGraph server): the task."""

    task: Task


class TaskOutput(BaseModel):
    """What a served graph answers: the answer, why the run stopped, and what it used."""

    answer: Answer | None = None
    stop_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)


class SolveState(BaseModel):
    """State of the solve graph.

    `messages` is the run's transcript (appended to by every node); the other
    fields are the current position: which plan step, the latest action,
    execution, candidate answer and verdict, and the failed attempts at this step.
    """

    task: Task
    messages: Annotated[list[AnyMessage], operator.add] = Field(default_factory=list)
    plan: Plan | None = None
    step_index: int = 0
    results: dict[str, str] = Field(default_factory=dict)  # step id -> accepted answer
    attempts: list[Attempt] = Field(default_factory=list)
    replans: int = 0
    action: CodeAction | None = None
    execution: Execution | None = None
    candidate: Answer | None = None
    verdict: Verdict | None = None
    guidance: Guidance | None = None
    program_tests: ProgramTests | None = None  # the sampler's evidence for `action`
    snapshot: SnapshotRef | None = None  # the sandbox's state after the latest execution
    snapshot_before: SnapshotRef | None = None  # ... and before it (verification re-runs)
    answer: Answer | None = None
    stop_reason: str | None = None
    steps: Annotated[int, operator.add] = 0
    elapsed_ms: Annotated[float, operator.add] = 0.0
    usage: Annotated[Usage, operator.add] = Field(default_factory=Usage)

    @property
    def step(self) -> PlanStep | None:
        """The plan step being worked on, or None when there is no plan or it is done."""
        if self.plan is None or self.step_index >= len(self.plan.steps):
            return None
        return self.plan.steps[self.step_index]

    def results_by_goal(self) -> dict[str, str]:
        """Accepted results of plan steps, keyed by goal (by step id if the plan changed)."""
        goals = {s.id: s.goal for s in self.plan.steps} if self.plan else {}
        return {goals.get(k, k): v for k, v in self.results.items()}

    def context(self) -> str:
        """Accepted results of earlier steps, for later steps' prompts."""
        return "; ".join(f"{goal} = {value}" for goal, value in self.results_by_goal().items())
