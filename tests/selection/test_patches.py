"""Choosing among candidate patches: tests first, then the vote, a judge only for ties."""

from codehelm.selection.patches import PatchOutcome, distinct, normalise_patch, ranked_groups

FIX = """diff --git a/calc/stats.py b/calc/stats.py
--- a/calc/stats.py
+++ b/calc/stats.py
@@ -3,3 +3,5 @@ def median(values):
     s = sorted(values)
     n = len(s)
-    return s[n // 2]
+    if n % 2:
+        return s[n // 2]
+    return (s[n // 2 - 1] + s[n // 2]) / 2
"""

SAME_FIX_OTHER_WORDS = FIX.replace("@@ -3,3 +3,5 @@", "@@ -4,3 +4,6 @@").replace(
    "+    if n % 2:", "+    # odd length: the middle one\n+    if  n % 2:"
)

OTHER_FIX = FIX.replace("/ 2\n", "/ 2.0\n")


def outcome(cid: str, patch: str, **fields: object) -> PatchOutcome:
    return PatchOutcome(candidate_id=cid, patch=patch, **fields)  # type: ignore[arg-type]


def test_normalising_ignores_positions_comments_and_spacing_but_not_code() -> None:
    assert normalise_patch(FIX) == normalise_patch(SAME_FIX_OTHER_WORDS)
    assert normalise_patch(FIX) != normalise_patch(OTHER_FIX)
    assert "calc/stats.py-return s[n // 2]" in normalise_patch(FIX)


def test_fewest_regressions_beat_the_reproduction_and_the_vote() -> None:
    groups = ranked_groups(
        [
            outcome("a", OTHER_FIX, reproduced=True, regressions=["tests/test_x.py::t"]),
            outcome("b", OTHER_FIX, reproduced=True, regressions=["tests/test_x.py::t"]),
            outcome("c", FIX, reproduced=False, regressions=[]),
        ]
    )
    assert [o.candidate_id for o in groups[0]] == ["c"]


def test_passing_the_reproduction_beats_the_vote() -> None:
    groups = ranked_groups(
        [
            outcome("a", OTHER_FIX, reproduced=False, regressions=[]),
            outcome("b", OTHER_FIX, reproduced=False, regressions=[]),
            outcome("c", FIX, reproduced=True, regressions=[]),
        ]
    )
    assert [o.candidate_id for o in groups[0]] == ["c"]


def test_the_majority_of_equal_patches_wins_when_the_tests_cannot_tell() -> None:
    groups = ranked_groups(
        [
            outcome("a", OTHER_FIX, reproduced=True, regressions=[]),
            outcome("b", FIX, reproduced=True, regressions=[]),
            outcome("c", SAME_FIX_OTHER_WORDS, reproduced=True, regressions=[]),
        ]
    )
    assert [o.candidate_id for o in groups[0]] == ["b", "c"]
    assert [o.candidate_id for o in distinct(groups[0])] == ["b"]


def test_untested_candidates_rank_below_tested_ones_and_empty_or_unapplied_ones_drop_out() -> None:
    groups = ranked_groups(
        [
            outcome("empty", "", regressions=[]),
            outcome("broken", FIX, applies=False),
            outcome("untested", OTHER_FIX),
            outcome("tested", FIX, regressions=["t"]),
        ]
    )
    assert [[o.candidate_id for o in g] for g in groups] == [["tested"], ["untested"]]


def test_a_real_tie_is_left_to_the_judge() -> None:
    groups = ranked_groups(
        [outcome("a", FIX, regressions=[]), outcome("b", OTHER_FIX, regressions=[])]
    )
    assert [o.candidate_id for o in distinct(groups[0])] == ["a", "b"]
