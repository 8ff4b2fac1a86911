"""The run-search filter language and ``order_by`` clauses.

A superset of MLflow's search syntax (it adds ``OR`` and ``NOT``)::

    metrics.rmse < 1 and (params.model = 'rf' or tags.team ILIKE 'ml%') and status != 'FAILED'

Pure standard library: a hand-written lexer and a recursive-descent parser that turn text into a
small immutable tree (:class:`Compare`, :class:`And`, :class:`Or`, :class:`Not`). Syntax errors
raise :class:`FilterSyntaxError` pointing at the offending character; type errors (a number for a
param, ``LIKE`` on a metric, an unknown attribute) raise :class:`ValidationError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NoReturn, TypeAlias

from shipyard.core.errors import FilterSyntaxError, ValidationError

__all__ = [
    "ATTRIBUTES",
    "And",
    "Compare",
    "Expr",
    "Key",
    "Not",
    "Or",
    "OrderKey",
    "key_label",
    "parse_filter",
    "parse_order_by",
]

KeyKind: TypeAlias = Literal["metric", "param", "tag", "attribute"]
Scalar: TypeAlias = str | float

#: Run attributes that can be filtered and ordered on; times are epoch milliseconds.
ATTRIBUTES: Mapping[str, Literal["string", "number"]] = MappingProxyType(
    {
        "end_time": "number",
        "experiment_id": "string",
        "parent_run_id": "string",
        "run_id": "string",
        "run_name": "string",
        "start_time": "number",
        "status": "string",
        "user": "string",
    }
)
_ATTRIBUTE_ALIASES = {name: name for name in ATTRIBUTES} | {
    "created": "start_time",
    "id": "run_id",
    "name": "run_name",
    "run name": "run_name",
    "run_uuid": "run_id",
    "user_id": "user",
}
_PREFIXES: dict[str, KeyKind] = {
    **dict.fromkeys(("metric", "metrics"), "metric"),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), "param"),
    **dict.fromkeys(("tag", "tags"), "tag"),
    **dict.fromkeys(("attr", "attribute", "attributes", "run"), "attribute"),
}
_LABELS = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes"}
_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
_NULL_OPS = ("IS NULL", "IS NOT NULL")
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", *_NULL_OPS)
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN", *_NULL_OPS)
_SYMBOL_OPS = {"==": "=", "<>": "!=", **{op: op for op in ("!=", "<=", ">=", "=", "<", ">")}}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"})
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME_CHARS = "_.-/:"
_MAX_DEPTH = 100  # of parentheses and NOTs; keeps hostile input away from RecursionError
_QUOTES = "'\"`"


@dataclass(frozen=True)
class Key:
    """What a comparison looks at: ``Key("metric", "auc")`` is ``metrics.auc``."""

    kind: KeyKind
    name: str


@dataclass(frozen=True)
class Compare:
    """``key op value``.

    ``value`` is a tuple for ``IN``/``NOT IN`` and ``None`` for ``IS NULL``/``IS NOT NULL``;
    numbers are floats.
    """

    key: Key
    op: str
    value: Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = Compare | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    key: Key
    descending: bool


def key_label(key: Key) -> str:
    """Canonical text of a key (``metrics.auc``), backtick-quoted when the name needs it."""
    plain = key.name and all(ch.isalnum() or ch in _NAME_CHARS for ch in key.name)
    name = key.name if plain else "`" + key.name.replace("\\", "\\\\").replace("`", "``") + "`"
    return f"{_LABELS[key.kind]}.{name}"


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter string; ``None`` or blank text means "no filter"."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter")
    expr = parser.or_expr()
    parser.expect_end("expected AND, OR or the end of the filter")
    return expr


def parse_order_by(items: Sequence[str] | None) -> tuple[OrderKey, ...]:
    """Parse ``["metrics.auc DESC", "start_time"]``; the direction defaults to ascending."""
    if items is None:
        return ()
    if isinstance(items, str):
        items = [items]
    return tuple(_parse_order_item(item) for item in items)


def _parse_order_item(item: str) -> OrderKey:
    parser = _Parser(item, "order_by")
    if parser.peek().kind == "end":
        parser.fail("empty order_by item; expected a key such as metrics.auc DESC", 0)
    key = parser.key()
    descending = parser.accept("DESC") is not None
    if not descending:
        parser.accept("ASC")
    parser.expect_end("expected ASC, DESC or the end of the order_by item")
    return OrderKey(key, descending)


@dataclass(frozen=True)
class _Token:
    kind: str  # word | string | number | op | ( | ) | , | end
    text: str  # as written in the source
    pos: int
    value: str | float = ""  # decoded string, number, normalized operator or key text


def _tokenize(text: str, field: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),":
            token = _Token(ch, ch, i)
        elif ch in "'\"":
            value, end = _read_quoted(text, i, field)
            token = _Token("string", text[i:end], i, value)
        elif ch.isalpha() or ch == "_":
            token = _read_word(text, i, field)
        elif match := _NUMBER.match(text, i):
            token = _read_number(text, match, field)
        elif text[i : i + 2] in _SYMBOL_OPS or ch in _SYMBOL_OPS:
            sym = text[i : i + 2] if text[i : i + 2] in _SYMBOL_OPS else ch
            token = _Token("op", sym, i, _SYMBOL_OPS[sym])
        else:
            raise FilterSyntaxError(
                f"unexpected character {ch!r}", text=text, position=i, field=field
            )
        tokens.append(token)
        i = token.pos + len(token.text)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_quoted(text: str, start: int, field: str) -> tuple[str, int]:
    """Decode the quoted text at ``start``; a quote is escaped by doubling it or by a backslash."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _QUOTES + "\\":
            out.append(text[i + 1])
            i += 2
        elif ch == quote and text[i + 1 : i + 2] == quote:
            out.append(quote)
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    what = "quoted key name" if quote == "`" or text[start - 1 : start] == "." else "string"
    raise FilterSyntaxError(f"unterminated {what}", text=text, position=start, field=field)


