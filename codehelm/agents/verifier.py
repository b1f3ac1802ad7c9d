"""Verifier: candidate answer -> `Verdict`.

For a code step it checks that the program ran, that it printed an answer,
and that running it again from the state it started from prints the same thing
(so the answer does not hang on randomness; variables and files from earlier steps
are fair to use).

With `self_check`, the model also writes a program that tests the candidate
against the task's conditions and prints "Correct" or what is wrong
(code-based self-verification; CodeSteer's self-answer checker). That is the
only check a text answer can pass; without it a text verdict is `uncertain`.

Re-runs and checks run in a sibling of the run's sandbox (`CheckSandbox`): the run's
own interpreter and files are never touched by verification.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Literal

from codehelm.agents.base import purpose
from codehelm.agents.check_sandbox import CheckSandbox
from codehelm.agents.coder import extract_code
from codehelm.messages import Answer, Check, Execution, Usage, Verdict
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.state import Attempt, SolveState
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.sandbox.output import TRUNCATION_MARKER

_TRUNCATED = re.compile(re.escape(TRUNCATION_MARKER).replace(re.escape("{}"), r"(\d+)"))


def final_output(execution: Execution) -> str:
    """The answer a program gave: its last printed line, else its last expression's value."""
    lines = [line.strip() for line in execution.stdout.splitlines() if line.strip()]
    if lines:
        return lines[-1]
    return execution.results[-1].strip() if execution.results else ""


def outcome_of(checks: list[Check]) -> Literal["pass", "fail", "uncertain"]:
    if any(c.passed is False for c in checks):
        return "fail"
    return "pass" if all(c.passed for c in checks) else "uncertain"


def confidence_of(checks: list[Check]) -> float:
    """Share of checks passed, an undecided check counting half."""
    if not checks:
        return 0.5
    score = {True: 1.0, None: 0.5, False: 0.0}
    return sum(score[c.passed] for c in checks) / len(checks)


def clean_rerun(code: str) -> str:
    """Wrap `code` so it runs in a fresh global namespace inside a stateful sandbox."""
    return f"exec(compile({code!r}, '<recheck>', 'exec'), {{'__name__': '__main__'}})"


CHECK_PRELUDE = """import re
def number(text):
    found = re.findall(r"-?\\d+(?:\\.\\d+)?", str(text).replace(",", ""))
    return float(found[-1]) if found else None
"""


def mutate(answer: str) -> str:
    """A wrong answer close to `answer`: its last number plus one, or the text altered."""
    numbers = list(re.finditer(r"-?\d+", answer))
    if not numbers:
        return answer + " (altered)"
    last = numbers[-1]
    return answer[: last.start()] + str(int(last.group()) + 1) + answer[last.end() :]


async def self_answer_check(
    model: ModelClient, sandbox: Sandbox, task: str, answer: str, *, timeout: float = 10.0
) -> tuple[Check, Usage]:
    """Have the model write a program that checks `answer` against `task`, and run it.

    The program gets the answer in a variable, so it is also run on a deliberately
    wrong answer: a check that accepts that too checks nothing and decides nothing.
    Otherwise printing "Correct" passes and anything else fails, with the printed
    text as the reason. A check that cannot be written or run decides nothing.
    """
    reply = await model.complete(render("self_check", task=task, answer=answer), agent="verifier")
    code = extract_code(reply.text)
    if code is None:
        return Check(name="self_check", passed=None, detail="no check program"), reply.usage
    with purpose("self_check"):
        verdict = await _run_check(sandbox, code, answer, timeout)
    if verdict is None or not verdict.lower().startswith("correct"):
        if verdict is None:
            return Check(name="self_check", passed=None, detail="the check program failed"), (
                reply.usage
            )
        return Check(name="self_check", passed=False, detail=verdict[:300]), reply.usage
    with purpose("self_check"):
        wrong = await _run_check(sandbox, code, mutate(answer), timeout)
    if wrong is not None and wrong.lower().startswith("correct"):
        detail = "the check program also accepts a wrong answer"
        return Check(name="self_check", passed=None, detail=detail), reply.usage
    return Check(name="self_check", passed=True), reply.usage


async def _run_check(sandbox: Sandbox, code: str, answer: str, timeout: float) -> str | None:
    run = await sandbox.run_code(
        clean_rerun(f"answer = {answer!r}\n{CHECK_PRELUDE}{code}"), timeout=timeout
    )
    printed = final_output(run)
    return printed if run.ok and printed else None


