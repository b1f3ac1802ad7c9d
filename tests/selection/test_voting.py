"""Verification-weighted answer voting (codehelm.selection.voting)."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from codehelm.selection.voting import (
    Verdict,
    VoteWeights,
    normalize_answer,
    weighted_vote,
)

# ------------------------------------------------------------------------------------------
# normalize_answer
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,000", "1000"),
        ("1000.0", "1000"),
        ("  1000.  ", "1000"),
        ("1e3", "1000"),
        ("+1000", "1000"),
        ("1,234,567.500", "1234567.5"),
        ("-1,000.50", "-1000.5"),
        ("2.50", "2.5"),
        (".5", "0.5"),
        ("-0.0", "0"),
        ("007", "7"),
        ("1e-3", "0.001"),
        ("12345678901234567890123456789012345.0", "12345678901234567890123456789012345"),
        ("3.14", "3.14"),
        ("1,00", "1,00"),  # not a thousands grouping: left alone
        ("1.2.3", "1.2.3"),
        ("The  answer\n is   x.", "The answer is x"),
        ("Paris", "Paris"),
        ("", ""),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


# ------------------------------------------------------------------------------------------
# Verification-weighted voting
# ------------------------------------------------------------------------------------------


def test_verified_minority_beats_unverified_majority() -> None:
    candidates: list[tuple[str, Verdict]] = [("42", "pass"), ("42", "pass"), ("41", "uncertain")]
    candidates += [("41", "fail")] * 2
    # 42: 2 × 1.0 = 2.0;  41: 1 × 0.5 + 2 × 0.2 = 0.9
    result = weighted_vote(candidates)
    assert result.winner == "42"
    assert result.score == pytest.approx(2.0)
    assert result.scores == pytest.approx({"42": 2.0, "41": 0.9})
    assert result.counts == {
        "42": {"pass": 2, "uncertain": 0, "fail": 0},
        "41": {"pass": 0, "uncertain": 1, "fail": 2},
    }

    # Three unverified votes (3 × 0.5 = 1.5) lose to two verified votes (2 × 1.0 = 2.0)...
    candidates = [("7", "uncertain"), ("7", "uncertain"), ("7", "uncertain")]
    candidates += [("8", "pass"), ("8", "pass")]
    assert weighted_vote(candidates).winner == "8"
    # ...and with equal weights the majority wins again.
    assert weighted_vote(candidates, VoteWeights.uniform()).winner == "7"


def test_refuted_answers_count_little() -> None:
    # Four refuted votes: 4 × 0.2 = 0.8 < one verified vote: 1.0.
    candidates: list[tuple[str, Verdict]] = [("10", "fail")] * 4
    candidates.append(("12", "pass"))
    assert weighted_vote(candidates).winner == "12"
    assert weighted_vote(candidates).scores == pytest.approx({"10": 0.8, "12": 1.0})


def test_answers_are_normalized_before_counting() -> None:
    candidates: list[tuple[str, Verdict]] = [
        ("1,000", "uncertain"),
        ("1000.0", "uncertain"),
        ("1000.", "fail"),
        ("999", "pass"),
    ]
    # 1000: 0.5 + 0.5 + 0.2 = 1.2 > 999: 1.0
    result = weighted_vote(candidates)
    assert result.winner == "1000"
    assert result.original == "1,000"  # first spelling seen
    assert list(result.scores) == ["1000", "999"]
    assert result.score == pytest.approx(1.2)


def test_ties_go_to_the_first_answer() -> None:
    assert weighted_vote([("a", "pass"), ("b", "pass")]).winner == "a"
    assert weighted_vote([("b", "pass"), ("a", "pass")]).winner == "b"
    # 3 × 0.1 = 0.30000000000000004 in floating point, but it ties with one vote of 0.3.
    weights = VoteWeights(pass_=1.0, uncertain=0.3, fail=0.1)
    three_fails: list[tuple[str, Verdict]] = [("x", "fail")] * 3
    assert weighted_vote([("y", "uncertain"), *three_fails], weights).winner == "y"
    assert weighted_vote([*three_fails, ("y", "uncertain")], weights).winner == "x"


def test_equal_weights_reduce_to_majority_vote() -> None:
    rng = random.Random(7)
    answers = ["1", "2", "3", "3.0", "1,000", "1000"]
    verdicts = ("pass", "uncertain", "fail")
    for _ in range(300):
        k = rng.randint(1, 16)
        candidates = [(rng.choice(answers), rng.choice(verdicts)) for _ in range(k)]
        # Counter.most_common keeps first-encountered order among equal counts.
        majority = Counter(normalize_answer(a) for a, _ in candidates).most_common(1)[0][0]
        for weight in (1.0, 0.5, 3.0):
            result = weighted_vote(candidates, VoteWeights.uniform(weight))  # type: ignore[arg-type]
            assert result.winner == majority


@pytest.mark.parametrize(
    ("pass_", "uncertain", "fail"),
    [
        (0.5, 0.5, 0.2),  # pass must beat uncertain
        (1.0, 0.2, 0.5),  # fail must not beat uncertain
        (0.1, 0.5, 0.2),
        (1.0, 1.0, 0.0),
        (math.nan, 0.5, 0.2),
        (math.inf, 0.5, 0.2),
    ],
)
def test_vote_weights_validation(pass_: float, uncertain: float, fail: float) -> None:
    with pytest.raises(ValueError, match="VoteWeights"):
        VoteWeights(pass_=pass_, uncertain=uncertain, fail=fail)


def test_vote_weights_at_the_bounds_are_accepted_and_used() -> None:
    # uncertain == fail is allowed: a refuted vote then counts as much as an unverified one.
    level = VoteWeights(pass_=1.0, uncertain=0.5, fail=0.5)
    tied = weighted_vote([("a", "fail"), ("b", "uncertain"), ("c", "pass")], level)
    assert tied.scores == {"a": 0.5, "b": 0.5, "c": 1.0}
    # Integer weights, and a weight of zero: refuted votes then count for nothing.
    whole = VoteWeights(pass_=2, uncertain=1, fail=0)
    result = weighted_vote([("a", "fail"), ("a", "fail"), ("b", "uncertain")], whole)
    assert (result.winner, result.scores) == ("b", {"a": 0, "b": 1})


def test_weighted_vote_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        weighted_vote([])
    with pytest.raises(ValueError, match="verdict 'True'"):
        weighted_vote([("1", "pass"), ("2", "True")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="non-string answer"):
        weighted_vote([(3, "pass")])  # type: ignore[list-item]
