"""Verifier: candidate answer -> `Verdict`.

For a code step it checks that the program ran, that it printed an answer,
and that running it again from the state it started from prints the same thing
(so the answer does not hang on randomness; variables and files from earlier steps
are fair to use).

With `self_check`, the model also writes a program that tests the candidate
against the task's conditions and prints "Correct" or what is wrong
(code-based self-verification; CodeSteer's self-answer checker); it counts only when it
discriminates (see `self_answer_check`). A verdict is `pass` only when an independent check
confirmed the answer (`INDEPENDENT`: a validated self-check, or another program of the step
printing the same answer); a program that ran and reproduced is `uncertain`.

Re-runs and checks run in a sibling of the run's sandbox (`CheckSandbox`): the run's
own interpreter and files are never touched by verification.
"""

from __future__ import annotations

import ast
import contextlib
import math
import re
from collections.abc import Collection
from typing import Any, Literal

from codehelm.agents.base import purpose
from codehelm.agents.check_sandbox import CheckSandbox
from codehelm.agents.coder import extract_code
from codehelm.messages import Answer, Check, Execution, Usage, Verdict
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.selection.voting import normalize_answer
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


INDEPENDENT = frozenset({"self_check", "agreement", "tests"})
"""Checks that confirm an answer against the task, not merely that a program ran: a validated
self-check, another program printing the same answer, generated tests the answer passes."""


def outcome_of(
    checks: list[Check], independent: Collection[str] = INDEPENDENT
) -> Literal["pass", "fail", "uncertain"]:
    """`fail` if a check failed; `pass` only if none failed or stayed undecided and an
    independent check confirmed the answer; else `uncertain` (e.g. ran and reproduced).
    A node adding checks of its own names those that are independent in `independent`.
    A model-written check program rejecting what two programs agree on is a conflict, not a
    failure: one check program is the weaker signal."""
    failed = {c.name for c in checks if c.passed is False}
    if failed == {"self_check"} and any(c.name == "agreement" and c.passed for c in checks):
        return "uncertain"
    if failed:
        return "fail"
    confirmed = any(c.passed and c.name in independent for c in checks)
    return "pass" if confirmed and all(c.passed for c in checks) else "uncertain"


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


ACCEPT = re.compile(r"^\W*(correct|right|true|yes|ok|pass(ed)?)\b", re.IGNORECASE)
REJECT = re.compile(r"^\W*(wrong|incorrect|false|no|fail(ed)?|error)\b", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _number(text: str) -> float | None:
    found = _NUMBER.findall(text.replace(",", ""))
    return float(found[-1]) if found else None


def hard_codes(code: str, answer: str, task: str) -> bool:
    """Whether a check program writes the candidate's own value as a literal (a number, or a
    string that is the whole answer) that the task does not contain: it would then compare
    the answer with itself. Numbers inside messages (`'Wrong: it is 42'`) do not count."""
    found = _NUMBER.findall(answer.replace(",", ""))
    value = float(found[-1]) if found else None
    if value is not None and found[-1] in _NUMBER.findall(task.replace(",", "")):
        value = None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        literal = node.value
        if isinstance(literal, bool):
            continue
        if value is not None and isinstance(literal, int | float) and literal == value:
            return True
        if isinstance(literal, str) and literal.strip() == answer.strip() and answer.strip():
            return answer.strip() not in task
    return False


async def self_answer_check(
    model: ModelClient, sandbox: Sandbox, task: str, answer: str, *, timeout: float = 10.0
) -> tuple[Check, Usage]:
    """Have the model write a program that checks `answer` against `task`, and run it.

    A check decides only when it discriminates. It gets the answer in a variable and is
    also run on a deliberately wrong one (`mutate`). Printing "Correct" passes if the wrong
    answer is not accepted too; printing "Wrong ..." fails. A check that prints a number
    is a recomputation: it passes or fails by comparison with the answer, and only if the
    number does not change with the answer (else it prints the answer back). A check that
    writes the candidate's own value as a literal, prints neither, cannot be written or
    does not run decides nothing.
    """
    reply = await model.complete(render("self_check", task=task, answer=answer), agent="verifier")
    code = extract_code(reply.text)

    def undecided(why: str) -> tuple[Check, Usage]:
        return Check(name="self_check", passed=None, detail=why), reply.usage

    if code is None:
        return undecided("no check program")
    if hard_codes(code, answer, task):
        return undecided("the check program contains the proposed answer as a literal")
    with purpose("self_check"):
        passed, detail = await judge(sandbox, code, answer, timeout)
    return Check(name="self_check", passed=passed, detail=detail), reply.usage


async def judge(
    sandbox: Sandbox, code: str, answer: str, timeout: float
) -> tuple[bool | None, str]:
    """What the check program `code` says of `answer`, counted only when it discriminates
    (see `self_answer_check`): True, False, or None (undecided), with the reason."""
    said = await _run_check(sandbox, code, answer, timeout)
    if said is None:
        return None, "the check program failed"
    on_wrong = await _run_check(sandbox, code, mutate(answer), timeout)
    if ACCEPT.match(said):
        if on_wrong is not None and ACCEPT.match(on_wrong):
            return None, "the check program also accepts a wrong answer"
        return True, ""
    if REJECT.match(said):
        return False, said[:300]
    value, expected = _number(said), _number(answer)
    if value is None or expected is None:
        return None, f"the check printed no verdict: {said[:100]}"
    if on_wrong is None or _number(on_wrong) != value:
        return None, "the check prints the proposed answer back"
    if math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9):
        return True, f"recomputed {said[:60]}"
    return False, f"a recomputation gives {said[:100]}"


async def _run_check(sandbox: Sandbox, code: str, answer: str, timeout: float) -> str | None:
    run = await sandbox.run_code(
        clean_rerun(f"answer = {answer!r}\n{CHECK_PRELUDE}{code}"), timeout=timeout
    )
    printed = final_output(run)
    return printed if run.ok and printed else None


def agreement(state: SolveState, candidate: Answer) -> Check | None:
    """Whether another attempt at this step, in either mode, written differently and not
    crashed, gave the same answer: two independent derivations agreeing (two programs, or a
    program and a textual reasoning) is evidence neither gives alone (None: no agreement)."""
    failed = {m.target_id for m in state.messages if isinstance(m, Verdict) and _crashed(m)}
    same = [
        m
        for m in state.messages
        if isinstance(m, Answer)
        and m.step_id == candidate.step_id
        and m.id != candidate.id
        and m.id not in failed
        and m.rationale.strip() != candidate.rationale.strip()
        and normalize_answer(m.content) == normalize_answer(candidate.content)
    ]
    if not same:
        return None
    modes = " and ".join(sorted({m.mode for m in same}))
    return Check(
        name="agreement", passed=True, detail=f"{len(same)} other attempt(s) agree ({modes})"
    )


def _crashed(verdict: Verdict) -> bool:
    return any(c.passed is False and c.name in ("executed", "reproduces") for c in verdict.checks)


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
            if outcome_of(checks) != "fail" and (agree := agreement(state, candidate)):
                checks.append(agree)
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
        tested = state.program_tests
        if tested and normalize_answer(tested.output) == normalize_answer(answer) and answer:
            checks.append(tested.check)
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
