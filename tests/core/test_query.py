"""The run-search filter language and order_by parsing (pure, no storage)."""

from __future__ import annotations

import random

import pytest

from shipyard.core import query
from shipyard.core.errors import FilterSyntaxError, ShipyardError, ValidationError
from shipyard.core.query import (
    ATTRIBUTES,
    And,
    Compare,
    Key,
    Not,
    Or,
    OrderKey,
    key_label,
    parse_filter,
    parse_order_by,
)

M, P, T, A = "metric", "param", "tag", "attribute"


def cmp(kind: str, name: str, op: str, value: object) -> Compare:
    return Compare(Key(kind, name), op, value)  # type: ignore[arg-type]


def syntax_error(text: str) -> FilterSyntaxError:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.field == "filter"
    assert info.value.text == text
    return info.value


def validation_error(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_filter(text)
    assert not isinstance(info.value, FilterSyntaxError)
    assert info.value.field == "filter"
    return info.value


# ---------------------------------------------------------------- public surface
def test_all_is_sorted_and_complete() -> None:
    assert query.__all__ == sorted(query.__all__)
    for name in query.__all__:
        assert hasattr(query, name)


def test_attributes_mapping() -> None:
    assert dict(ATTRIBUTES) == {
        "end_time": "number",
        "experiment_id": "string",
        "parent_run_id": "string",
        "run_id": "string",
        "run_name": "string",
        "start_time": "number",
        "status": "string",
        "user": "string",
    }
    with pytest.raises(TypeError):
        ATTRIBUTES["x"] = "string"  # type: ignore[index]


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


# ---------------------------------------------------------------- keys
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.auc", Key(M, "auc")),
        ("metric.auc", Key(M, "auc")),
        ("METRICS.auc", Key(M, "auc")),
        ("metrics.val/loss", Key(M, "val/loss")),
        ("metrics.a-b:c_d.e", Key(M, "a-b:c_d.e")),
        ("metrics.1st", Key(M, "1st")),
        ("metrics.`my auc`", Key(M, "my auc")),
        ('metrics."my auc"', Key(M, "my auc")),
        ("metrics.`a``b`", Key(M, "a`b")),
        ("params.model", Key(P, "model")),
        ("param.x", Key(P, "x")),
        ("parameters.x", Key(P, "x")),
        ("params.model.depth", Key(P, "model.depth")),
        ("tags.team", Key(T, "team")),
        ("tag.x", Key(T, "x")),
        ("tags.mlflow.runName", Key(T, "mlflow.runName")),
        ('tags."mlflow.runName"', Key(T, "mlflow.runName")),
        ("tags.mlflow.`run Name`", Key(T, "mlflow.run Name")),
        ("attributes.run_name", Key(A, "run_name")),
        ("attribute.run_name", Key(A, "run_name")),
        ("attr.run_name", Key(A, "run_name")),
        ("run.run_name", Key(A, "run_name")),
        ("run_name", Key(A, "run_name")),
        ("RUN_NAME", Key(A, "run_name")),
        ("name", Key(A, "run_name")),
        ("attributes.`run name`", Key(A, "run_name")),
        ("run_id", Key(A, "run_id")),
        ("run_uuid", Key(A, "run_id")),
        ("id", Key(A, "run_id")),
        ("user_id", Key(A, "user")),
        ("user", Key(A, "user")),
        ("experiment_id", Key(A, "experiment_id")),
        ("parent_run_id", Key(A, "parent_run_id")),
    ],
)
def test_key_forms(text: str, key: Key) -> None:
    kind = "number" if key.kind == M else "string"
    value = "1" if kind == "number" else "'v'"
    node = parse_filter(f"{text} = {value}")
    assert isinstance(node, Compare)
    assert node.key == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("start_time", Key(A, "start_time")),
        ("attributes.end_time", Key(A, "end_time")),
        ("created", Key(A, "start_time")),
    ],
)
def test_number_attributes(text: str, key: Key) -> None:
    assert parse_filter(f"{text} >= 1700000000000") == Compare(key, ">=", 1.7e12)


