"""A stochastic model of known strength, for measuring the steering logic (not a language model).

`SimulatedModel` knows every task's gold answer and how good it is at each task family in
code and in text, and answers every agent of the solve graph in the formats their parsers
accept, through the real `ModelGateway`:

- a structured plan (`{"steps": [...]}`): one step; its mode is the family's better mode with
  probability `plan_skill` (0.5, the default, is a neutral planner: a coin flip), else the
  other; the steering policy may then override it;
- a mode estimate (`{"code": n, "text": n}`): ten times each accuracy plus Gaussian noise of
  `estimate_noise` points, rounded into 0..10;
- the coder (or any call whose system turn asks for a Python program): one fenced program
  that computes and prints the gold answer with probability `accuracy_code`, else a
  plausible wrong value, or (a `crash_share` of the wrong ones) raises; a `hardcode_share`
  of the programs just print a literal (what CodeSteer's symbolic checker flags), right or
  wrong as drawn;
- the reasoner: a few lines ending "Answer: <value>", right with probability `accuracy_text`;
- the verifier's self-check (a prompt with "Proposed answer:"): a program that prints
  "Correct" for a right candidate except with probability `false_reject`, and for a wrong one
  with probability `false_accept`, otherwise what is wrong; it accepts only the candidate it
  was shown (built up in pieces, not written as one literal), so the verifier's deliberately
  wrong answer is rejected, as a real check would.
  A `check_failure` share of the programs raise (the check decides nothing);
- any other structured call: the smallest value valid under its JSON schema; any other text
  call: an answer line like the reasoner's.

Attempts are worded differently from turn to turn (variable names, the opening sentence), as
a real model's are: the solve graph takes a word-for-word repeat for the same attempt again.

`retry_correlation` ties attempts together: each attempt after a task's first one in a mode
repeats the first attempt's correctness with that probability, else is drawn afresh (so the
accuracy of every single attempt stays the parameter, but retrying helps less, as with real
models, whose mistakes on a task tend to repeat).

Every draw comes from a generator seeded by (seed, task, agent, turn), the turn counting
that agent's calls about that task on this model, so a run is reproducible and does not
depend on the order in which concurrent tasks call it. Use one model per run of a set of
tasks (say one per policy): then two policies see the same draws for the same calls.

Tokens are counted as about four characters each; the cost is zero.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from codehelm.chat import ChatMessage
from codehelm.models.gateway import ModelGateway, RawReply

Mode = Literal["code", "text"]


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass(frozen=True)
class FamilySkill:
    """How often a single attempt at a family's task is right, by method."""

    accuracy_code: float = 0.5
    accuracy_text: float = 0.5

    def __post_init__(self) -> None:
        _check_share("accuracy_code", self.accuracy_code)
        _check_share("accuracy_text", self.accuracy_text)

    def accuracy(self, mode: Mode) -> float:
        return self.accuracy_code if mode == "code" else self.accuracy_text

    @property
    def better(self) -> Mode | None:
        """The mode with the higher accuracy; None for a tie."""
        if self.accuracy_code == self.accuracy_text:
            return None
        return "code" if self.accuracy_code > self.accuracy_text else "text"


@dataclass(frozen=True)
class SimParams:
    """The simulated model's strengths and habits (see the module docstring)."""

    families: Mapping[str, FamilySkill] = field(default_factory=dict)
    default: FamilySkill = FamilySkill()  # families not named, and unknown tasks
    false_accept: float = 0.1
    false_reject: float = 0.1
    seed: int = 0
    plan_skill: float = 0.5
    estimate_noise: float = 1.5
    retry_correlation: float = 0.0
    crash_share: float = 0.0
    hardcode_share: float = 0.0
    check_failure: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "false_accept",
            "false_reject",
            "plan_skill",
            "retry_correlation",
            "crash_share",
            "hardcode_share",
            "check_failure",
        ):
            _check_share(name, getattr(self, name))
        if self.estimate_noise < 0:
            raise ValueError(f"estimate_noise must be >= 0, got {self.estimate_noise}")

    def skill(self, family: str) -> FamilySkill:
        return self.families.get(family, self.default)


@dataclass(frozen=True)
class SimTask:
    """What the model knows of a task: its family, a right answer, and how to tell right ones.

    `check(answer)` says whether an answer is right (for tasks with several right answers,
    e.g. the family's exact checker); without it an answer is right when it equals `gold`
    up to case and spaces. `gold` must be one line: a program's answer is its last line.
    """

    family: str
    gold: str
    check: Callable[[str], bool] | None = None

    def is_right(self, answer: str) -> bool:
        if self.check is not None:
            return self.check(answer)
        return _norm(answer) == _norm(self.gold)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower().rstrip(".")


