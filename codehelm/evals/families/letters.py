"""Count a letter in a word or phrase and report its 1-based positions ("3: 3, 8, 9")."""

from __future__ import annotations

import random
import re

from codehelm.evals.base import CheckResult, EvalItem, TaskFamily, check_difficulty
from codehelm.evals.parsing import answer_segment, to_int


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SHORT_WORDS = _words(
    "banana apple letter pepper coffee puppet cocoon balloon hello level rotor kayak "
    "bottle kitten yellow summer dinner mirror butter cherry grass seven eleven tomato "
    "potato garden cassava"
)
_LONG_WORDS = _words(
    "strawberry mississippi bookkeeper committee parallel assessment successful tennessee "
    "occurrence possession necessary millennium embarrass programming raspberry "
    "engineering independence abracadabra hippopotamus onomatopoeia unnecessary "
    "accommodate entrepreneur mathematics parenthesis bubblegum grasshopper referee "
    "pineapple"
)
_PHRASE_WORDS = _words(
    "the red fox runs past a green tree seven sheep sleep on soft grass all day big blue "
    "boats sail across sea little cats eat sweet peas under moon banana bread tastes good "
    "three free bees buzz loudly happy puppy digs"
)
_FORMAT = 'Answer in the form count: positions, e.g. "2: 4, 7".'


def positions_of(text: str, letter: str) -> list[int]:
    return [i + 1 for i, ch in enumerate(text) if ch == letter]


def _text(rng: random.Random, difficulty: int) -> str:
    if difficulty == 1:
        return rng.choice(_SHORT_WORDS)
    if difficulty == 2:
        if rng.random() < 0.5:
            return rng.choice(_LONG_WORDS)
        return " ".join(rng.sample(_PHRASE_WORDS, 2))
    return " ".join(rng.sample(_PHRASE_WORDS, rng.randint(4, 5)))


def _letter(rng: random.Random, text: str, difficulty: int) -> str:
    letters = sorted({ch for ch in text if ch.isalpha()})
    repeated = [ch for ch in letters if text.count(ch) >= 2]
    if difficulty >= 2 and repeated and rng.random() < 0.8:
        return rng.choice(repeated)
    return rng.choice(letters)


_PAIR_RE = re.compile(r"(?<![\d.])(\d+)\s*:\s*([^:]*)$")


def _ints(tokens: list[str]) -> list[int] | None:
    values = [to_int(t) for t in tokens]
    return None if any(v is None for v in values) else [v for v in values if v is not None]


def parse_letters_answer(answer: str) -> tuple[int, list[int]] | None:
    """(count, positions) from "3: 3, 8, 9"-style text, or from its bare integers."""
    segment = answer_segment(answer)
    for line in reversed([ln.strip() for ln in segment.splitlines() if ln.strip()]):
        m = _PAIR_RE.search(line)
        if m is None:
            continue
        count = to_int(m.group(1))
        rest = m.group(2).strip().strip("[](){}").strip()
        if count is not None and rest.lower() in ("", "none", "-", "no positions", "n/a"):
            return count, []
        if not re.fullmatch(r"\d+(?:(?:\s*(?:[,;&]|\band\b)\s*|\s+)\d+)*", rest):
            continue
        positions = _ints(re.findall(r"\d+", rest))
        if count is None or positions is None:
            return None
        return count, positions
    ints = _ints(re.findall(r"(?<![\d.-])\d+(?![\d.]\d)", segment))
    if not ints:
        return None
    return ints[0], ints[1:]


class LettersFamily(TaskFamily):
    name = "letters"
    description = "Count a letter in a word or phrase and list its 1-based positions."

    def generate(self, rng: random.Random, difficulty: int, index: int, seed: int) -> EvalItem:
        check_difficulty(difficulty)
        text = _text(rng, difficulty)
        letter = _letter(rng, text, difficulty)
        where = positions_of(text, letter)
        counting = " (count every character, spaces too)" if " " in text else ""
        prompt = (
            f'Text: "{text}"\n'
            f'How many times does the letter "{letter}" appear, and at which positions? '
            f"Positions start at 1{counting}.\n{_FORMAT}"
        )
        reference = f"{len(where)}: {', '.join(map(str, where))}"
        return self.make_item(
            difficulty, index, seed, prompt, {"text": text, "letter": letter}, reference
        )

    def _check(self, item: EvalItem, answer: str) -> CheckResult:
        text, letter = str(item.data["text"]), str(item.data["letter"])
        expected = positions_of(text, letter)
        parsed = parse_letters_answer(answer)
        if parsed is None:
            return CheckResult.fail("could not parse a count and positions")
        count, given = parsed
        if count != len(expected):
            return CheckResult.fail(f"wrong count: got {count}, expected {len(expected)}")
        if len(given) != len(set(given)):
            return CheckResult.fail("a position is listed more than once")
        if len(given) != count:
            return CheckResult.fail(
                f"count {count} does not match the {len(given)} positions listed"
            )
        if sorted(given) != expected:
            wrong = sorted(set(given) - set(expected))
            missing = sorted(set(expected) - set(given))
            return CheckResult.fail(f"wrong positions: extra {wrong}, missing {missing}")
        return CheckResult.ok()
