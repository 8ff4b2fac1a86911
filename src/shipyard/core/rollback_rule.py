"""The release policy's ``rollback_if`` rule: a boolean expression over a canary's figures.

``error_rate > 0.01 or p99_ms > 50`` is judged on the candidate's figures; ``live_error_rate``,
``live_p99_ms`` … name the live version's, so a rule may compare the two
(``p99_ms > 2 * live_p99_ms``). Model-quality names (``roc_auc``, ``accuracy`` … and
``live_roc_auc`` …, :data:`QUALITY_METRICS`) compare model quality
(``roc_auc < live_roc_auc - 0.02``); they are judged with three values, so a missing quality
figure (no labels yet) makes the rule "not evaluable" rather than counting as 0. Only
comparisons, ``and``/``or``/``not``, + - * / and numbers are allowed: the rule is parsed
once with :mod:`ast` and never passed to ``eval``.

The grammar is shared: :func:`parse_condition` and :func:`judge` serve any rule over named
figures (monitor rules add dotted names such as ``drift.income`` and judge with three values,
a missing figure making a rule "not evaluable" instead of counting as 0).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = [
    "FIGURES",
    "MAX_RULE_CHARS",
    "QUALITY_METRICS",
    "Grammar",
    "RollbackRule",
    "breaches",
    "judge",
    "names_in",
    "parse_condition",
    "parse_rule",
]

FIGURES = ("error_rate", "p50_ms", "p99_ms", "requests")
QUALITY_METRICS = (
    "accuracy", "f1", "log_loss", "mae", "precision", "r2", "recall", "rmse", "roc_auc",
)  # fmt: skip
MAX_RULE_CHARS = 1000
_QUALITY = frozenset(QUALITY_METRICS) | {f"live_{m}" for m in QUALITY_METRICS}
_NAMES = frozenset(FIGURES) | {f"live_{f}" for f in FIGURES} | _QUALITY
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
class Grammar:
    """What names a rule may use: ``check_name(name, where)`` raises a ValidationError for
    an unknown one; ``dotted`` allows ``namespace.name`` (never ``_``-prefixed parts)."""

    check_name: Callable[[str, str], None]
    example: str
    dotted: bool = False


def _check_rollback_name(name: str, where: str) -> None:
    if name not in _NAMES:
        raise ValidationError(
            f"{where}: unknown figure {name!r}; use {', '.join(sorted(_NAMES))}", field=where
        )


_ROLLBACK = Grammar(_check_rollback_name, "error_rate > 0.01 or p99_ms > 50")


@dataclass(frozen=True)
class RollbackRule:
    text: str
    tree: ast.expr

    def breached(self, figures: Mapping[str, float]) -> bool:
        """True when the rule holds for ``figures`` (missing figures count as 0)."""
        return bool(judge(self.tree, lambda name: float(figures.get(name, 0.0))))

    @property
    def quality_names(self) -> tuple[str, ...]:
        """The model-quality figures the rule reads (``roc_auc``, ``live_roc_auc`` …)."""
        return tuple(n for n in names_in(self.tree) if n in _QUALITY)

    def verdict(self, figures: Mapping[str, float]) -> bool | None:
        """True (breached), False (holds) or None (not evaluable): a missing serving figure
        counts as 0 as in :meth:`breached`, a missing quality figure is unknown."""
        return _truth(judge(self.tree, _lookup(figures)))

    def breaches(self, figures: Mapping[str, float]) -> list[dict[str, object]]:
        """The comparisons that hold for ``figures``, each with the figures it read."""
        return breaches(self.tree, _lookup(figures))


def _lookup(figures: Mapping[str, float]) -> Callable[[str], float | None]:
    def lookup(name: str) -> float | None:
        value = figures.get(name)
        if value is None:
            return None if name in _QUALITY else 0.0
        return float(value)

    return lookup


def _truth(value: Any) -> bool | None:
    return None if value is None else bool(value)


def breaches(node: ast.AST, lookup: Callable[[str], float | None]) -> list[dict[str, object]]:
    """``[{"condition": "roc_auc < live_roc_auc - 0.02", "figures": {...}}]``: every
    comparison of a checked tree that holds (outside a ``not``), for a ledger's evidence."""
    if isinstance(node, ast.BoolOp):
        return [found for value in node.values for found in breaches(value, lookup)]
    if not isinstance(node, ast.Compare) or _compare(node, lookup) is not True:
        return []
    figures = {name: lookup(name) for name in names_in(node)}
    return [{"condition": ast.unparse(node), "figures": figures}]


