"""Make ``benchmarks/`` importable: the synthetic pass-matrix generator lives there.

`synthetic_pass_matrix` is benchmark machinery (``benchmarks/pass_matrices.py``), not library
API; the tests import it as ``pass_matrices``, the module name the benchmark scripts use.  The
folder is appended, not prepended, so its scripts shadow no installed module.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")

if BENCHMARKS not in sys.path:
    sys.path.append(BENCHMARKS)
