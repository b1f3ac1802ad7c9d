"""Quote choice: rare words and code names weigh most, a short decisive sentence counts, the
search's passage is preferred, and a quote is the source's words up to white space."""

from __future__ import annotations

from codehelm.agents.quotes import best_quotes, squeeze

MATH = """math — Mathematical functions

This module provides access to the mathematical functions defined by the C standard.

math.gcd(*integers)
Return the greatest common divisor of the specified integer arguments.
Changed in version 3.9: Added support for an arbitrary number of arguments.

math.lcm(*integers)
Return the least common multiple of the specified integer arguments.
New in version 3.9.

math.hypot(*coordinates)
Return the Euclidean norm. Changed in version 3.8: Added support for n-dimensional points.
"""


def test_the_code_name_asked_about_wins_over_common_words() -> None:
    best, *_ = best_quotes(MATH, "Which Python version added math.lcm?")
    assert best.startswith("math.lcm(*integers) Return the least common multiple")
    assert "New in version 3.9." in best  # the short sentence after it, whose answer it is


def test_quotes_are_the_sources_words_up_to_white_space() -> None:
    for quote in best_quotes(MATH, "greatest common divisor arguments", k=3):
        assert quote in squeeze(MATH) and "\n" not in quote


def test_the_passage_the_search_found_is_preferred() -> None:
    start = MATH.index("math.hypot")
    best, *_ = best_quotes(MATH, "Added support for arguments", near=(start, len(MATH)))
    assert "n-dimensional points" in best


def test_nothing_relevant_gives_no_quote() -> None:
    assert best_quotes(MATH, "bread flour yeast") == []
