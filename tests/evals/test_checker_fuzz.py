"""Checkers never raise: random garbage, mutated references and pathological inputs."""

from __future__ import annotations

import random
import string
import time

import pytest

from codehelm.evals.tasks import FAMILIES, CheckResult, EvalItem, generate_items

ALL = sorted(FAMILIES)

ALPHABET = (
    string.printable
    + "−×÷·–—→‘’“”ÀéΩ中\u200b\x00\x7f"
    + "0123456789" * 3
    + "()[]{}+-*/=:,." * 2
    + "QXUDLR"
)

PATHOLOGICAL = [
    "",
    " ",
    "\n\n\n",
    ".",
    "```",
    "``````",
    "```\n",
    "```python\n```",
    "Answer:",
    "Answer: answer: answer:",
    "Answer:" * 500,
    "\\boxed{",
    "\\boxed{}",
    "1" * 5000,
    "9" * 30000,
    "-" * 5000 + "1",
    "1," * 5000,
    "(" * 5000,
    "(" * 150 + "1" + ")" * 150,
    "[" * 3000 + "]" * 3000,
    "[[" + "1, " * 4000 + "]]",
    "(1, 2)" * 3000,
    "1: " + "1, " * 5000,
    "1:" * 5000,
    "1 " * 10000 + "x",
    "1  " * 40 + "x",
    "1: " + "1  " * 40 + "x",
    "U" * 20000,
    "Q" * 20000,
    ".Q\n" * 5000,
    "1234\n" * 5000,
    "__import__('os').system('echo hacked')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 0",
    "1e308 * 1e308",
    "10**10**10",
    "9" * 100 + "**" + "9" * 100,
    "1/0",
    "0/0",
    "NaN",
    "inf",
    "-inf",
    "None",
    "True",
    "[[1, 2], [3, 'a']]",
    "[[1e400]]",
    "[[float('nan')]]",
    "{'a': 1}",
    "\x00\x01\x02",
    "\U0001f600" * 100,
]


def garbage(rng: random.Random) -> str:
    length = rng.choice((0, 1, 2, 5, 10, 30, 80, 200))
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(4)
        pos = rng.randrange(len(chars) + 1)
        if action == 0 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif action == 1:
            chars.insert(pos, rng.choice(ALPHABET))
        elif action == 2 and len(chars) > 1:
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        else:
            chars.insert(pos, rng.choice(("Answer: ", "```", "\n", " = ", "(", ")", "-", ".")))
    return "".join(chars)


def items_for(name: str) -> list[EvalItem]:
    return generate_items([name], n=3, seed=99)


@pytest.mark.parametrize("name", ALL)
def test_checker_never_raises_on_garbage(name: str) -> None:
    family = FAMILIES[name]
    rng = random.Random(f"fuzz-{name}")
    for item in items_for(name):
        for _ in range(250):
            answer = garbage(rng)
            result = family._check(item, answer)  # unguarded: a crash fails the test
            assert isinstance(result, CheckResult)
            assert result.correct or result.reason != "ok"


@pytest.mark.parametrize("name", ALL)
def test_checker_never_raises_on_mutated_references(name: str) -> None:
    family = FAMILIES[name]
    rng = random.Random(f"mutate-{name}")
    for item in items_for(name):
        assert item.reference is not None
        for _ in range(150):
            result = family._check(item, mutate(rng, item.reference))
            assert isinstance(result, CheckResult)


@pytest.mark.parametrize("name", ALL)
def test_checker_handles_pathological_inputs_quickly(name: str) -> None:
    family = FAMILIES[name]
    for position, item in enumerate(items_for(name)):
        for answer in PATHOLOGICAL:
            started = time.perf_counter()
            result = family._check(item, answer)
            elapsed = time.perf_counter() - started
            assert isinstance(result, CheckResult)
            if not any(ch.isdigit() for ch in answer):
                # numeric junk may legitimately end in the right number ("last number wins")
                assert not result.correct, (answer[:40], result)
            assert elapsed < 1.0, (answer[:40], elapsed)
            if position == 0:  # the public guard agrees and never reports a checker error
                guarded = family.check(item, answer)
                assert guarded == result
                assert not guarded.reason.startswith("checker error")