def test_double_quotes_after_prefix_are_a_key_elsewhere_a_string() -> None:
    assert parse_filter('tags."a b" = "c d"') == cmp(T, "a b", "=", "c d")


def test_keyword_like_names_after_a_prefix_are_names() -> None:
    assert parse_filter("tags.and = 'x' or params.not = 'y'") == Or(
        (cmp(T, "and", "=", "x"), cmp(P, "not", "=", "y"))
    )


@pytest.mark.parametrize(
    ("key", "label"),
    [
        (Key(M, "auc"), "metrics.auc"),
        (Key(P, "model.depth"), "params.model.depth"),
        (Key(T, "mlflow.runName"), "tags.mlflow.runName"),
        (Key(A, "status"), "attributes.status"),
        (Key(M, "my auc"), "metrics.`my auc`"),
        (Key(T, "a`b"), "tags.`a``b`"),
    ],
)
def test_key_label(key: Key, label: str) -> None:
    assert key_label(key) == label


@pytest.mark.parametrize("name", ["x", "my auc", "a`b", "it's", 'say "hi"', "back\\'slash", "é/ü"])
def test_key_label_round_trips(name: str) -> None:
    for kind in (P, T):
        node = parse_filter(f"{key_label(Key(kind, name))} = 'v'")  # type: ignore[arg-type]
        assert isinstance(node, Compare)
        assert node.key == Key(kind, name)  # type: ignore[arg-type]


# ---------------------------------------------------------------- operators and literals
@pytest.mark.parametrize(
    ("op", "normalized"),
    [
        ("=", "="),
        ("==", "="),
        ("!=", "!="),
        ("<>", "!="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ],
)
def test_symbol_operators(op: str, normalized: str) -> None:
    assert parse_filter(f"metrics.auc {op} 0.5") == cmp(M, "auc", normalized, 0.5)
    assert parse_filter(f"metrics.auc{op}0.5") == cmp(M, "auc", normalized, 0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.m LIKE 'rf%'", cmp(P, "m", "LIKE", "rf%")),
        ("params.m like 'rf%'", cmp(P, "m", "LIKE", "rf%")),
        ("params.m ILIKE 'RF%'", cmp(P, "m", "ILIKE", "RF%")),
        ("params.m NOT LIKE 'rf%'", cmp(P, "m", "NOT LIKE", "rf%")),
        ("params.m not ilike 'rf%'", cmp(P, "m", "NOT ILIKE", "rf%")),
        ("tags.t IN ('a', 'b')", cmp(T, "t", "IN", ("a", "b"))),
        ("tags.t in ('a')", cmp(T, "t", "IN", ("a",))),
        ("tags.t NOT IN ('a','b',\"c\")", cmp(T, "t", "NOT IN", ("a", "b", "c"))),
        ("metrics.m IN (1, 2.5, -3)", cmp(M, "m", "IN", (1.0, 2.5, -3.0))),
        ("metrics.m NOT IN (1)", cmp(M, "m", "NOT IN", (1.0,))),
        ("metrics.m IS NULL", cmp(M, "m", "IS NULL", None)),
        ("metrics.m is not null", cmp(M, "m", "IS NOT NULL", None)),
        ("params.p IS NULL", cmp(P, "p", "IS NULL", None)),
        ("tags.t IS NOT NULL", cmp(T, "t", "IS NOT NULL", None)),
        ("end_time IS NULL", cmp(A, "end_time", "IS NULL", None)),
        ("tags.t = NULL", cmp(T, "t", "IS NULL", None)),
        ("metrics.m != null", cmp(M, "m", "IS NOT NULL", None)),
        ("run_name != 'x'", cmp(A, "run_name", "!=", "x")),
        ("attributes.run_id IN ('a','b')", cmp(A, "run_id", "IN", ("a", "b"))),
        ("start_time < 5", cmp(A, "start_time", "<", 5.0)),
        ("start_time IN (1, 2)", cmp(A, "start_time", "IN", (1.0, 2.0))),
    ],
)
def test_operators(text: str, expected: Compare) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0.0),
        ("42", 42.0),
        ("-1", -1.0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("-2.5e+2", -250.0),
        ("1700000000123", 1700000000123.0),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    node = parse_filter(f"metrics.x > {literal}")
    assert node == cmp(M, "x", ">", value)
    assert isinstance(node.value, float)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'abc'", "abc"),
        ('"abc"', "abc"),
        ("''", ""),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\\\b'", "a\\b"),
        ("'a\\%b'", "a\\%b"),
        ("'x\"y'", 'x"y'),
        ("'a AND b = (c)'", "a AND b = (c)"),
        ("'ünïcødé ✓'", "ünïcødé ✓"),
    ],
)
def test_strings(literal: str, value: str) -> None:
    assert parse_filter(f"params.p = {literal}") == cmp(P, "p", "=", value)