class TaskItem(Protocol):
    """What `tasks_from_items` reads of an item (e.g. `codehelm.evals.tasks.EvalItem`)."""

    @property
    def family(self) -> str: ...

    @property
    def prompt(self) -> str: ...

    @property
    def reference(self) -> str | None: ...


Item = TypeVar("Item", bound=TaskItem)


def tasks_from_items(
    items: Iterable[Item], check: Callable[[Item, str], bool] | None = None
) -> dict[str, SimTask]:
    """Map each item's prompt to a `SimTask` (items without a reference are left out).

    With `check(item, answer)` (e.g. `lambda i, a: check_answer(i, a).correct`) the model
    tells right answers the way the item's checker does.
    """
    tasks: dict[str, SimTask] = {}
    for item in items:
        if item.reference is None:
            continue
        checker = None
        if check is not None:
            checker = _bind(check, item)
        tasks[item.prompt] = SimTask(family=item.family, gold=item.reference, check=checker)
    return tasks


def _bind(check: Callable[[Item, str], bool], item: Item) -> Callable[[str], bool]:
    return lambda answer: check(item, answer)


@dataclass(frozen=True)
class SimCall:
    """One call the model answered: for tests and for looking into a run."""

    agent: str
    task: str  # the task's key ("" for a prompt naming no known task)
    turn: int
    kind: str  # plan, estimate, code, text, check, other
    mode: Mode | None = None  # the plan's mode, for a plan
    right: bool | None = None  # code/text: the answer is right; check: the verdict is "Correct"


_UNKNOWN = SimTask(family="", gold="")
_PROPOSED = "Proposed answer:"
_REF = re.compile(r"\(task ([0-9a-f]{12})\)")


def task_key(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]


