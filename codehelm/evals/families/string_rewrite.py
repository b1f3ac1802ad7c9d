"""Ordered string rewriting: apply the first matching rule at its leftmost match, repeatedly."""

from __future__ import annotations

import random
import re

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, nonempty_lines

Rule = tuple[str, str]

# difficulty -> (alphabet, start length, rule count, step limit, minimum steps applied)
_LEVELS: dict[int, tuple[str, int, int, int, int]] = {
    1: ("ab", 5, 2, 5, 2),
    2: ("abc", 7, 3, 8, 3),
    3: ("abc", 10, 4, 12, 5),
}


def rewrite(start: str, rules: list[Rule], max_steps: int) -> tuple[str, int]:
    """The final string and the number of rewriting steps applied."""
    text = start
    for step in range(max_steps):
        for lhs, rhs in rules:
            pos = text.find(lhs)
            if pos >= 0:
                text = text[:pos] + rhs + text[pos + len(lhs) :]
                break
        else:
            return text, step
    return text, max_steps


def _random_word(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def parse_word(answer: str, alphabet: str) -> str | None:
    """The answer string: a whole line over `alphabet`, or the last such word in the text."""
    segment = answer_segment(answer)
    allowed = re.escape(alphabet)
    for line in reversed(nonempty_lines(segment)):
        word = line.strip("\"'`.").strip()
        if re.fullmatch(f"[{allowed}]+", word):
            return word
    words = re.findall(rf"(?<![\w])[{allowed}]+(?![\w])", segment)
    return words[-1] if words else None


class StringRewriteFamily(TaskFamily):
    name = "string_rewrite"
    description = "Apply ordered rewriting rules to a string until none applies or N steps."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        alphabet, length, n_rules, max_steps, min_steps = _LEVELS[check_difficulty(difficulty)]
        while True:
            rules: list[Rule] = []
            while len(rules) < n_rules:
                lhs = _random_word(rng, alphabet, 1 if difficulty > 1 else 2, 2)
                rhs = _random_word(rng, alphabet, 1, 2)
                if lhs != rhs and all(lhs != old for old, _ in rules):
                    rules.append((lhs, rhs))
            start = _random_word(rng, alphabet, length, length)
            final, steps = rewrite(start, rules, max_steps)
            if steps >= min_steps and 0 < len(final) <= length + 4:
                break
        listed = "\n".join(f"{i}. {lhs} -> {rhs}" for i, (lhs, rhs) in enumerate(rules, 1))
        prompt = (
            f"Start: {start}\nRules, in order:\n{listed}\n"
            "Each step, find the first rule whose left side occurs in the string and replace "
            f"its leftmost occurrence by the right side. Stop when no rule applies or after "
            f"{max_steps} steps.\nAnswer with the final string only."
        )
        data = {
            "alphabet": alphabet,
            "start": start,
            "rules": [list(rule) for rule in rules],
            "max_steps": max_steps,
        }
        return self.make_item(difficulty, index, seed, prompt, data, final)

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        rules = [(str(lhs), str(rhs)) for lhs, rhs in item.data["rules"]]
        expected, _ = rewrite(str(item.data["start"]), rules, int(item.data["max_steps"]))
        word = parse_word(answer, str(item.data["alphabet"]))
        if word is None:
            return CheckResult.fail("could not parse a string over the alphabet")
        if word != expected:
            return CheckResult.fail(f"wrong final string: got {word!r}, expected {expected!r}")
        return CheckResult.ok()
