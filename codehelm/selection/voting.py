"""Verification-weighted answer voting (code-based self-verification, CSV).

Each of k sampled solutions carries an answer and the verdict of its own code verification
(``"pass"``, ``"uncertain"`` or ``"fail"``).  `weighted_vote` scores every distinct answer by
``Score(a) = Σ_v w_v · #{i : answer_i = a and verdict_i = v}`` and returns the argmax.  Answers
are compared after `normalize_answer`.  The weights must satisfy ``w_pass > w_uncertain >= w_fail``;
equal weights are the one allowed exception and make the vote plain self-consistency (majority
vote).

Ties are broken deterministically in favour of the answer sampled first.  Pure functions,
standard library only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = [
    "DEFAULT_WEIGHTS",
    "Verdict",
    "VoteResult",
    "VoteWeights",
    "normalize_answer",
    "weighted_vote",
]

Verdict = Literal["pass", "uncertain", "fail"]
"""Outcome of one code-based self-verification (True / Uncertain / False in the CSV paper)."""

_VERDICTS: tuple[Verdict, ...] = ("pass", "uncertain", "fail")

# Relative tolerance under which two vote scores count as tied (weights are usually decimals
# such as 0.2, so 5 × 0.2 and 1 × 1.0 should tie even if rounding makes them differ by an ulp).
_VOTE_TIE_REL_TOL = 1e-9


@dataclass(frozen=True)
class VoteWeights:
    """Weight of one vote by verification verdict.

    The CSV method requires ``pass_ > uncertain >= fail``: a verified answer counts more than an
    unverified one, and a refuted answer counts no more than an unverified one.  Equal weights
    (all three the same) are also accepted: they turn the weighted vote into plain
    self-consistency, see `VoteWeights.uniform`.  Any other combination raises ValueError.
    """

    pass_: float = 1.0
    uncertain: float = 0.5
    fail: float = 0.2

    def __post_init__(self) -> None:
        for name in ("pass_", "uncertain", "fail"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"VoteWeights.{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"VoteWeights.{name} must be finite, got {value!r}")
        if self.pass_ == self.uncertain == self.fail:
            return  # plain self-consistency
        if not (self.pass_ > self.uncertain >= self.fail):
            raise ValueError(
                "VoteWeights must satisfy pass_ > uncertain >= fail (or all three equal for plain "
                f"majority voting); got pass_={self.pass_}, uncertain={self.uncertain}, "
                f"fail={self.fail}"
            )

    @classmethod
    def uniform(cls, weight: float = 1.0) -> VoteWeights:
        """Equal weights: the vote ignores verdicts and becomes plain self-consistency."""
        return cls(pass_=weight, uncertain=weight, fail=weight)

    def of(self, verdict: Verdict) -> float:
        """The weight of one vote with this verdict."""
        if verdict == "pass":
            return self.pass_
        if verdict == "uncertain":
            return self.uncertain
        if verdict == "fail":
            return self.fail
        raise ValueError(f"unknown verdict {verdict!r}; expected one of {_VERDICTS}")


DEFAULT_WEIGHTS = VoteWeights()
"""The default weights: pass 1.0, uncertain 0.5, fail 0.2."""


@dataclass(frozen=True)
class VoteResult:
    """Outcome of `weighted_vote`.

    Attributes:
        winner: the winning answer, normalized with `normalize_answer`.
        original: the winner as first written by a candidate (before normalization).
        score: the winner's weighted score.
        scores: every distinct normalized answer → its score, in order of first occurrence.
        counts: every distinct normalized answer → votes per verdict (``pass``/``uncertain``/
            ``fail``), in order of first occurrence.
    """

    winner: str
    original: str
    score: float
    scores: dict[str, float]
    counts: dict[str, dict[Verdict, int]]


_NUMBER = re.compile(
    r"""
    [+-]?
    (?:
        (?: \d{1,3} (?: ,\d{3} )+ | \d+ ) (?: \.\d+ )?   # integer part (maybe 1,000-grouped)
      | \.\d+                                           # or only a fraction: .5
    )
    (?: [eE][+-]?\d{1,3} )?                            # exponent
    """,
    re.VERBOSE,
)


def _canonical_number(text: str) -> str:
    """Canonical decimal form of a string matched by `_NUMBER` (exact; no float rounding)."""
    sign, digit_tuple, exponent = Decimal(text.replace(",", "")).as_tuple()
    assert isinstance(exponent, int)  # finite numbers only: the pattern admits no nan/inf
    digits = "".join(map(str, digit_tuple))
    if exponent >= 0:
        integer, fraction = digits + "0" * exponent, ""
    else:
        digits = digits.rjust(1 - exponent, "0")
        integer, fraction = digits[:exponent], digits[exponent:]
    integer = integer.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    result = integer + ("." + fraction if fraction else "")
    return "-" + result if sign and result != "0" else result


def normalize_answer(answer: str) -> str:
    """Light normalization used to compare final answers.

    * surrounding whitespace is stripped and inner runs of whitespace become one space;
    * trailing periods are removed (``"42."`` → ``"42"``);
    * numbers are put in one canonical form: thousands separators and trailing zeros of the
      fraction are dropped, integral values lose their fraction, exponents are expanded
      (``"1,000"``, ``"1000.0"``, ``"1e3"`` and ``"+1000"`` all become ``"1000"``;
      ``"2.50"`` → ``"2.5"``; ``"-0"`` → ``"0"``).

    Case and everything else are kept as is; non-numeric text is only whitespace-normalized.
    """
    text = " ".join(answer.split())
    text = text.rstrip(".").rstrip()
    if _NUMBER.fullmatch(text):
        return _canonical_number(text)
    return text


def weighted_vote(
    candidates: Sequence[tuple[str, Verdict]],
    weights: VoteWeights = DEFAULT_WEIGHTS,
) -> VoteResult:
    """Verification-weighted vote over ``(answer, verdict)`` samples.

    ``Score(a) = Σ_v w_v · #{i : normalize_answer(answer_i) = a and verdict_i = v}``; the answer
    with the highest score wins.  Ties (scores equal up to a relative 1e-9) go to the answer that
    occurs first in ``candidates``.  With `VoteWeights.uniform` this is a plain majority vote.

    Raises:
        ValueError: no candidates, or a verdict other than ``"pass"``, ``"uncertain"``,
            ``"fail"``.
        TypeError: an answer that is not a string.
    """
    if not candidates:
        raise ValueError("weighted_vote needs at least one (answer, verdict) candidate")
    counts: dict[str, dict[Verdict, int]] = {}
    originals: dict[str, str] = {}
    for position, candidate in enumerate(candidates):
        answer, verdict = candidate
        if not isinstance(answer, str):
            raise TypeError(f"candidate {position} has a non-string answer: {answer!r}")
        if verdict not in _VERDICTS:
            raise ValueError(
                f"candidate {position} has verdict {verdict!r}; expected one of {_VERDICTS}"
            )
        key = normalize_answer(answer)
        if key not in counts:
            counts[key] = dict.fromkeys(_VERDICTS, 0)
            originals[key] = answer
        counts[key][verdict] += 1
    # Score = w_pass·n_pass + w_uncertain·n_uncertain + w_fail·n_fail (correctly rounded sum),
    # so answers with the same counts get bit-identical scores.
    scores = {
        key: math.fsum(weights.of(verdict) * c[verdict] for verdict in _VERDICTS)
        for key, c in counts.items()
    }
    best = max(scores.values())
    winner = next(
        key
        for key, score in scores.items()
        if score == best or math.isclose(score, best, rel_tol=_VOTE_TIE_REL_TOL, abs_tol=0.0)
    )
    return VoteResult(
        winner=winner,
        original=originals[winner],
        score=scores[winner],
        scores=scores,
        counts=counts,
    )