def parse_rule(text: object, where: str = "rollback_if") -> RollbackRule:
    tree = parse_condition(text, where, _ROLLBACK)
    return RollbackRule(str(text).strip(), tree)


def parse_condition(text: object, where: str, grammar: Grammar) -> ast.expr:
    """The checked syntax tree of a condition; a ValidationError naming ``where`` otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{where} must be a rule like {grammar.example!r}", field=where)
    if len(text) > MAX_RULE_CHARS:
        raise ValidationError(
            f"{where} is {len(text)} characters long; a rule has at most {MAX_RULE_CHARS}",
            field=where,
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValidationError(f"{where} is not a valid rule: {e.msg}", field=where) from None
    except (ValueError, RecursionError, MemoryError):
        raise ValidationError(f"{where} is not a valid rule", field=where) from None
    _check(tree, where, grammar)
    return tree


def names_in(tree: ast.AST) -> list[str]:
    """The figure names a checked rule reads, in order of first use."""
    found: dict[str, None] = {}

    def visit(node: ast.AST) -> None:
        name = _name_of(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name is not None:
            found.setdefault(name, None)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return list(found)


def _name_of(node: ast.AST) -> str | None:
    """``a`` or ``a.b`` (a chain of plain names), else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name_of(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _check(node: ast.AST, where: str, grammar: Grammar) -> None:
    """A condition: comparisons of figures joined by and/or/not (a bare number is no rule)."""
    if isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, where, grammar)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, where, grammar)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARE for op in node.ops):
            raise ValidationError(f"{where}: only > >= < <= compare figures", field=where)
        for child in (node.left, *node.comparators):
            _check_value(child, where, grammar)
    elif isinstance(node, ast.Name | ast.Constant | ast.BinOp) or (
        grammar.dotted and isinstance(node, ast.Attribute)
    ):
        raise ValidationError(
            f"{where}: {ast.unparse(node)!r} must compare figures, e.g. {grammar.example!r}",
            field=where,
        )
    else:
        _refuse(node, where)


def _check_value(node: ast.AST, where: str, grammar: Grammar) -> None:
    """A number: figures and numbers with + - * / (and a leading minus)."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        _check_value(node.left, where, grammar)
        _check_value(node.right, where, grammar)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_value(node.operand, where, grammar)
    elif isinstance(node, ast.Name):
        grammar.check_name(node.id, where)
    elif isinstance(node, ast.Attribute) and grammar.dotted:
        name = _name_of(node)
        if name is None or any(part.startswith("_") for part in name.split(".")):
            _refuse(node, where)
        grammar.check_name(str(name), where)
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


def judge(node: ast.AST, lookup: Callable[[str], float | None]) -> Any:
    """Evaluate a checked tree; ``lookup`` gives a figure's value or None when it is missing.

    Three-valued: a missing figure makes what depends on it None ("not evaluable"), except
    where ``and``/``or`` decide without it (``False and ?`` is False, ``True or ?`` True).
    """
    if isinstance(node, ast.BoolOp):
        values = [judge(v, lookup) for v in node.values]
        decisive = isinstance(node.op, ast.Or)  # True decides an or, False an and
        if any(v is not None and bool(v) is decisive for v in values):
            return decisive
        return None if any(v is None for v in values) else not decisive
    if isinstance(node, ast.UnaryOp):
        operand = judge(node.operand, lookup)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else not operand
    if isinstance(node, ast.Compare):
        return _compare(node, lookup)
    if isinstance(node, ast.BinOp):
        right = judge(node.right, lookup)
        left = judge(node.left, lookup)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Div) and right == 0:
            # x/0 is above any threshold, but 0/0 (no errors on either side) is no breach
            return math.copysign(math.inf, left) if left else math.nan
        return _ARITH[type(node.op)](left, right)
    if isinstance(node, ast.Name | ast.Attribute):
        return lookup(str(_name_of(node)))
    return node.value  # type: ignore[attr-defined]


def _compare(node: ast.Compare, lookup: Callable[[str], float | None]) -> bool | None:
    left = judge(node.left, lookup)
    unknown = False
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = judge(right_node, lookup)
        if left is None or right is None:
            unknown = True
        elif not _COMPARE[type(op)](left, right):
            return False
        left = right
    return None if unknown else True