# ---------------------------------------------------------------- status
@pytest.mark.parametrize("value", ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"])
def test_status_values_normalized(value: str) -> None:
    assert parse_filter(f"status = '{value.lower()}'") == cmp(A, "status", "=", value)


def test_status_in_list_normalized() -> None:
    assert parse_filter("attributes.status NOT IN ('failed', 'Killed')") == cmp(
        A, "status", "NOT IN", ("FAILED", "KILLED")
    )


def test_status_like_is_left_alone() -> None:
    assert parse_filter("status LIKE 'fin%'") == cmp(A, "status", "LIKE", "fin%")


@pytest.mark.parametrize(
    "text", ["status = 'done'", "status != 'ok'", "status IN ('RUNNING', 'x')"]
)
def test_status_rejects_unknown_values(text: str) -> None:
    error = validation_error(text)
    assert "is not a run status" in error.message
    assert "FINISHED" in error.message


# ---------------------------------------------------------------- boolean structure
def test_precedence_and_binds_tighter_than_or() -> None:
    a, b, c = (cmp(M, n, ">", 1.0) for n in "abc")
    assert parse_filter("metrics.a > 1 OR metrics.b > 1 AND metrics.c > 1") == Or((a, And((b, c))))
    assert parse_filter("metrics.a > 1 AND metrics.b > 1 OR metrics.c > 1") == Or((And((a, b)), c))


def test_not_binds_tighter_than_and() -> None:
    a, b = cmp(M, "a", ">", 1.0), cmp(M, "b", ">", 1.0)
    assert parse_filter("NOT metrics.a > 1 AND metrics.b > 1") == And((Not(a), b))
    assert parse_filter("not (metrics.a > 1 and metrics.b > 1)") == Not(And((a, b)))
    assert parse_filter("NOT NOT metrics.a > 1") == Not(Not(a))
    assert parse_filter("NOT(metrics.a > 1)") == Not(a)


def test_parentheses_override_precedence() -> None:
    a, b, c = (cmp(M, n, ">", 1.0) for n in "abc")
    assert parse_filter("(metrics.a > 1 OR metrics.b > 1) AND metrics.c > 1") == And(
        (Or((a, b)), c)
    )
    assert parse_filter("((metrics.a > 1))") == a


def test_nested_and_or_are_flattened() -> None:
    a, b, c, d = (cmp(M, n, ">", 1.0) for n in "abcd")
    text = "metrics.a > 1 AND (metrics.b > 1 AND (metrics.c > 1 AND metrics.d > 1))"
    assert parse_filter(text) == And((a, b, c, d))
    text = "(metrics.a > 1 OR metrics.b > 1) OR (metrics.c > 1 OR metrics.d > 1)"
    assert parse_filter(text) == Or((a, b, c, d))
    text = "metrics.a > 1 AND (metrics.b > 1 OR metrics.c > 1)"
    assert parse_filter(text) == And((a, Or((b, c))))


def test_keywords_are_case_insensitive() -> None:
    text = "Metrics.a > 1 aNd NoT params.p LiKe 'x' oR tags.t iS nOt NuLl"
    assert parse_filter(text) == Or(
        (
            And((cmp(M, "a", ">", 1.0), Not(cmp(P, "p", "LIKE", "x")))),
            cmp(T, "t", "IS NOT NULL", None),
        )
    )


def test_mlflow_style_filter() -> None:
    text = "metrics.rmse < 1 and params.model = 'rf' and tags.mlflow.runName = 'x'"
    assert parse_filter(text) == And(
        (cmp(M, "rmse", "<", 1.0), cmp(P, "model", "=", "rf"), cmp(T, "mlflow.runName", "=", "x"))
    )


def test_nesting_up_to_the_limit_and_many_groups() -> None:
    a = cmp(M, "a", ">", 1.0)
    assert parse_filter("(" * 100 + "metrics.a > 1" + ")" * 100) == a
    assert parse_filter(" AND ".join(["(((metrics.a > 1)))"] * 200)) == And((a,) * 200)
    assert parse_filter("metrics.a > 1e308") == cmp(M, "a", ">", 1e308)


def test_whitespace_is_flexible() -> None:
    assert parse_filter("\n  metrics.a>1\tAND\nparams.b='c'  ") == And(
        (cmp(M, "a", ">", 1.0), cmp(P, "b", "=", "c"))
    )


def test_nodes_are_frozen_and_hashable() -> None:
    node = parse_filter("metrics.a IN (1, 2) OR NOT tags.t = 'x'")
    assert node is not None
    assert hash(node) == hash(parse_filter("metrics.a IN (1, 2) OR NOT tags.t = 'x'"))
    with pytest.raises(AttributeError):
        node.items = ()  # type: ignore[misc, union-attr]


# ---------------------------------------------------------------- syntax errors
@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("params.p = 'abc", 11, "unterminated string"),
        ('params.p = "abc', 11, "unterminated string"),
        ("params.p = 'it''s", 11, "unterminated string"),
        ("params.p = 'abc\\'", 11, "unterminated string"),
        ("metrics.`my auc > 1", 8, "unterminated quoted key name"),
        ('tags."abc = 1', 5, "unterminated quoted key name"),
        ("metrics.a > 1 AND", 17, "expected a key"),
        ("metrics.a > 1 OR ", 17, "got the end of the input"),
        ("AND metrics.a > 1", 0, "got 'AND'"),
        ("metrics.a >", 11, "expected a value"),
        ("metrics.a > AND metrics.b > 1", 12, "expected a value"),
        ("metrics.a", 9, "expected an operator"),
        ("metrics.a 1", 10, "expected an operator"),
        ("metrics.a NOT 1", 14, "expected LIKE, ILIKE or IN after NOT"),
        ("metrics.a IS 1", 13, "expected NULL after IS"),
        ("metrics.a IS NOT 1", 17, "expected NULL after IS NOT"),
        ("(metrics.a > 1", 14, "expected ')' to close the '(' at position 0"),
        ("((metrics.a > 1)", 16, "unbalanced parentheses"),
        ("metrics.a > 1)", 13, "no '(' to match this ')'"),
        ("()", 1, "expected a key"),
        ("metrics.a > 1 metrics.b > 2", 14, "expected AND, OR or the end"),
        ("metrics.a > 1 garbage", 14, "got 'garbage'"),
        ("metrics.a IN ()", 14, "empty IN list"),
        ("metrics.a IN 1", 13, "expected '(' after IN"),
        ("metrics.a IN (1, )", 17, "expected a value"),
        ("metrics.a IN (1 2)", 16, "expected ',' or ')'"),
        ("metrics.a IN (1", 15, "expected ',' or ')'"),
        ("metrics.a > 1 & metrics.b > 1", 14, "unexpected character '&'"),
        ("metrics.a ! 1", 10, "unexpected character '!'"),
        ("metrics.a > - 1", 12, "unexpected character '-'"),
        ("metrics.a > 1abc", 12, "invalid number '1abc'"),
        ("metrics.a > 1.2.3", 12, "invalid number '1.2.3'"),
        ("metrics.a > 1e", 12, "invalid number '1e'"),
        ("metrics. > 1", 8, "missing key name after 'metrics.'"),
        ("metrics.`` > 1", 8, "missing key name"),
        ("'x' = params.p", 0, "expected a key"),
        ("1 = metrics.a", 0, "expected a key"),
        ("NULL IS NULL", 0, "expected a key"),
        ("metrics.a > 1e999", 12, "out of range"),
        ("(" * 101 + "metrics.a > 1" + ")" * 101, 100, "nested deeper than 100"),
        ("NOT " * 101 + "metrics.a > 1", 400, "nested deeper than 100"),
    ],
)
def test_syntax_errors(text: str, position: int, fragment: str) -> None:
    error = syntax_error(text)
    assert error.position == position
    assert fragment in error.message
    assert error.message.endswith("\n" + text + "\n" + " " * position + "^")