class Verifier:
    name = "verifier"

    def __init__(
        self,
        sandbox: Sandbox | None,
        *,
        timeout: float = 10.0,
        recheck: bool = True,
        self_check_model: ModelClient | None = None,
    ):
        self.sandbox = sandbox
        self.timeout = timeout
        self.recheck = recheck and sandbox is not None
        self.self_check_model = self_check_model if sandbox is not None else None

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        step = state.step
        assert step is not None, "the verifier runs only while a plan step is open"
        stamp = {"run_id": state.task.run_id, "sender": self.name}
        usage = Usage()
        async with self._apart(state) as apart:
            if step.mode == "code":
                candidate, checks, tried = await self._check_code(state, stamp, apart)
            else:
                assert state.candidate is not None, "a text step reaches the verifier with one"
                candidate, tried = state.candidate, state.candidate.rationale
                checks = [Check(name="answer_extracted", passed=bool(candidate.content))]
            checker = self.self_check_model
            if checker is not None and apart is not None and outcome_of(checks) != "fail":
                check, usage = await self_answer_check(
                    checker,
                    await apart.fresh(),
                    state.task.prompt,
                    candidate.content,
                    timeout=self.timeout,
                )
                checks.append(check)
            elif step.mode != "code":
                checks.append(Check(name="self_check", passed=None, detail="text is not executed"))
        outcome = outcome_of(checks)
        candidate = candidate.model_copy(update={"confidence": confidence_of(checks)})
        reasons = [
            f"{c.name}: {c.detail}" if c.detail else c.name for c in checks if c.passed is False
        ]
        verdict = Verdict(
            target_id=candidate.id, outcome=outcome, checks=checks, reasons=reasons, **stamp
        )
        update: dict[str, Any] = {
            "candidate": candidate,
            "verdict": verdict,
            "messages": [candidate, verdict] if step.mode == "code" else [verdict],
            "usage": usage,
        }
        if outcome == "fail":
            mode: Literal["code", "text"] = "code" if step.mode == "code" else "text"
            attempt = Attempt(mode=mode, content=tried, feedback="; ".join(reasons))
            update["attempts"] = [*state.attempts, attempt]
        return update

    def _apart(self, state: SolveState) -> CheckSandbox | contextlib.nullcontext[None]:
        """Where this verification runs programs: a sibling of the run's sandbox, if any."""
        if self.sandbox is None:
            return contextlib.nullcontext()
        return CheckSandbox(self.sandbox, state, timeout=self.timeout)

    async def _check_code(
        self, state: SolveState, stamp: dict[str, Any], apart: CheckSandbox | None
    ) -> tuple[Answer, list[Check], str]:
        action, execution = state.action, state.execution
        assert action is not None and execution is not None, "code steps are executed first"
        answer = final_output(execution)
        if execution.timed_out:
            ran = Check(name="executed", passed=False, detail=f"timed out after {self.timeout:g} s")
        elif execution.error is not None:
            last = execution.error.traceback.strip().splitlines()[-3:]
            detail = execution.error.summary() + (("\n" + "\n".join(last)) if last else "")
            ran = Check(name="executed", passed=False, detail=detail)
        else:
            ran = Check(name="executed", passed=True)
        extracted = Check(
            name="answer_extracted",
            passed=bool(answer),
            detail="" if answer else "the program printed nothing; print the answer",
        )
        checks = [ran, extracted]
        cut = _TRUNCATED.search(execution.stdout)
        if cut is not None:  # the answer may be in the part that was left out
            why = f"the output was cut ({cut.group(1)} characters left out); print only the answer"
            checks.append(Check(name="complete_output", passed=False, detail=why))
        if apart is not None and self.recheck and ran.passed and extracted.passed:
            checks.append(await self._rerun(apart, action.code, answer))
        candidate = Answer(
            content=answer,
            rationale=action.code,
            step_id=action.step_id,
            mode="code",
            parent_id=execution.id,
            **stamp,
        )
        return candidate, checks, action.code

    async def _rerun(self, apart: CheckSandbox, code: str, expected: str) -> Check:
        """Run the program again, apart from the run, from the state it started from."""
        start = await apart.at_start()
        with purpose("recheck"):
            again = await start.sandbox.run_code(code, timeout=self.timeout)
        if not again.ok:
            why = "timed out" if again.timed_out else again.error.summary() if again.error else ""
            problem = f"running it again {why or 'failed'}"
        elif (got := final_output(again)) != expected:
            problem = f"a second run printed {got!r} instead of {expected!r}"
        else:
            return Check(name="reproduces", passed=True)
        # From a state not known exactly, a re-run may fail for want of it, or print something
        # else because a replayed step did: neither shows that the answer is wrong.
        if start.doubt and (not again.ok or start.replayed):
            return Check(name="reproduces", passed=None, detail=f"{problem}, but {start.doubt}")
        return Check(name="reproduces", passed=False, detail=problem)
