"""A plan step's candidate answers and the choice among them (verification-weighted voting)."""

from __future__ import annotations

from typing import Literal

from codehelm.messages import Answer, Verdict
from codehelm.selection.voting import normalize_answer, weighted_vote
from codehelm.state import SolveState


def step_candidates(state: SolveState, step_id: str) -> list[tuple[Answer, Verdict | None]]:
    """Every answer the current plan produced for step `step_id`, in order, with its verdict
    (None: not judged yet). The verifier's copy of an answer replaces the one it judged, and
    an attempt repeating an earlier one word for word (a deterministic model asked again) is
    that attempt again, not a second vote."""
    ids = [m.id for m in state.messages]
    since = ids.index(state.plan.id) if state.plan and state.plan.id in ids else 0
    current = [*state.messages[since:], *([state.candidate] if state.candidate else [])]
    answers: dict[str, Answer] = {}
    for m in current:
        if isinstance(m, Answer) and m.content and m.step_id == step_id:
            answers[m.id] = m
    distinct: dict[str, Answer] = {}
    for answer in answers.values():
        distinct[answer.rationale.strip() or answer.id] = answer
    verdicts = {m.target_id: m for m in state.messages if isinstance(m, Verdict)}
    return [(a, verdicts.get(a.id)) for a in distinct.values()]


def vote_of(verdict: Verdict | None) -> Literal["pass", "uncertain", "fail"]:
    """The weight class of an attempt's vote: its verdict, except that a program which ran
    and reproduced, rejected only by a model-written check program, counts as uncertain: the
    rejection still sends the step back for another try, but one check program against a
    reproducing program is a dispute, not a refutation (a broken check rejecting
    17 * 587 * 40 = 399160 must not hand the step to a later program's 9979). A text answer
    has no such counterweight: its check's rejection stands."""
    if verdict is None:
        return "uncertain"
    failed = {c.name for c in verdict.checks if c.passed is False}
    reproduced = any(c.name == "reproduces" and c.passed for c in verdict.checks)
    return "uncertain" if failed == {"self_check"} and reproduced else verdict.outcome


def choose_answer(state: SolveState, step_id: str) -> tuple[Answer, Verdict | None] | None:
    """The step's answer chosen from all its attempts, in both modes, by verification-weighted
    voting (CSV): each attempt votes for its answer with its verdict's weight, so two
    reproducing programs that agree outweigh one unverified text answer, and a late attempt
    does not win for being last. The winner is its best-judged attempt, a program before a
    text (its rationale runs), the latest of equals."""
    candidates = step_candidates(state, step_id)
    if not candidates:
        return None
    votes = [(a.content, vote_of(v)) for a, v in candidates]
    winner = weighted_vote(votes).winner
    rank = {"pass": 3, "uncertain": 2, None: 1, "fail": 0}
    backing = [(a, v) for a, v in candidates if normalize_answer(a.content) == winner]
    return max(
        reversed(backing),
        key=lambda av: (rank[av[1].outcome if av[1] else None], av[0].mode == "code"),
    )


def has_usable_answer(state: SolveState, step_id: str) -> bool:
    """Whether some attempt at the step gave an answer that no check refuted outright."""
    return any(vote_of(v) != "fail" for _, v in step_candidates(state, step_id))
