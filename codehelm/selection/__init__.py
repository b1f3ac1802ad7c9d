"""Choosing one answer or program from many samples: answer voting and program selection.

Two families of selectors, both pure functions of their inputs (standard library only):

`codehelm.selection.voting`: verification-weighted answer voting (CSV)
    For samples that end in a final *answer* (a number, a word, a short string), each checked
    by its own code verification.  `weighted_vote` counts the answers (compared after
    `normalize_answer`), each vote weighted by its verdict (``"pass"``, ``"uncertain"``,
    ``"fail"``); `VoteWeights.uniform` makes it a plain majority vote (self-consistency).  Use it
    when the samples' answers can be compared directly, as ``codehelm eval --samples N`` does.

`codehelm.selection.programs`: selecting among candidate programs with generated tests
    For samples that are *programs*, whose outputs cannot simply be compared, run against tests
    that are themselves generated and may be wrong.  The input is the N×M pass matrix (program
    ``i`` passes test ``j``); `select_codet` (CodeT), `select_b4` (B4), `select_max_pass`
    (MaxPass), `select_mbr_exec` (MBR-exec) and `select_random` (baseline) each return a
    `Selection`, so the methods are interchangeable.  ``benchmarks/selection.py`` compares them.

Ties are always broken deterministically in favour of the candidate that appears first (the
answer sampled first; the group whose first program has the lowest index).

Every public name of both modules is re-exported here.
"""

from __future__ import annotations

from codehelm.selection.programs import (
    PassMatrix,
    RankedGroup,
    Selection,
    log_beta,
    select_b4,
    select_codet,
    select_max_pass,
    select_mbr_exec,
    select_random,
    validate_pass_matrix,
)
from codehelm.selection.voting import (
    DEFAULT_WEIGHTS,
    Verdict,
    VoteResult,
    VoteWeights,
    normalize_answer,
    weighted_vote,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "PassMatrix",
    "RankedGroup",
    "Selection",
    "Verdict",
    "VoteResult",
    "VoteWeights",
    "log_beta",
    "normalize_answer",
    "select_b4",
    "select_codet",
    "select_max_pass",
    "select_mbr_exec",
    "select_random",
    "validate_pass_matrix",
    "weighted_vote",
]