def _read_word(text: str, start: int, field: str) -> _Token:
    """A keyword, bare attribute or ``prefix.name``; a quoted name may follow ``prefix.``."""
    end = start
    while end < len(text) and (text[end].isalnum() or text[end] in _NAME_CHARS):
        end += 1
    value = text[start:end]
    if value.endswith(".") and text[end : end + 1] in ("`", '"'):
        name, end = _read_quoted(text, end, field)
        value += name
    return _Token("word", text[start:end], start, value)


def _read_number(text: str, match: re.Match[str], field: str) -> _Token:
    start, end = match.span()
    if end < len(text) and (text[end].isalnum() or text[end] in _NAME_CHARS):
        while end < len(text) and (text[end].isalnum() or text[end] in _NAME_CHARS):
            end += 1
        message = f"invalid number {text[start:end]!r}"
        raise FilterSyntaxError(message, text=text, position=start, field=field)
    value = float(match.group())
    if math.isinf(value):
        message = f"number {match.group()!r} is out of range"
        raise FilterSyntaxError(message, text=text, position=start, field=field)
    return _Token("number", match.group(), start, value)


def _describe(token: _Token) -> str:
    return "the end of the input" if token.kind == "end" else repr(token.text)


def _combine(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def _fmt(value: Scalar | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return repr(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


class _Parser:
    """Recursive descent over the token list; precedence is NOT > AND > OR."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.tokens = _tokenize(text, field)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def is_keyword(self, token: _Token, *words: str) -> bool:
        if token.kind != "word" or "." in token.text:
            return False
        word = token.text.upper()
        return word in words if words else word in _KEYWORDS

    def accept(self, word: str) -> _Token | None:
        return self.advance() if self.is_keyword(self.peek(), word) else None

    def fail(self, message: str, position: int) -> NoReturn:
        raise FilterSyntaxError(message, text=self.text, position=position, field=self.field)

    def unexpected(self, expected: str) -> NoReturn:
        token = self.peek()
        self.fail(f"{expected}, got {_describe(token)}", token.pos)

    def expect_end(self, expected: str) -> None:
        if self.peek().kind == ")":
            self.fail("unbalanced parentheses: no '(' to match this ')'", self.peek().pos)
        if self.peek().kind != "end":
            self.unexpected(expected)

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept("OR"):
            items.append(self.and_expr())
        return _combine(Or, items)

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.accept("AND"):
            items.append(self.not_expr())
        return _combine(And, items)

    def not_expr(self) -> Expr:
        if self.peek().kind != "(" and not self.is_keyword(self.peek(), "NOT"):
            return self.comparison()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail(f"nested deeper than {_MAX_DEPTH} levels", self.peek().pos)
        try:
            return Not(self.not_expr()) if self.accept("NOT") else self.group()
        finally:
            self.depth -= 1

    def group(self) -> Expr:
        opening = self.advance()
        expr = self.or_expr()
        if self.peek().kind != ")":
            where = f"the '(' at position {opening.pos}"
            self.unexpected(f"unbalanced parentheses: expected ')' to close {where}")
        self.advance()
        return expr

    def key(self) -> Key:
        token = self.peek()
        if token.kind != "word" or self.is_keyword(token):
            self.unexpected("expected a key such as metrics.auc, params.model, tags.team or status")
        self.advance()
        prefix, dot, name = str(token.value).partition(".")
        if not dot:
            return Key("attribute", self.attribute(prefix, bare=True))
        kind = _PREFIXES.get(prefix.lower())
        if kind is None:
            valid = ", ".join(f"{p}." for p in _PREFIXES)
            self.invalid(
                f"unknown key prefix {prefix + '.'!r} in {token.text!r}; use one of {valid}"
            )
        if not name:
            self.fail(f"missing key name after {prefix + '.'!r}", token.pos + len(prefix) + 1)
        return Key(kind, self.attribute(name, bare=False) if kind == "attribute" else name)

    def attribute(self, name: str, *, bare: bool) -> str:
        canonical = _ATTRIBUTE_ALIASES.get(name.lower())
        if canonical is not None:
            return canonical
        hint = ""
        if bare:
            hint = f"; metrics, params and tags need a prefix, e.g. metrics.{name} or params.{name}"
        self.invalid(f"unknown attribute {name!r}; valid attributes: {', '.join(ATTRIBUTES)}{hint}")

    def invalid(self, message: str) -> NoReturn:
        raise ValidationError(message, field=self.field)

    def comparison(self) -> Compare:
        key = self.key()
        op, value = self.operator(key)
        return _check(Compare(key, op, value), self.field)

    def operator(self, key: Key) -> tuple[str, Scalar | tuple[Scalar, ...] | None]:
        token = self.peek()
        if token.kind == "op":
            self.advance()
            return str(token.value), self.literal(f"after {token.text!r}")
        if self.accept("IS"):
            negated = self.accept("NOT") is not None
            if not self.accept("NULL"):
                self.unexpected(f"expected NULL after IS{' NOT' if negated else ''}")
            return ("IS NOT NULL" if negated else "IS NULL"), None
        prefix = "NOT " if self.accept("NOT") else ""
        if word := self.accept("LIKE") or self.accept("ILIKE"):
            return prefix + word.text.upper(), self.literal(f"after {word.text.upper()}")
        if self.accept("IN"):
            return prefix + "IN", self.in_list()
        if prefix:
            self.unexpected("expected LIKE, ILIKE or IN after NOT")
        self.unexpected(
            f"expected an operator (=, !=, <, >, LIKE, ILIKE, IN, IS, ...) after {key_label(key)}"
        )

    def literal(self, where: str) -> Scalar | None:
        token = self.peek()
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if self.accept("NULL"):
            return None
        self.unexpected(f"expected a value (a quoted string, a number or NULL) {where}")

    def in_list(self) -> tuple[Scalar, ...]:
        if self.peek().kind != "(":
            self.unexpected("expected '(' after IN")
        self.advance()
        if self.peek().kind == ")":
            self.unexpected("empty IN list: expected at least one value")
        values: list[Scalar] = []
        while True:
            value = self.literal("in the IN list")
            if value is None:
                self.invalid("NULL is not allowed in an IN list; use IS NULL")
            values.append(value)
            if self.peek().kind == ")":
                self.advance()
                return tuple(values)
            if self.peek().kind != ",":
                self.unexpected("expected ',' or ')' in the IN list")
            self.advance()


def _check(node: Compare, field: str) -> Compare:
    """Enforce the type rules of the key's kind; returns the node with normalized op and value."""
    key, op, value = node.key, node.op, node.value
    if value is None and op in ("=", "!="):
        return Compare(key, "IS NULL" if op == "=" else "IS NOT NULL", None)
    if value is None and op not in _NULL_OPS:
        message = f"{key_label(key)} {op} NULL: NULL works only with IS NULL / IS NOT NULL"
        raise ValidationError(message, field=field)
    numeric = key.kind == "metric" or (
        key.kind == "attribute" and ATTRIBUTES.get(key.name) == "number"
    )
    values = value if isinstance(value, tuple) else () if value is None else (value,)
    if not numeric:  # a number for a string key is the likelier mistake than the operator
        _check_values(key, op, values, numeric, field)
    allowed = _NUMBER_OPS if numeric else _STRING_OPS
    if op not in allowed:
        message = (
            f"{key_label(key)} is {'numeric' if numeric else 'a string'} and cannot use {op}; "
            f"allowed operators: {', '.join(allowed)}"
        )
        if not numeric:
            message += "; to compare numerically, log the value as a metric"
        raise ValidationError(message, field=field)
    _check_values(key, op, values, numeric, field)
    if key == Key("attribute", "status") and op in ("=", "!=", "IN", "NOT IN"):
        return Compare(key, op, _status(value, field))
    return node


def _check_values(key: Key, op: str, values: tuple[Scalar, ...], numeric: bool, field: str) -> None:
    label = key_label(key)
    for value in values:
        if numeric and isinstance(value, str):
            hint = f"; write {value} without quotes" if _NUMBER.fullmatch(value) else ""
            message = f"{label} {op} {value!r}: {label} is numeric and takes numbers, not strings"
            raise ValidationError(message + hint, field=field)
        if not numeric and not isinstance(value, str):
            subject = {"param": "params are", "tag": "tags are"}.get(key.kind, f"{label} is")
            raise ValidationError(
                f"{label} {op} {_fmt(value)}: {subject} compared as strings, not numbers; "
                f"quote the value ('{_fmt(value)}') to compare text, or log it as a metric "
                "to compare numerically",
                field=field,
            )


def _status(value: Scalar | tuple[Scalar, ...] | None, field: str) -> str | tuple[str, ...]:
    items = value if isinstance(value, tuple) else (value,)
    normalized = tuple(str(item).upper() for item in items)
    for raw, upper in zip(items, normalized, strict=True):
        if upper not in _STATUSES:
            raise ValidationError(
                f"attributes.status: {raw!r} is not a run status; use {', '.join(_STATUSES)}",
                field=field,
            )
    return normalized if isinstance(value, tuple) else normalized[0]