class SimulatedBackend:
    """The `Backend` of `SimulatedModel`: replies drawn as `params` say about `tasks`."""

    def __init__(
        self,
        tasks: Mapping[str, SimTask | tuple[str, str]],
        params: SimParams,
        *,
        model: str = "simulated",
    ) -> None:
        self.model = model
        self.params = params
        self.tasks: dict[str, SimTask] = {
            prompt: task if isinstance(task, SimTask) else SimTask(family=task[0], gold=task[1])
            for prompt, task in tasks.items()
        }
        self._by_key = {task_key(p): (p, t) for p, t in self.tasks.items()}
        # Longest prompts first, so a prompt that contains another is matched as itself.
        self._prompts = sorted(self.tasks, key=len, reverse=True)
        self.turns: Counter[tuple[str, str]] = Counter()
        self.calls: list[SimCall] = []

    async def call(
        self,
        messages: Sequence[ChatMessage],
        params: dict[str, Any],
        *,
        agent: str,
        json_schema: dict[str, Any] | None,
    ) -> RawReply:
        key, task = self._find_task(messages)
        turn = self.turns[(key, agent)]
        self.turns[(key, agent)] += 1
        rng = random.Random(f"sim:{self.params.seed}:{key}:{agent}:{turn}")
        base = SimCall(agent=agent, task=key, turn=turn, kind="other")
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        if json_schema is not None:
            text, call = self._structured(json_schema, key, task, rng, base)
        elif _PROPOSED in last_user:
            text, call = self._self_check(last_user, task, rng, base)
        elif agent == "coder" or _asks_for_a_program(messages):
            text, call = self._code(key, task, turn, rng, base)
        else:
            text, call = self._text(key, task, agent, turn, rng, base)
        self.calls.append(call)
        prompt_chars = sum(len(m["content"]) for m in messages)
        return RawReply(
            text=text,
            prompt_tokens=prompt_chars // 4 + 4 * len(messages),
            completion_tokens=len(text) // 4 + 1,
            cost_usd=0.0,
        )

    # -- finding the task ------------------------------------------------------------------

    def _find_task(self, messages: Sequence[ChatMessage]) -> tuple[str, SimTask]:
        """The task a prompt is about: its text in a user turn (latest first), or its ref."""
        users = [m["content"] for m in reversed(messages) if m["role"] == "user"]
        for content in users:
            for prompt in self._prompts:
                if prompt in content:
                    return task_key(prompt), self.tasks[prompt]
        for content in users:
            for ref in _REF.findall(content):
                if ref in self._by_key:
                    return ref, self._by_key[ref][1]
        return "", _UNKNOWN

    # -- replies ---------------------------------------------------------------------------

    def _structured(
        self,
        schema: dict[str, Any],
        key: str,
        task: SimTask,
        rng: random.Random,
        base: SimCall,
    ) -> tuple[str, SimCall]:
        properties = schema.get("properties", {})
        skill = self.params.skill(task.family)
        if "steps" in properties:
            tie: Mode = "code" if rng.random() < 0.5 else "text"
            better: Mode = tie if skill.better is None else skill.better
            worse: Mode = "text" if better == "code" else "code"
            mode = better if rng.random() < self.params.plan_skill else worse
            what = f"the {task.family} task" if task.family else "the task"
            goal = f"Solve {what} (task {key})" if key else "Solve the task"
            reply = {"steps": [{"goal": goal, "mode": mode}]}
            return json.dumps(reply), _replace(base, kind="plan", mode=mode)
        if "code" in properties and "text" in properties:
            noise = self.params.estimate_noise
            scores = {
                m: min(10, max(0, round(10 * skill.accuracy(m) + rng.gauss(0.0, noise))))
                for m in ("code", "text")
            }
            return json.dumps(scores), _replace(base, kind="estimate")
        return json.dumps(minimal_instance(schema)), base

    def _right(self, key: str, task: SimTask, agent: str, mode: Mode, turn: int) -> bool:
        """Whether this attempt is right: the first attempt's draw, or (after it) that draw
        again with probability `retry_correlation`, else a fresh one."""
        p = self.params.skill(task.family).accuracy(mode)
        if not task.gold:
            return False
        first = random.Random(f"sim:{self.params.seed}:{key}:{agent}:first").random() < p
        if turn == 0:
            return first
        again = random.Random(f"sim:{self.params.seed}:{key}:{agent}:{turn}:again")
        if again.random() < self.params.retry_correlation:
            return first
        return again.random() < p

    def _value(self, task: SimTask, right: bool, rng: random.Random) -> str:
        if right:
            return task.gold
        if not task.gold:
            return "0"
        return wrong_answer(task, rng)

    def _code(
        self, key: str, task: SimTask, turn: int, rng: random.Random, base: SimCall
    ) -> tuple[str, SimCall]:
        right = self._right(key, task, "coder", "code", turn)
        value = self._value(task, right, rng)
        crash = not right and rng.random() < self.params.crash_share
        literal = rng.random() < self.params.hardcode_share
        what = f"the {task.family} task" if task.family else "the task"
        if crash:
            program = _crashing_program(value)
        elif literal:
            program = f"print({value!r})"
        else:
            program = _computing_program(value, turn)
        text = f"I will compute the answer to {what}.\n```python\n{program}\n```"
        return text, _replace(base, kind="code", right=right and not crash)

    def _text(
        self, key: str, task: SimTask, agent: str, turn: int, rng: random.Random, base: SimCall
    ) -> tuple[str, SimCall]:
        right = self._right(key, task, agent, "text", turn)
        value = self._value(task, right, rng)
        what = f"this {task.family} task" if task.family else "this task"
        text = (
            f"{_OPENERS[turn % len(_OPENERS)].format(what=what)}\n"
            "I check each condition in turn and settle the result.\n"
            f"Answer: {value}"
        )
        return text, _replace(base, kind="text", right=right)

    def _self_check(
        self, last_user: str, task: SimTask, rng: random.Random, base: SimCall
    ) -> tuple[str, SimCall]:
        candidate = last_user.rpartition(_PROPOSED)[2].strip()
        right = bool(task.gold) and task.is_right(candidate)
        draw = rng.random()
        accept = draw >= self.params.false_reject if right else draw < self.params.false_accept
        if rng.random() < self.params.check_failure:
            program = "conditions = []\nprint(conditions[0])"
            return _program_reply(program), _replace(base, kind="check", right=None)
        header = "# check the proposed answer against every condition of the task\n"
        wrong = '"Wrong: the answer breaks a condition of the task"'
        if accept:
            program = (
                f"{header}{_build('expected', candidate.strip())}\n"
                "if str(answer).strip() == expected:\n"
                '    print("Correct")\n'
                "else:\n"
                f"    print({wrong})"
            )
        else:
            program = f"{header}print({wrong})"
        return _program_reply(program), _replace(base, kind="check", right=accept)


def _asks_for_a_program(messages: Sequence[ChatMessage]) -> bool:
    """Whether the system turn asks for a program (the coder's prompt, whoever sends it)."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    return "python program" in system.lower()


def _replace(call: SimCall, **changes: Any) -> SimCall:
    return SimCall(**{**call.__dict__, **changes})


def _program_reply(program: str) -> str:
    return f"```python\n{program}\n```"


def _pieces(value: str) -> list[str]:
    """`value` in pieces of two characters: none is the whole answer (unless it is that
    short) nor long enough to pass for a literal copied from a prompt's example."""
    return [value[i : i + 2] for i in range(0, len(value), 2)] or [""]


