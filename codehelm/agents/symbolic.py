"""CodeSteer's symbolic checker: is a program doing real computation, or just printing?

A heuristic over the AST, not a solver: score = loops + branches + try blocks
+ 0.25 x binary operations. A score of 2 or less means "the code may not be
complex enough to compute the answer"; a program whose printed values are all
literal constants is hard-coded (it states an answer instead of computing one).
"""

from __future__ import annotations

import ast

from pydantic import BaseModel, ConfigDict

SEARCH_MODULES = frozenset({"itertools", "functools", "heapq", "collections", "bisect"})
SYMBOLIC_MODULES = frozenset({"sympy", "z3", "numpy", "scipy", "fractions", "math", "networkx"})
LOW_COMPLEXITY = 2.0


class SymbolicReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    loops: int = 0
    branches: int = 0
    tries: int = 0
    binary_ops: int = 0
    uses_search: bool = False
    uses_symbolic: bool = False
    hard_coded: bool = False
    parses: bool = True

    @property
    def score(self) -> float:
        return self.loops + self.branches + self.tries + 0.25 * self.binary_ops

    @property
    def low_complexity(self) -> bool:
        return self.score <= LOW_COMPLEXITY and not (self.uses_search or self.uses_symbolic)

    def summary(self) -> str:
        parts = [
            f"score {self.score:g} ({self.loops} loops, {self.branches} branches, "
            f"{self.tries} try, {self.binary_ops} binary ops)"
        ]
        if self.uses_search:
            parts.append("uses search")
        if self.uses_symbolic:
            parts.append("uses symbolic/math libraries")
        if self.hard_coded:
            parts.append("prints only constants: the answer is hard-coded, not computed")
        elif self.low_complexity:
            parts.append("the code may not be complex enough to compute the answer")
        return "; ".join(parts)


def analyse(code: str) -> SymbolicReport:
    """Count the computation in `code`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return SymbolicReport(parses=False)
    loops = branches = tries = binary_ops = 0
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor | ast.comprehension):
            loops += 1
        elif isinstance(node, ast.If | ast.IfExp | ast.Match):
            branches += 1
        elif isinstance(node, ast.Try | ast.TryStar):
            tries += 1
        elif isinstance(node, ast.BinOp | ast.BoolOp | ast.Compare | ast.AugAssign):
            binary_ops += 1
        elif isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return SymbolicReport(
        loops=loops,
        branches=branches,
        tries=tries,
        binary_ops=binary_ops,
        uses_search=bool(modules & SEARCH_MODULES),
        uses_symbolic=bool(modules & SYMBOLIC_MODULES),
        hard_coded=_prints_only_constants(tree),
    )


def _prints_only_constants(tree: ast.Module) -> bool:
    """True when the program is nothing but print() calls of literals."""
    statements = tree.body
    if not statements:
        return False
    for statement in statements:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            return False
        call = statement.value
        if not (isinstance(call.func, ast.Name) and call.func.id == "print"):
            return False
        if not all(_is_literal(arg) for arg in call.args):
            return False
    return True


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    return False
