"""Run the evaluation suite: every item under every steering mode, resumable.

Each (item, mode) is one job for a `BatchRunner`: it solves the item's prompt
(`samples` times, voting with verification weights when more than one) and
checks the answer with the family's exact checker. Every finished job is
appended to `runs.jsonl` in the output folder at once, so re-running the same
command skips what is done and a killed evaluation loses at most the jobs in
flight. A job's runs have ids fixed by the job, so a job run again (a Ray retry
after its worker died) resumes its checkpointed runs rather than adding new ones.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from codehelm.config import Settings
from codehelm.evals.tasks import EvalItem, check_answer, generate_items
from codehelm.policy import SteeringPolicy
from codehelm.runtime.batch import BatchRunner, Outcome
from codehelm.runtime.runner import RunResult, solve_once
from codehelm.selection import VoteWeights, normalize_answer, weighted_vote

SAMPLING_TEMPERATURE = 0.7

Label = Literal["verified", "uncertain", "failed", "unjudged", "no_answer"]
"""How verified the checked answer was, by the verifier's verdict on it: "pass" is verified,
"uncertain" uncertain, "fail" failed; an answer with no verdict is unjudged, and a job
with no answer (the run stopped, or failed) is no_answer."""

_LABEL_OF_VERDICT: dict[str | None, Label] = {
    "pass": "verified",
    "uncertain": "uncertain",
    "fail": "failed",
    None: "unjudged",
}
_LABEL_RANK: tuple[Label, ...] = ("verified", "uncertain", "unjudged", "failed")


class EvalJob(BaseModel):
    """One item under one mode; plain data, so it can travel to a Ray worker."""

    item: EvalItem
    mode: SteeringPolicy
    samples: int = Field(ge=1)
    settings: dict[str, Any]
    weights: tuple[float, float, float] = (1.0, 0.5, 0.2)  # pass, uncertain, fail

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.item.id, self.mode, str(self.settings["model"]), self.samples)

    def run_id(self, sample: int) -> str:
        """The id of the job's `sample`-th run: the same every time the job runs in the same
        evaluation folder, so a job run again (a Ray retry, a re-run command) takes up its
        runs instead of starting new ones."""
        identity = json.dumps([self.settings.get("home"), *self.key, sample])
        return "eval-" + hashlib.sha256(identity.encode()).hexdigest()[:20]


class EvalRecord(BaseModel):
    """The outcome of one job: a line of `runs.jsonl`."""

    item_id: str
    family: str
    difficulty: int
    mode: str
    model: str
    samples: int
    answer: str | None = None
    correct: bool = False
    reason: str = ""
    tokens: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0
    model_calls: int = 0
    stop_reason: str | None = None
    label: Label | None = None  # None: a record written before labels were recorded
    run_ids: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.item_id, self.mode, self.model, self.samples)


async def run_job(job: EvalJob) -> EvalRecord:
    """Solve the item (with voting over samples) and check the answer exactly."""
    settings = Settings.model_validate({**job.settings, "steer": job.mode})
    start = time.perf_counter()
    results: list[RunResult] = []
    for sample in range(job.samples):
        if job.samples > 1:
            temperature = settings.temperature or SAMPLING_TEMPERATURE
            sampled = settings.model_copy(update={"temperature": temperature, "seed": sample})
        else:
            sampled = settings
        # Only this job drives its runs: one found running was left by a dead worker.
        run_id = job.run_id(sample)
        results.append(await solve_once(job.item.prompt, run_id, settings=sampled, take_over=True))
    answer, label = _vote(results, job.weights)
    check = check_answer(job.item, answer or "")
    costs = [r.usage.cost_usd for r in results if r.usage.cost_usd is not None]
    return EvalRecord(
        item_id=job.item.id,
        family=job.item.family,
        difficulty=job.item.difficulty,
        mode=job.mode,
        model=settings.model,
        samples=job.samples,
        answer=answer,
        correct=check.correct,
        reason=check.reason,
        tokens=sum(r.usage.total_tokens for r in results),
        cost_usd=sum(costs) if costs else None,
        wall_s=time.perf_counter() - start,
        model_calls=sum(r.usage.calls for r in results),
        stop_reason=results[-1].stop_reason,
        label=label,
        run_ids=[r.run_id for r in results],
    )


def _vote(
    results: list[RunResult], weights: tuple[float, float, float]
) -> tuple[str | None, Label]:
    """The answer to check and its label. With several samples the answer is the weighted
    vote's winner, labelled by the best verdict among the samples that gave it (verified over
    uncertain over unjudged over failed)."""
    answered = [r for r in results if r.answer]
    if not answered:
        return None, "no_answer"
    if len(answered) == 1:
        only = answered[0]
        assert only.answer is not None
        return only.answer.content, _LABEL_OF_VERDICT[only.verdict]
    pass_, uncertain, fail = weights
    vote = weighted_vote(
        [(r.answer.content, r.verdict or "uncertain") for r in answered if r.answer],
        VoteWeights(pass_=pass_, uncertain=uncertain, fail=fail),
    )
    labels = {
        _LABEL_OF_VERDICT[r.verdict]
        for r in answered
        if r.answer and normalize_answer(r.answer.content) == vote.winner
    }
    return vote.original, min(labels, key=_LABEL_RANK.index)


def read_records(path: Path) -> list[EvalRecord]:
    """The records of an earlier run; a damaged line (from a kill mid-write) is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(EvalRecord.model_validate_json(line))
        except ValidationError:
            continue
    return records


