"""Run-length scoring: split a string into maximal runs and add up a rule-defined score."""

from __future__ import annotations

import random
from itertools import groupby
from typing import Any

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import extract_integer

# difficulty -> (alphabet, number of runs)
_LEVELS: dict[int, tuple[str, int]] = {1: ("ab", 4), 2: ("abc", 6), 3: ("abcd", 8)}


def runs(text: str) -> list[tuple[str, int]]:
    return [(ch, len(list(group))) for ch, group in groupby(text)]


def run_score(letter: str, length: int, data: dict[str, Any]) -> int:
    """Score of one run under the item's rule (see `_rule_text`)."""
    rule = data["rule"]
    if rule == "square":
        return length * length
    value = int(data["values"][letter])
    if rule == "bonus":
        return value * length + (int(data["bonus"]) if length >= int(data["bonus_min"]) else 0)
    if length == 1:  # rule == "parity"
        return -int(data["penalty"])
    return value * length if length % 2 == 0 else value * length * length


def total_score(data: dict[str, Any]) -> int:
    return sum(run_score(ch, n, data) for ch, n in runs(str(data["text"])))


def _rule_text(data: dict[str, Any]) -> str:
    if data["rule"] == "square":
        return "A run of length L scores L*L."
    values = ", ".join(f"{k}={v}" for k, v in sorted(data["values"].items()))
    if data["rule"] == "bonus":
        return (
            f"Letter values: {values}. A run of letter x with length L scores value(x)*L, "
            f"plus {data['bonus']} if L >= {data['bonus_min']}."
        )
    return (
        f"Letter values: {values}. A run of length 1 scores -{data['penalty']}; a run of "
        "letter x with even length L scores value(x)*L; with odd length L >= 3 it scores "
        "value(x)*L*L."
    )


def _random_text(rng: random.Random, alphabet: str, n_runs: int) -> str:
    parts: list[str] = []
    previous = ""
    for _ in range(n_runs):
        letter = rng.choice([ch for ch in alphabet if ch != previous])
        parts.append(letter * rng.choice((1, 1, 2, 2, 3, 4)))
        previous = letter
    return "".join(parts)


class RunLengthFamily(TaskFamily):
    name = "run_length"
    description = "Score a string by its maximal runs of equal letters."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        alphabet, n_runs = _LEVELS[check_difficulty(difficulty)]
        data: dict[str, Any] = {"text": _random_text(rng, alphabet, n_runs)}
        if difficulty == 1:
            data["rule"] = "square"
        else:
            data["values"] = {ch: rng.randint(1, 5) for ch in alphabet}
            if difficulty == 2:
                data.update(rule="bonus", bonus=rng.randint(2, 6), bonus_min=3)
            else:
                data.update(rule="parity", penalty=rng.randint(1, 3))
        prompt = (
            f"String: {data['text']}\nSplit it into maximal runs of the same letter. "
            f"{_rule_text(data)} What is the total score?\nAnswer with the integer only."
        )
        return self.make_item(difficulty, index, seed, prompt, data, str(total_score(data)))

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        expected = total_score(item.data)
        value, reason = extract_integer(answer)
        if value is None:
            return CheckResult.fail(reason)
        if value != expected:
            return CheckResult.fail(f"wrong score: got {value}, expected {expected}")
        return CheckResult.ok()
