"""A small real repository with a real bug, for the fix graph's tests: `calc`, whose
`median` returns the upper middle value for lists of even length."""

from __future__ import annotations

from pathlib import Path

from tests.git_repo import CALC_PYPROJECT, git

ISSUE = (
    "median() is wrong for lists of even length: median([1, 2, 3, 4]) returns 3,"
    " but the median of an even number of values is the mean of the two middle ones (2.5)."
)

FILES = {
    "pyproject.toml": CALC_PYPROJECT,
    "calc/__init__.py": '"""Small numeric helpers."""\n',
    "calc/ops.py": '''"""Arithmetic."""


def add(a, b):
    return a + b


def clamp(value, low, high):
    return max(low, min(value, high))
''',
    "calc/stats.py": '''"""Statistics of lists of numbers."""

from calc.ops import add


def mean(values):
    total = 0
    for value in values:
        total = add(total, value)
    return total / len(values)


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2]
''',
    "calc/text.py": '''"""Formatting numbers."""


def percent(ratio):
    return f"{ratio * 100:.1f}%"
''',
    "tests/test_ops.py": """from calc.ops import add, clamp


def test_add():
    assert add(2, 3) == 5


def test_clamp():
    assert clamp(12, 0, 10) == 10
""",
    "tests/test_stats.py": """from calc.stats import mean, median


def test_mean():
    assert mean([1, 2, 3]) == 2


def test_median_of_odd_length():
    assert median([3, 1, 2]) == 2
""",
}

FIX_OLD = "    return s[n // 2]\n"
FIX_NEW = "    if n % 2:\n        return s[n // 2]\n    return (s[n // 2 - 1] + s[n // 2]) / 2\n"
WRONG_NEW = "    return (s[n // 2 - 1] + s[n // 2]) / 2\n"  # breaks odd lengths

REPRODUCTION = (
    "from calc.stats import median\n\n\n"
    "def test_median_of_even_length():\n"
    "    assert median([1, 2, 3, 4]) == 2.5\n"
)


def make_repo(root: Path) -> Path:
    """Write the repository at `root` and commit it; return `root`."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    return root
