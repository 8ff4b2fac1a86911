"""The release policy's ``rollback_if`` rule: a small boolean expression over serving figures.

``error_rate > 0.01 or p99_ms > 50`` is judged on the candidate's figures; ``live_error_rate``,
``live_p99_ms`` … name the live version's, so a rule may compare the two
(``p99_ms > 2 * live_p99_ms``). Only comparisons, ``and``/``or``/``not``, + - * / and numbers
are allowed: the rule is parsed once with :mod:`ast` and never passed to ``eval``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["FIGURES", "RollbackRule", "parse_rule"]

FIGURES = ("error_rate", "p50_ms", "p99_ms", "requests")
_NAMES = frozenset(FIGURES) | {f"live_{f}" for f in FIGURES}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class RollbackRule:
    text: str
    tree: ast.expr

    def breached(self, figures: Mapping[str, float]) -> bool:
        """True when the rule holds for ``figures`` (missing figures count as 0)."""
        return bool(_eval(self.tree, figures))


def parse_rule(text: object, where: str = "rollback_if") -> RollbackRule:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            f"{where} must be a rule like 'error_rate > 0.01 or p99_ms > 50'", field=where
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValidationError(f"{where} is not a valid rule: {e.msg}", field=where) from None
    _check(tree, where)
    return RollbackRule(text.strip(), tree)


def _check(node: ast.AST, where: str) -> None:
    """A condition: comparisons of figures joined by and/or/not (a bare number is no rule)."""
    if isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, where)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, where)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARE for op in node.ops):
            raise ValidationError(f"{where}: only > >= < <= compare figures", field=where)
        for child in (node.left, *node.comparators):
            _check_value(child, where)
    elif isinstance(node, ast.Name | ast.Constant | ast.BinOp):
        raise ValidationError(
            f"{where}: {ast.unparse(node)!r} must compare figures, e.g. 'error_rate > 0.01'",
            field=where,
        )
    else:
        _refuse(node, where)


def _check_value(node: ast.AST, where: str) -> None:
    """A number: figures and numbers with + - * / (and a leading minus)."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        _check_value(node.left, where)
        _check_value(node.right, where)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_value(node.operand, where)
    elif isinstance(node, ast.Name):
        if node.id not in _NAMES:
            raise ValidationError(
                f"{where}: unknown figure {node.id!r}; use {', '.join(sorted(_NAMES))}",
                field=where,
            )
    elif not (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        _refuse(node, where)


def _refuse(node: ast.AST, where: str) -> None:
    raise ValidationError(
        f"{where}: {ast.unparse(node)!r} is not allowed; use figures, numbers, + - * /, "
        "comparisons, and/or/not",
        field=where,
    )


def _eval(node: ast.AST, figures: Mapping[str, float]) -> Any:
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, figures) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, figures)
        return -operand if isinstance(node.op, ast.USub) else not operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, figures)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, figures)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        right = _eval(node.right, figures)
        left = _eval(node.left, figures)
        if isinstance(node.op, ast.Div) and right == 0:
            # x/0 is above any threshold, but 0/0 (no errors on either side) is no breach
            return math.copysign(math.inf, left) if left else math.nan
        return _ARITH[type(node.op)](left, right)
    if isinstance(node, ast.Name):
        return float(figures.get(node.id, 0.0))
    return node.value  # type: ignore[attr-defined]
