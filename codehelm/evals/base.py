"""Core types of the evaluation suite: items, check results and the task-family base class.

`codehelm.evals.tasks` re-exports everything here together with the family registry; import
from there. The types live in this module so that family modules can import them without an
import cycle through the registry.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

DIFFICULTIES = (1, 2, 3)


class EvalItem(BaseModel):
    """One generated task: the prompt shown to the model and everything its checker needs."""

    model_config = ConfigDict(frozen=True)

    family: str
    id: str
    difficulty: int = Field(ge=1, le=3)
    prompt: str
    data: dict[str, Any]
    reference: str | None = None


class CheckResult(BaseModel):
    """Verdict on one answer: `reason` names the violated constraint, or is "ok"."""

    model_config = ConfigDict(frozen=True)

    correct: bool
    reason: str

    @classmethod
    def ok(cls) -> CheckResult:
        return cls(correct=True, reason="ok")

    @classmethod
    def fail(cls, reason: str) -> CheckResult:
        return cls(correct=False, reason=reason)


def item_id(family: str, difficulty: int, seed: int, index: int) -> str:
    return f"{family}-{difficulty}-{seed}-{index}"


class TaskFamily(ABC):
    """A seeded generator of task items plus an exact checker of answers.

    Subclasses implement `generate` and `_check`. The public `check` never raises: it guards
    `_check` (which is itself written not to raise; the tests call it directly) so that one
    malformed answer can never abort an evaluation run.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        """A new item drawn from `rng` at `difficulty` (1..3)."""

    @abstractmethod
    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        """Verdict on `answer` for `item`; may assume `item` was produced by this family."""

    def check(self, item: EvalItem, answer: str) -> CheckResult:
        if item.family != self.name:
            return CheckResult.fail(f"item belongs to family {item.family!r}, not {self.name!r}")
        if not isinstance(answer, str):
            return CheckResult.fail(f"could not parse answer of type {type(answer).__name__}")
        try:
            return self._check(item, answer)
        except Exception as exc:  # defensive: a checker bug must not crash an eval run
            return CheckResult.fail(f"checker error: {type(exc).__name__}: {exc}")

    def make_item(
        self,
        difficulty: int,
        index: int,
        seed: int,
        prompt: str,
        data: dict[str, Any],
        reference: str | None,
    ) -> EvalItem:
        return EvalItem(
            family=self.name,
            id=item_id(self.name, difficulty, seed, index),
            difficulty=difficulty,
            prompt=prompt,
            data=data,
            reference=reference,
        )


def check_difficulty(difficulty: int) -> int:
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    return difficulty
