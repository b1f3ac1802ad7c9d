"""Typed messages: the only vocabulary agents use with each other.

Every message is an immutable pydantic model with a `type` tag, so a list of
mixed messages round-trips through JSON (`MESSAGE_LIST.validate_json`) and
through LangGraph checkpoints unchanged.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, computed_field, model_validator


def new_id() -> str:
    """A short random id (12 hex digits) for messages and runs."""
    return uuid.uuid4().hex[:12]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Usage(BaseModel):
    """Cost of one or more model calls. `cost_usd` is None when the provider's price is unknown."""

    model_config = ConfigDict(frozen=True)

    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: float = 0.0
    calls: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        models = {m for m in (self.model, other.model) if m}
        return Usage(
            model=",".join(sorted(models)),
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=sum(costs) if costs else None,
            latency_ms=self.latency_ms + other.latency_ms,
            calls=self.calls + other.calls,
        )


class Budget(BaseModel):
    """Limits for one run; hitting any of them ends the run with its best partial answer."""

    model_config = ConfigDict(frozen=True)

    max_steps: int = Field(default=20, ge=1, description="Agent steps (node executions).")
    max_tokens: int | None = Field(default=50_000, ge=1, description="Prompt + completion tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Dollars, where known.")
    max_seconds: float | None = Field(default=600.0, gt=0, description="Wall time of agent work.")

    def capped(self, cap: Budget) -> Budget:
        """The stricter of this budget and `cap`, limit by limit (None is no limit)."""
        return Budget(
            max_steps=min(self.max_steps, cap.max_steps),
            max_tokens=_least(self.max_tokens, cap.max_tokens),
            max_cost_usd=_least(self.max_cost_usd, cap.max_cost_usd),
            max_seconds=_least(self.max_seconds, cap.max_seconds),
        )


Limit = TypeVar("Limit", int, float)


def _least(mine: Limit | None, theirs: Limit | None) -> Limit | None:
    return theirs if mine is None else mine if theirs is None else min(mine, theirs)


class Message(BaseModel):
    """Base of every message: who sent it, when, in which run, in reply to what."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    run_id: str = ""
    sender: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    parent_id: str | None = None


class Task(Message):
    """What the user asked for."""

    type: Literal["task"] = "task"
    kind: Literal["solve", "research", "fix"] = "solve"
    prompt: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)


StepMode = Literal["code", "text", "search", "repo"]


class PlanStep(BaseModel):
    """One step of a plan. `mode` is the steering decision: compute with code or reason in text."""

    model_config = ConfigDict(frozen=True)

    id: str
    goal: str = Field(min_length=1)
    mode: StepMode = "code"
    depends_on: list[str] = Field(default_factory=list)


class Plan(Message):
    type: Literal["plan"] = "plan"
    steps: list[PlanStep] = Field(min_length=1)
    rationale: str = ""


class CodeAction(Message):
    """Code the coder wants run for a plan step."""

    type: Literal["code_action"] = "code_action"
    step_id: str
    language: Literal["python"] = "python"
    code: str = Field(min_length=1)
    purpose: str = ""


class Approval(Message):
    """A person's decision on a `CodeAction` before it runs (`approve=True`).

    `run` runs it as written, `edit` runs `code` instead, `reject` sends `reason` back to
    the coder. This is also the value a LangGraph client resumes the interrupt with, e.g.
    `Command(resume={"decision": "reject", "reason": "no network calls"})`.
    """

    type: Literal["approval"] = "approval"
    decision: Literal["run", "edit", "reject"]
    code: str | None = None
    reason: str = ""
    action_id: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Approval:
        if self.decision == "edit" and not (self.code or "").strip():
            raise ValueError("an 'edit' decision needs the edited program in 'code'")
        if self.decision == "reject" and not self.reason.strip():
            raise ValueError("a 'reject' decision needs a 'reason' for the coder")
        return self


class ExecutionError(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str = ""
    traceback: str = ""

    def summary(self) -> str:
        return f"{self.name}: {self.value}" if self.value else self.name


class Execution(Message):
    """What running a `CodeAction` produced.

    `state_lost` says the sandbox's interpreter was restarted (after a timeout or
    crash), so variables from earlier executions are gone.
    """

    type: Literal["execution"] = "execution"
    action_id: str
    stdout: str = ""
    stderr: str = ""
    results: list[str] = Field(default_factory=list)
    error: ExecutionError | None = None
    duration_ms: float = 0.0
    timed_out: bool = False
    state_lost: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


class Evidence(Message):
    """A piece of support for a claim, with provenance: a verbatim `quote` of the text at
    `source` (a URL or file path) whose sha256 is `content_hash`, or a `computed` result:
    the last line a `program` printed, `source` naming its execution."""

    type: Literal["evidence"] = "evidence"
    source: str
    quote: str
    retrieved_at: datetime = Field(default_factory=utc_now)
    content_hash: str = ""
    kind: Literal["quote", "computed"] = "quote"
    program: str = ""


class Check(BaseModel):
    """One named check a verifier ran, and what it found."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool | None  # None: the check could not decide
    detail: str = ""


class Verdict(Message):
    type: Literal["verdict"] = "verdict"
    target_id: str
    outcome: Literal["pass", "fail", "uncertain"]
    checks: list[Check] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class Answer(Message):
    """A candidate or final answer. `rationale` holds the reasoning or code behind it."""

    type: Literal["answer"] = "answer"
    content: str
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    evidence_ids: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    step_id: str = ""
    mode: StepMode = "text"
    rationale: str = ""


class Guidance(Message):
    """A steering decision after an attempt: accept the answer, revise it, or switch mode."""

    type: Literal["guidance"] = "guidance"
    step_id: str
    action: Literal["answer", "revise", "switch"]
    mode: Literal["code", "text"]
    hint: str = ""
    findings: list[Check] = Field(default_factory=list)


class ErrorReport(Message):
    """Something went wrong that the run survived (malformed model output, a failing tool)."""

    type: Literal["error"] = "error"
    error: str
    detail: str = ""


AnyMessage = Annotated[
    Task
    | Plan
    | CodeAction
    | Approval
    | Execution
    | Evidence
    | Verdict
    | Answer
    | Guidance
    | ErrorReport,
    Field(discriminator="type"),
]
MESSAGE: TypeAdapter[AnyMessage] = TypeAdapter(AnyMessage)
MESSAGE_LIST: TypeAdapter[list[AnyMessage]] = TypeAdapter(list[AnyMessage])

MESSAGE_TYPES: tuple[type[BaseModel], ...] = (
    Usage,
    Budget,
    Task,
    PlanStep,
    Plan,
    CodeAction,
    Approval,
    ExecutionError,
    Execution,
    Evidence,
    Check,
    Verdict,
    Answer,
    Guidance,
    ErrorReport,
)