# ---------------------------------------------------------------- semantic (type) errors
def test_param_compared_with_number_explains_strings() -> None:
    message = validation_error("params.lr > 0.1").message
    assert "params.lr" in message
    assert "0.1" in message
    assert "compared as strings" in message
    assert "quote" in message
    assert "metric" in message


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("params.lr = 1", ["params.lr = 1", "params are compared as strings", "'1'"]),
        ("tags.t = 2", ["tags.t", "tags are compared as strings"]),
        ("params.p IN ('a', 2)", ["params.p IN 2", "compared as strings"]),
        ("run_name = 3", ["attributes.run_name", "compared as strings"]),
        ("params.lr > '0.1'", ["params.lr", "cannot use >", "LIKE", "log the value as a metric"]),
        ("tags.t <= 'x'", ["tags.t", "cannot use <="]),
        ("metrics.m LIKE 'x%'", ["metrics.m is numeric", "cannot use LIKE", ">="]),
        ("metrics.m NOT ILIKE 'x%'", ["cannot use NOT ILIKE"]),
        ("start_time LIKE '1%'", ["attributes.start_time is numeric", "cannot use LIKE"]),
        ("metrics.m = 'abc'", ["metrics.m = 'abc'", "takes numbers, not strings"]),
        ("metrics.m = '0.5'", ["write 0.5 without quotes"]),
        ("metrics.m IN (1, 'a')", ["metrics.m IN 'a'", "not strings"]),
        ("end_time > 'yesterday'", ["attributes.end_time", "not strings"]),
        ("metrics.m > NULL", ["metrics.m > NULL", "IS NULL"]),
        ("params.p LIKE NULL", ["params.p LIKE NULL", "IS NULL"]),
        ("metrics.m IN (1, NULL)", ["NULL is not allowed in an IN list"]),
    ],
)
def test_type_errors(text: str, fragments: list[str]) -> None:
    message = validation_error(text).message
    for fragment in fragments:
        assert fragment in message


