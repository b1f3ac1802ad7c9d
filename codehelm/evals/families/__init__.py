"""The built-in task families, one module each."""

from __future__ import annotations

from codehelm.evals.base import TaskFamily
from codehelm.evals.families.arrangement import ArrangementFamily
from codehelm.evals.families.game24 import Game24Family
from codehelm.evals.families.letters import LettersFamily
from codehelm.evals.families.matrix import MatrixFamily
from codehelm.evals.families.multiplication import MultiplicationFamily
from codehelm.evals.families.nqueens import NQueensFamily
from codehelm.evals.families.operator_insertion import OperatorInsertionFamily
from codehelm.evals.families.path_planning import PathPlanningFamily
from codehelm.evals.families.run_length import RunLengthFamily
from codehelm.evals.families.statistical_counting import StatisticalCountingFamily
from codehelm.evals.families.string_rewrite import StringRewriteFamily
from codehelm.evals.families.sudoku import SudokuFamily

ALL_FAMILIES: tuple[TaskFamily, ...] = (
    MultiplicationFamily(),
    LettersFamily(),
    Game24Family(),
    SudokuFamily(),
    NQueensFamily(),
    StringRewriteFamily(),
    RunLengthFamily(),
    MatrixFamily(),
    OperatorInsertionFamily(),
    ArrangementFamily(),
    PathPlanningFamily(),
    StatisticalCountingFamily(),
)

__all__ = [
    "ALL_FAMILIES",
    "ArrangementFamily",
    "Game24Family",
    "LettersFamily",
    "MatrixFamily",
    "MultiplicationFamily",
    "NQueensFamily",
    "OperatorInsertionFamily",
    "PathPlanningFamily",
    "RunLengthFamily",
    "StatisticalCountingFamily",
    "StringRewriteFamily",
    "SudokuFamily",
]