class EvalPlan(BaseModel):
    """What to evaluate."""

    families: list[str]
    n: int = Field(ge=1)
    seed: int = 0
    difficulty: int | None = None
    modes: list[SteeringPolicy]
    samples: int = Field(default=1, ge=1)


async def run_eval(
    plan: EvalPlan,
    settings: Settings,
    out_dir: Path,
    runner: BatchRunner,
    *,
    on_record: Callable[[EvalRecord], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> list[EvalRecord]:
    """Run what `plan` asks that `out_dir/runs.jsonl` does not have yet; return all its records.

    `on_plan(total, already_done)` is called once before work starts.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    journal = out_dir / "runs.jsonl"
    earlier = {r.key: r for r in read_records(journal) if r.error is None}
    run_settings = settings.model_copy(update={"home": out_dir.resolve() / "runs"})
    snapshot = run_settings.model_dump(mode="json", exclude={"e2b_api_key", "tavily_api_key"})
    items = generate_items(plan.families, plan.n, plan.seed, plan.difficulty)
    jobs = [
        EvalJob(item=item, mode=mode, samples=plan.samples, settings=snapshot)
        for item in items
        for mode in plan.modes
    ]
    todo = [job for job in jobs if job.key not in earlier]
    if on_plan is not None:
        on_plan(len(jobs), len(jobs) - len(todo))

    def finished(outcome: Outcome[Any, Any]) -> None:
        record = _record(outcome)
        with journal.open("a") as handle:
            handle.write(record.model_dump_json() + "\n")
        if on_record is not None:
            on_record(record)

    outcomes = await runner.run(run_job, todo, on_done=finished)
    fresh = {o.item.key: _record(o) for o in outcomes}
    return [earlier.get(job.key) or fresh[job.key] for job in jobs]


def _record(outcome: Outcome[Any, Any]) -> EvalRecord:
    if isinstance(outcome.result, EvalRecord):
        return outcome.result
    return _failed(outcome.item, outcome.error or "unknown error")


def _failed(job: EvalJob, error: str) -> EvalRecord:
    return EvalRecord(
        item_id=job.item.id,
        family=job.item.family,
        difficulty=job.item.difficulty,
        mode=job.mode,
        model=str(job.settings["model"]),
        samples=job.samples,
        reason="the run failed",
        label="no_answer",
        error=error,
    )