def test_unknown_bare_attribute_lists_attributes_and_prefixes() -> None:
    message = validation_error("accuracy > 0.9").message
    assert "unknown attribute 'accuracy'" in message
    for name in ATTRIBUTES:
        assert name in message
    assert "metrics.accuracy" in message
    assert "params.accuracy" in message


def test_unknown_prefixed_attribute() -> None:
    message = validation_error("attributes.color = 'red'").message
    assert "unknown attribute 'color'" in message
    assert "status" in message


def test_unknown_prefix() -> None:
    message = validation_error("metricz.auc > 1").message
    assert "unknown key prefix 'metricz.'" in message
    assert "metrics." in message
    assert "tags." in message


# ---------------------------------------------------------------- order_by
@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("metrics.auc DESC", OrderKey(Key(M, "auc"), True)),
        ("metrics.auc desc", OrderKey(Key(M, "auc"), True)),
        ("params.model", OrderKey(Key(P, "model"), False)),
        ("attributes.start_time asc", OrderKey(Key(A, "start_time"), False)),
        ("start_time", OrderKey(Key(A, "start_time"), False)),
        ("  tags.mlflow.runName   ASC ", OrderKey(Key(T, "mlflow.runName"), False)),
        ("metrics.`my auc` DESC", OrderKey(Key(M, "my auc"), True)),
        ('tags."a b"', OrderKey(Key(T, "a b"), False)),
        ("user_id", OrderKey(Key(A, "user"), False)),
    ],
)
def test_order_by(item: str, expected: OrderKey) -> None:
    assert parse_order_by([item]) == (expected,)