def _build(name: str, value: str) -> str:
    """Code setting `name` to the string `value` without writing `value` as one literal (the
    verifier takes a check that does for one comparing the answer with itself)."""
    if len(value) <= 2:
        return f"{name} = bytes.fromhex({value.encode().hex()!r}).decode()"
    return f"{name} = ''.join({_pieces(value)!r})"


_NAMES = ("result", "answer", "value", "total", "out")
_OPENERS = (
    "Let me work through {what} step by step.",
    "I take {what} apart and solve it piece by piece.",
    "Working on {what} carefully, one part at a time.",
    "Solving {what} again from the start.",
    "Reasoning about {what} in small steps.",
)


def _computing_program(value: str, turn: int = 0) -> str:
    """A program that builds `value` piece by piece and prints it (not a printed constant);
    worded differently on each attempt, as a real model's attempts are."""
    name = _NAMES[turn % len(_NAMES)]
    return (
        f"pieces = {_pieces(value)!r}\n"
        f"{name} = ''\n"
        "for piece in pieces:\n"
        f"    {name} += piece\n"
        f"print({name})"
    )


def _crashing_program(value: str) -> str:
    return f"pieces = {_pieces(value)!r}\nresult = pieces[len(pieces)]\nprint(result)"


_NUMBER = re.compile(r"\d+")


def wrong_answer(task: SimTask, rng: random.Random, *, tries: int = 20) -> str:
    """A plausible wrong answer: a number in the gold nudged, or two parts swapped; one the
    task's check rejects when it has one."""
    gold = task.gold
    for _ in range(tries):
        candidate = _perturb(gold, rng)
        if candidate != gold and not task.is_right(candidate):
            return candidate
    for fallback in ("0", "none", gold + "0"):
        if not task.is_right(fallback):
            return fallback
    return "no answer"


def _perturb(gold: str, rng: random.Random) -> str:
    numbers = list(_NUMBER.finditer(gold))
    if numbers and rng.random() < 0.8:
        # later numbers are likelier (the final result is often last)
        weights = [i + 1 for i in range(len(numbers))]
        found = rng.choices(numbers, weights=weights)[0]
        value = int(found.group())
        step = rng.choice((-3, -2, -1, 1, 1, 2, 3))
        if value + step < 0:
            step = abs(step)
        if rng.random() < 0.15 and value >= 10:
            step = value * rng.choice((-1, 9)) // 10 or 1  # an order-of-magnitude slip
        return gold[: found.start()] + str(value + step) + gold[found.end() :]
    parts = gold.split(", ") if ", " in gold else list(gold)
    if len(parts) >= 2 and len(set(parts)) >= 2:
        while True:
            i, j = rng.sample(range(len(parts)), 2)
            if parts[i] != parts[j]:
                break
        parts[i], parts[j] = parts[j], parts[i]
        return (", " if ", " in gold else "").join(parts)
    return gold + rng.choice("abx1")


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The smallest value valid under a (pydantic-made) JSON schema: required fields only,
    the first enum value, the lowest numbers, minimum lengths."""
    root = root if root is not None else schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return minimal_instance(root.get("$defs", {}).get(name, {}), root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            options = [s for s in schema[combined] if s.get("type") != "null"]
            return minimal_instance(options[0] if options else schema[combined][0], root)
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            name: minimal_instance(properties.get(name, {}), root)
            for name in schema.get("required", [])
        }
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), root)] * int(schema.get("minItems", 0))
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = math.ceil(low) if kind == "integer" else low
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            value += 1
        return value
    if kind == "boolean":
        return False
    return None


class SimulatedModel(ModelGateway):
    """A `ModelClient` of known strength over `tasks` (prompt -> `SimTask` or
    `(family, gold)`): `SimulatedModel(tasks, SimParams(families={...}, seed=1))`."""

    backend: SimulatedBackend

    def __init__(
        self,
        tasks: Mapping[str, SimTask | tuple[str, str]],
        params: SimParams | None = None,
        *,
        name: str = "simulated",
        **gateway_options: Any,
    ) -> None:
        gateway_options.setdefault("retries", 0)
        super().__init__(
            SimulatedBackend(tasks, params or SimParams(), model=name), **gateway_options
        )

    @property
    def params(self) -> SimParams:
        return self.backend.params

    @property
    def calls(self) -> list[SimCall]:
        """Every call so far, with what was drawn."""
        return self.backend.calls


__all__ = [
    "FamilySkill",
    "SimCall",
    "SimParams",
    "SimTask",
    "SimulatedBackend",
    "SimulatedModel",
    "minimal_instance",
    "task_key",
    "tasks_from_items",
    "wrong_answer",
]
