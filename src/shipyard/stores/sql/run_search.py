"""Compile the filter language (core.query AST) into SQL over runs; search in the database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import NamedFromClause

from shipyard.core.errors import ValidationError
from shipyard.core.query import And, Compare, Expr, Key, Not, Or
from shipyard.stores.ports import RunQuery
from shipyard.stores.sql.tables import latest_metrics, params, runs, tags

__all__ = ["RunQuery", "search_run_ids"]

_ATTRIBUTE_COLUMNS = {
    "run_id": runs.c.id,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user": runs.c.user_name,
    "experiment_id": runs.c.experiment_id,
    "parent_run_id": runs.c.parent_run_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}
_KV_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}


def _apply(column: ColumnElement, op: str, value: object) -> ColumnElement[bool]:
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    if op in ("IN", "NOT IN"):
        values = list(value)  # type: ignore[call-overload]
        return column.in_(values) if op == "IN" else column.not_in(values)
    if op in ("LIKE", "NOT LIKE"):
        cond = column.like(value)
        return cond if op == "LIKE" else sa.not_(cond)
    if op in ("ILIKE", "NOT ILIKE"):
        cond = column.ilike(value)
        return cond if op == "ILIKE" else sa.not_(cond)
    ops = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    return ops[op](value)


def _attribute_value(key: Key, value: object) -> object:
    if key.name != "experiment_id" or value is None:
        return value
    try:
        if isinstance(value, tuple):
            return tuple(int(v) for v in value)
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationError(
            f"attributes.experiment_id compares with experiment ids (numbers), got {value!r}",
            field="filter",
        ) from None


def _compare(cmp: Compare) -> ColumnElement[bool]:
    key = cmp.key
    if key.kind == "attribute":
        column = _ATTRIBUTE_COLUMNS[key.name]
        return _apply(column, cmp.op, _attribute_value(key, cmp.value))
    table = _KV_TABLES[key.kind]
    has_key = sa.select(sa.literal(1)).where(table.c.run_id == runs.c.id, table.c.key == key.name)
    if cmp.op == "IS NULL":
        return ~has_key.exists()
    if cmp.op == "IS NOT NULL":
        return has_key.exists()
    return has_key.where(_apply(table.c.value, cmp.op, cmp.value)).exists()


def compile_filter(expr: Expr) -> ColumnElement[bool]:
    if isinstance(expr, Compare):
        return _compare(expr)
    if isinstance(expr, And):
        return sa.and_(*(compile_filter(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(compile_filter(e) for e in expr.items))
    if isinstance(expr, Not):
        return sa.not_(compile_filter(expr.item))
    raise TypeError(f"unknown filter node {expr!r}")


_RANGE_OPS = {"=", "<", "<=", ">", ">="}


def _metric_joins(expr: Expr | None) -> tuple[dict[str, list[Compare]], list[Expr]]:
    """Split top-level ``metrics.k <op> number`` conjuncts out, to become inner joins.

    Joining lets the database walk the (experiment_id, key, value) index in value order and
    stop at LIMIT, instead of testing every run of the experiment.
    """
    conjuncts = list(expr.items) if isinstance(expr, And) else ([expr] if expr else [])
    joins: dict[str, list[Compare]] = {}
    rest: list[Expr] = []
    for c in conjuncts:
        if isinstance(c, Compare) and c.key.kind == "metric" and c.op in _RANGE_OPS:
            joins.setdefault(c.key.name, []).append(c)
        else:
            rest.append(c)
    return joins, rest


def _order_column(
    key: Key, aliases: dict[str, NamedFromClause], query: sa.Select, n: int
) -> tuple[ColumnElement, sa.Select]:
    if key.kind == "attribute":
        return _ATTRIBUTE_COLUMNS[key.name], query
    if key.kind == "metric" and key.name in aliases:
        return aliases[key.name].c.value, query
    table = _KV_TABLES[key.kind]
    alias = table.alias(f"order_{n}")
    query = query.outerjoin(alias, sa.and_(alias.c.run_id == runs.c.id, alias.c.key == key.name))
    return alias.c.value, query


def search_run_ids(conn: Connection, q: RunQuery) -> list[str]:
    """Run ids matching ``q`` in order, evaluated entirely in SQL."""
    joins, rest = _metric_joins(q.where)
    query = sa.select(runs.c.id)
    aliases: dict[str, NamedFromClause] = {}
    for i, (name, comparisons) in enumerate(joins.items()):
        alias = latest_metrics.alias(f"m{i}")
        aliases[name] = alias
        conds = [alias.c.run_id == runs.c.id, alias.c.key == name]
        if q.experiment_ids:
            conds.append(alias.c.experiment_id.in_(q.experiment_ids))
        conds += [_apply(alias.c.value, c.op, c.value) for c in comparisons]
        query = query.join(alias, sa.and_(*conds))
    conditions: list[ColumnElement[bool]] = [runs.c.lifecycle_stage.in_(q.stages)]
    if q.experiment_ids:
        conditions.append(runs.c.experiment_id.in_(q.experiment_ids))
    conditions += [compile_filter(e) for e in rest]
    order: list[ColumnElement] = []
    for n, ok in enumerate(q.order_by):
        column, query = _order_column(ok.key, aliases, query, n)
        order.append(column.desc().nulls_last() if ok.descending else column.asc().nulls_last())
    if not q.order_by:
        order.append(runs.c.start_time.desc())
    order.append(runs.c.id)
    query = query.where(*conditions).order_by(*order).limit(q.limit).offset(q.offset)
    return [row.id for row in conn.execute(query)]