def test_order_by_several_and_empty() -> None:
    assert parse_order_by(None) == ()
    assert parse_order_by([]) == ()
    assert parse_order_by(["metrics.a DESC", "run_name"]) == (
        OrderKey(Key(M, "a"), True),
        OrderKey(Key(A, "run_name"), False),
    )
    assert parse_order_by("metrics.a DESC") == (OrderKey(Key(M, "a"), True),)


@pytest.mark.parametrize(
    ("item", "position", "fragment"),
    [
        ("", 0, "empty order_by item"),
        ("   ", 0, "empty order_by item"),
        ("metrics.auc up", 12, "expected ASC, DESC"),
        ("metrics.auc DESC ASC", 17, "got 'ASC'"),
        ("metrics.a, metrics.b", 9, "got ','"),
        ("DESC", 0, "expected a key"),
        ("metrics.a > 1", 10, "expected ASC, DESC"),
        ("'metrics.a'", 0, "expected a key"),
        ("metrics.`a", 8, "unterminated quoted key name"),
        ("metrics.", 8, "missing key name"),
    ],
)
def test_order_by_syntax_errors(item: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_order_by(["metrics.ok", item])
    assert info.value.field == "order_by"
    assert info.value.position == position
    assert info.value.text == item
    assert fragment in info.value.message


@pytest.mark.parametrize("item", ["accuracy DESC", "attributes.color", "bogus.x"])
def test_order_by_unknown_keys(item: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_order_by([item])
    assert not isinstance(info.value, FilterSyntaxError)
    assert info.value.field == "order_by"
    assert "unknown" in info.value.message


# ---------------------------------------------------------------- robustness
_FUZZ_PIECES = [
    "metrics.a", "params.p", "tags.t", "status", "start_time", "bogus", "AND", "OR", "NOT",
    "IN", "LIKE", "IS", "NULL", "(", ")", ",", "=", "!=", "<>", "<", ">=", "'x'", '"y', "'",
    "`", "1", "-2.5e3", "1e", ".", " ", "!", "&", "metrics.", "'FINISHED'", "é", "\\",
]  # fmt: skip


def test_random_input_only_raises_shipyard_errors() -> None:
    """Seeded fuzzing: any text parses or fails with a ShipyardError, never anything else."""
    rng = random.Random(20240611)
    for _ in range(3000):
        pieces = rng.choices(_FUZZ_PIECES, k=rng.randint(1, 12))
        text = "".join(p if rng.random() < 0.3 else p + " " for p in pieces)
        if rng.random() < 0.1:
            text = "".join(rng.choice("ab.'\"`()=<>!-1e ,\\") for _ in range(rng.randint(1, 10)))
        for parse in (parse_filter, lambda t: parse_order_by([t])):
            try:
                parse(text)
            except ShipyardError as e:
                if isinstance(e, FilterSyntaxError):
                    assert 0 <= e.position <= len(text)
