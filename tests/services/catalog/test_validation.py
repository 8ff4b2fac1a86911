"""Declarative dataset checks: spec parsing, pandera-backed validation, the report."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest

from shipyard.core.errors import ValidationError
from shipyard.services.catalog.validation import (
    CheckFailure,
    CheckSpec,
    ColumnSpec,
    RowCountSpec,
    ValidationReport,
    parse_checks,
    validate_frame,
)

HERE = "tests.services.catalog.test_validation"


# Custom checks referenced by "module:function" -------------------------------------------


def ages_are_adult(df: pd.DataFrame) -> pd.Series:
    return df["age"] >= 18


def always_true(df: pd.DataFrame) -> bool:
    return True


def always_false(df: pd.DataFrame) -> bool:
    return False


def explodes(df: pd.DataFrame) -> bool:
    raise ZeroDivisionError("no rows to divide by")


def returns_none(df: pd.DataFrame) -> None:
    return None


NOT_CALLABLE = 42


# Helpers -----------------------------------------------------------------------------------


def loans(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": pd.array([20 + i for i in range(n)], dtype="Int64"),
            "grade": ["A", "B"] * (n // 2) + ["A"] * (n % 2),
            "code": [f"{chr(65 + i % 26)}{chr(66 + i % 25)}" for i in range(n)],
            "income": [1000.5 * (i + 1) for i in range(n)],
            "id": list(range(n)),
        }
    )


def only(report: ValidationReport) -> CheckFailure:
    assert not report.passed
    assert len(report.failures) == 1, report.failures
    return report.failures[0]


def run(df: pd.DataFrame, column: str, checks: dict[str, object]) -> ValidationReport:
    return validate_frame(df, {"columns": {column: checks}})


# Passing -----------------------------------------------------------------------------------


def test_a_frame_meeting_every_check_passes_and_counts_its_checks() -> None:
    spec = {
        "row_count": {"min": 1, "max": 100},
        "strict": True,
        "custom": [f"{HERE}:ages_are_adult", f"{HERE}:always_true"],
        "columns": {
            "age": {"type": "int", "nullable": False, "min": 18, "max": 120, "unique": True},
            "grade": {"type": "str", "allowed": ["A", "B"]},
            "code": {"type": "str", "regex": "^[A-Z]{2}$"},
            "income": {"type": "float", "min": 0},
            "id": {"type": "int", "unique": True},
            "optional": {"required": False, "min": 0},
        },
    }
    report = validate_frame(loans(), spec)
    assert report.passed is True
    assert report.failures == ()
    assert report.rows == 6
    # strict + row_count + 2 custom; age 6, grade 3, code 3, income 3, id 3; optional absent: 0
    assert report.checks_run == 4 + 6 + 3 + 3 + 3 + 3
    assert report.summary_lines() == ["22 checks on 6 rows: all passed"]


def test_an_empty_spec_runs_no_checks_and_passes() -> None:
    report = validate_frame(loans(), {})
    assert (report.passed, report.checks_run, report.rows) == (True, 0, 6)


# Column checks failing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("checks", "check", "count", "examples"),
    [
        ({"min": 23}, "greater_than_or_equal_to(23)", 3, ("20", "21", "22")),
        ({"max": 21}, "less_than_or_equal_to(21)", 4, ("22", "23", "24", "25")),
        ({"allowed": [20, 25]}, "isin([20, 25])", 4, ("21", "22", "23", "24")),
    ],
)
def test_a_failing_value_check_reports_column_check_and_offending_values(
    checks: dict[str, object], check: str, count: int, examples: tuple[str, ...]
) -> None:
    failure = only(run(loans(), "age", checks))
    assert failure == CheckFailure("age", check, count, examples, "values")


def test_allowed_values_on_a_string_column_quote_the_offenders() -> None:
    df = pd.DataFrame({"grade": ["A", "C", "", "A", "D"]})
    failure = only(run(df, "grade", {"allowed": ["A", "B"]}))
    assert (failure.column, failure.check) == ("grade", "isin(['A', 'B'])")
    assert failure.failure_count == 3
    assert failure.examples == ("'C'", "''", "'D'")


def test_regex_reports_strings_that_do_not_match() -> None:
    df = pd.DataFrame({"code": ["AB", "abc", "A1", "CD", None]})
    failure = only(run(df, "code", {"regex": "^[A-Z]{2}$"}))
    assert (failure.column, failure.check) == ("code", "str_matches('^[A-Z]{2}$')")
    assert (failure.failure_count, failure.examples) == (2, ("'abc'", "'A1'"))


def test_unique_reports_every_duplicated_row_once_per_value_in_examples() -> None:
    df = pd.DataFrame({"id": [1, 2, 2, 3, 3, 3]})
    failure = only(run(df, "id", {"unique": True}))
    assert (failure.column, failure.check) == ("id", "field_uniqueness")
    assert failure.failure_count == 5
    assert failure.examples == ("2", "3")


def test_examples_stop_at_five_distinct_values() -> None:
    df = pd.DataFrame({"n": list(range(20))})
    failure = only(run(df, "n", {"min": 100}))
    assert failure.failure_count == 20
    assert failure.examples == ("0", "1", "2", "3", "4")


def test_long_values_are_shortened_in_examples() -> None:
    df = pd.DataFrame({"s": ["x" * 500]})
    (example,) = only(run(df, "s", {"allowed": ["y"]})).examples
    assert len(example) == 100 and example.endswith("...")


def test_datetime_bounds_accept_toml_dates() -> None:
    df = pd.DataFrame({"when": pd.to_datetime(["2019-06-01", "2021-01-01", "2031-01-01"])})
    checks = {"type": "datetime", "min": dt.date(2020, 1, 1), "max": dt.datetime(2030, 1, 1)}
    report = run(df, "when", checks)
    assert [(f.check, f.failure_count) for f in report.failures] == [
        ("greater_than_or_equal_to(2020-01-01 00:00:00)", 1),
        ("less_than_or_equal_to(2030-01-01 00:00:00)", 1),
    ]
    assert report.failures[0].examples == ("2019-06-01 00:00:00",)


def test_a_check_that_cannot_run_on_the_column_is_a_failure_not_a_crash() -> None:
    df = pd.DataFrame({"grade": ["A", "B"]})
    failure = only(run(df, "grade", {"min": 1}))
    assert (failure.column, failure.check, failure.example_kind) == (
        "grade",
        "greater_than_or_equal_to(1)",
        "found",
    )
    assert "TypeError" in failure.examples[0]


# Nullability -------------------------------------------------------------------------------


def test_nullable_false_reports_null_rows_by_index() -> None:
    df = pd.DataFrame({"age": pd.array([30, None, 40, None], dtype="Int64")})
    failure = only(run(df, "age", {"nullable": False}))
    assert failure == CheckFailure("age", "not_nullable", 2, ("1", "3"), "index")


def test_columns_are_nullable_by_default_and_value_checks_skip_nulls() -> None:
    df = pd.DataFrame({"age": [30.0, None, 40.0], "code": ["AB", None, "CD"]})
    spec = {"columns": {"age": {"min": 18}, "code": {"type": "str", "regex": "^[A-Z]{2}$"}}}
    assert validate_frame(df, spec).passed


# Types -------------------------------------------------------------------------------------


def test_a_str_column_declared_int_is_a_dtype_failure_naming_the_actual_dtype() -> None:
    df = pd.DataFrame({"age": ["20", "30"]})
    failure = only(run(df, "age", {"type": "int"}))
    assert (failure.column, failure.check, failure.failure_count) == ("age", "dtype(int)", 1)
    assert failure.example_kind == "found"
    assert failure.examples in (("str",), ("object",), ("string",))


@pytest.mark.parametrize(
    ("kind", "series"),
    [
        ("int", pd.Series([1, 2], dtype="int64")),
        ("int", pd.Series([1, 2], dtype="int8")),
        ("int", pd.Series([1, 2], dtype="uint32")),
        ("int", pd.Series([1, None], dtype="Int64")),
        ("float", pd.Series([1.5, None], dtype="float32")),
        ("float", pd.Series([1.5, None], dtype="Float64")),
        ("str", pd.Series(["a", None])),
        ("str", pd.Series(["a", None], dtype=object)),
        ("str", pd.Series(["a", None], dtype="string")),
        ("bool", pd.Series([True, False])),
        ("bool", pd.Series([True, None], dtype="boolean")),
        ("datetime", pd.to_datetime(pd.Series(["2024-01-01", None]))),
        ("datetime", pd.to_datetime(pd.Series(["2024-01-01"])).dt.tz_localize("UTC")),
        ("category", pd.Series(["a", "b"], dtype="category")),
    ],
)
def test_types_are_tolerant_of_dtype_variants(kind: str, series: pd.Series) -> None:
    report = run(pd.DataFrame({"c": series}), "c", {"type": kind})
    assert report.passed, report.summary_lines()
    assert report.checks_run == 2


@pytest.mark.parametrize(
    ("kind", "series"),
    [
        ("int", pd.Series([1.0, 2.0])),
        ("int", pd.Series([True, False])),
        ("float", pd.Series([1, 2])),
        ("str", pd.Series([1, 2])),
        ("bool", pd.Series([0, 1])),
        ("datetime", pd.Series(["2024-01-01"])),
        ("category", pd.Series(["a", "b"])),
    ],
)
def test_types_reject_other_dtypes(kind: str, series: pd.Series) -> None:
    failure = only(run(pd.DataFrame({"c": series}), "c", {"type": kind}))
    assert (failure.check, failure.examples) == (f"dtype({kind})", (str(series.dtype),))


def test_an_object_column_declared_str_reports_its_non_string_values() -> None:
    df = pd.DataFrame({"c": pd.Series(["a", 7, None, 2.5, "b"], dtype=object)})
    failure = only(run(df, "c", {"type": "str"}))
    assert failure == CheckFailure("c", "dtype(str)", 2, ("7", "2.5"), "values")


# Presence and strictness -------------------------------------------------------------------


def test_a_missing_required_column_is_reported_under_its_name() -> None:
    report = validate_frame(loans(), {"columns": {"score": {"min": 0}, "zip": {}}})
    assert [(f.column, f.check) for f in report.failures] == [
        ("score", "column_in_dataframe"),
        ("zip", "column_in_dataframe"),
    ]
    assert report.checks_run == 2  # presence only: the value check cannot run
    assert "column 'score': check 'column_in_dataframe' failed" in report.summary_lines()


def test_a_missing_optional_column_is_fine() -> None:
    report = validate_frame(loans(), {"columns": {"score": {"required": False, "min": 0}}})
    assert (report.passed, report.checks_run) == (True, 0)


def test_strict_mode_reports_undeclared_columns() -> None:
    spec = {"strict": True, "columns": {"age": {}, "grade": {}, "code": {}}}
    failure = only(validate_frame(loans(), spec))
    assert failure == CheckFailure(None, "column_in_schema", 2, ("income", "id"), "found")


def test_without_strict_undeclared_columns_are_fine() -> None:
    assert validate_frame(loans(), {"columns": {"age": {}}}).passed


# Row count ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "rows", "passed", "check"),
    [
        ({"min": 5}, 5, True, "row_count(min=5)"),
        ({"min": 5}, 4, False, "row_count(min=5)"),
        ({"max": 5}, 5, True, "row_count(max=5)"),
        ({"max": 5}, 6, False, "row_count(max=5)"),
        ({"min": 2, "max": 3}, 1, False, "row_count(min=2, max=3)"),
        ({"min": 2, "max": 3}, 3, True, "row_count(min=2, max=3)"),
        ({"min": 1}, 0, False, "row_count(min=1)"),
    ],
)
def test_row_count_bounds_are_inclusive(
    bounds: dict[str, int], rows: int, passed: bool, check: str
) -> None:
    report = validate_frame(loans(rows), {"row_count": bounds})
    assert (report.passed, report.checks_run, report.rows) == (passed, 1, rows)
    if not passed:
        assert only(report) == CheckFailure(None, check, 1, (str(rows),), "found")


# Custom checks -----------------------------------------------------------------------------


def test_custom_checks_that_pass() -> None:
    spec = {"custom": [f"{HERE}:always_true", f"{HERE}:ages_are_adult"]}
    report = validate_frame(loans(), spec)
    assert (report.passed, report.checks_run) == (True, 2)


def test_a_custom_check_returning_false_fails_the_dataset() -> None:
    failure = only(validate_frame(loans(), {"custom": [f"{HERE}:always_false"]}))
    assert failure == CheckFailure(None, f"custom({HERE}:always_false)", 1, (), "found")


def test_a_custom_row_check_reports_failing_rows_by_index() -> None:
    df = loans()
    df.loc[[1, 4], "age"] = 12
    failure = only(validate_frame(df, {"custom": [f"{HERE}:ages_are_adult"]}))
    assert failure == CheckFailure(None, f"custom({HERE}:ages_are_adult)", 2, ("1", "4"), "index")


def test_a_custom_check_that_raises_is_a_failure_naming_function_and_exception() -> None:
    report = validate_frame(loans(), {"custom": [f"{HERE}:explodes", f"{HERE}:always_true"]})
    failure = only(report)
    assert failure.check == f"custom({HERE}:explodes)"
    assert failure.example_kind == "found"
    assert "ZeroDivisionError" in failure.examples[0]
    assert "no rows to divide by" in failure.examples[0]
    assert report.checks_run == 2


def test_a_custom_check_returning_a_non_boolean_is_a_failure() -> None:
    failure = only(validate_frame(loans(), {"custom": [f"{HERE}:returns_none"]}))
    assert "TypeError" in failure.examples[0] and "NoneType" in failure.examples[0]


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("tests.no_such_module_here:check", "ModuleNotFoundError"),
        (f"{HERE}:no_such_function", "AttributeError"),
        (f"{HERE}:NOT_CALLABLE", "not callable"),
    ],
)
def test_an_unimportable_custom_check_is_a_validation_error_naming_it(
    ref: str, reason: str
) -> None:
    spec = {"custom": [f"{HERE}:always_true", ref]}
    with pytest.raises(ValidationError) as info:
        validate_frame(loans(), spec)
    assert ref in info.value.message and reason in info.value.message
    assert info.value.field == "checks.custom[1]"


# Redaction ---------------------------------------------------------------------------------


def test_redacted_columns_report_index_labels_never_values() -> None:
    df = pd.DataFrame({"email": ["a@x.io", "secret@corp.com", "b@x.io"]})
    report = validate_frame(df, {"columns": {"email": {"regex": r"^\w@x\.io$"}}}, redact={"email"})
    failure = only(report)
    assert failure == CheckFailure("email", failure.check, 1, ("1",), "index")
    assert "secret" not in json.dumps(report.to_dict())


# Bad specs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"colums": {}}, "checks.colums", ["colums", "columns, custom, row_count, strict"]),
        ({"columns": {"age": {"minimum": 1}}}, "checks.columns.age.minimum", ["min", "max"]),
        ({"columns": {"a b": {"mn": 1}}}, 'checks.columns."a b".mn', ["allowed"]),
        ({"row_count": {"least": 1}}, "checks.row_count.least", ["max, min"]),
        ({"columns": {"age": {"min": "x"}}}, "checks.columns.age.min", ["number", "'x'"]),
        ({"columns": {"age": {"max": True}}}, "checks.columns.age.max", ["number"]),
        ({"columns": {"age": {"min": float("nan")}}}, "checks.columns.age.min", ["NaN"]),
        ({"columns": {"age": {"min": 5, "max": 1}}}, "checks.columns.age.min", ["above"]),
        ({"columns": {"g": {"allowed": "A"}}}, "checks.columns.g.allowed", ["list"]),
        ({"columns": {"g": {"allowed": []}}}, "checks.columns.g.allowed", ["non-empty"]),
        ({"columns": {"g": {"allowed": ["A", {}]}}}, "checks.columns.g.allowed[1]", ["dict"]),
        ({"columns": {"g": {"type": "integer"}}}, "checks.columns.g.type", ["int, float, str"]),
        ({"columns": {"g": {"nullable": "no"}}}, "checks.columns.g.nullable", ["true or false"]),
        ({"columns": {"g": {"required": 1}}}, "checks.columns.g.required", ["true or false"]),
        ({"columns": {"g": {"unique": None}}}, "checks.columns.g.unique", ["true or false"]),
        ({"columns": {"g": {"regex": "("}}}, "checks.columns.g.regex", ["regular expression"]),
        ({"columns": {"g": {"regex": 5}}}, "checks.columns.g.regex", ["regular expression"]),
        ({"columns": {"g": {"type": "str", "min": 1}}}, "checks.columns.g.min", ["numeric"]),
        ({"columns": {"g": {"type": "int", "regex": "x"}}}, "checks.columns.g.regex", ["str"]),
        ({"columns": {"g": 5}}, "checks.columns.g", ["table"]),
        ({"columns": ["g"]}, "checks.columns", ["table"]),
        ({"strict": "yes"}, "checks.strict", ["true or false"]),
        ({"row_count": 5}, "checks.row_count", ["table"]),
        ({"row_count": {}}, "checks.row_count", ["min, max or both"]),
        ({"row_count": {"min": -1}}, "checks.row_count.min", ["non-negative integer"]),
        ({"row_count": {"max": 2.5}}, "checks.row_count.max", ["non-negative integer"]),
        ({"row_count": {"min": 3, "max": 2}}, "checks.row_count.min", ["above"]),
        ({"custom": "m:f"}, "checks.custom", ["list"]),
        ({"custom": ["m.f"]}, "checks.custom[0]", ["module:function"]),
        ({"custom": ["m:f", 3]}, "checks.custom[1]", ["module:function"]),
        ({"custom": ["m:f", "m:f"]}, "checks.custom[1]", ["repeats"]),
    ],
)
def test_a_bad_spec_names_the_key_path_and_what_is_allowed(
    spec: dict[str, object], field: str, words: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_checks(spec)
    assert info.value.field == field
    for word in words:
        assert word in info.value.message
    with pytest.raises(ValidationError):  # validate_frame parses a mapping the same way
        validate_frame(loans(), spec)


def test_the_key_path_starts_at_the_given_field() -> None:
    with pytest.raises(ValidationError) as info:
        parse_checks({"columns": {"age": {"min": "x"}}}, field="data.loans.checks")
    assert info.value.field == "data.loans.checks.columns.age.min"
    assert info.value.message.startswith("data.loans.checks.columns.age.min must be")


def test_a_non_mapping_spec_and_a_non_frame_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        parse_checks(["columns"])  # type: ignore[arg-type]
    assert info.value.field == "checks"
    with pytest.raises(ValidationError) as info:
        validate_frame([{"age": 1}], {})  # type: ignore[arg-type]
    assert info.value.field == "df"


# Spec and report round trips ---------------------------------------------------------------


def test_parse_checks_builds_the_frozen_spec_and_to_dict_round_trips() -> None:
    raw = {
        "row_count": {"min": 100, "max": 1_000_000},
        "custom": ["mypkg.checks:no_future_dates"],
        "strict": True,
        "columns": {
            "age": {"type": "int", "nullable": False, "min": 18, "max": 120, "unique": True},
            "grade": {"allowed": ["A", "B"], "required": False},
            "code": {"type": "str", "regex": "^[A-Z]{2}$"},
        },
    }
    spec = parse_checks(raw)
    assert spec.row_count == RowCountSpec(min=100, max=1_000_000)
    assert spec.columns[0] == ColumnSpec(
        "age", type="int", nullable=False, min=18, max=120, unique=True
    )
    assert spec.columns[1].allowed == ("A", "B")
    assert spec.to_dict() == raw
    assert parse_checks(spec.to_dict()) == spec
    assert CheckSpec().to_dict() == {}
    with pytest.raises(AttributeError):
        spec.strict = False  # type: ignore[misc]


def test_a_parsed_spec_validates_like_the_mapping() -> None:
    raw = {"columns": {"age": {"min": 22}}}
    assert validate_frame(loans(), parse_checks(raw)) == validate_frame(loans(), raw)


def failing_report() -> ValidationReport:
    df = loans()
    df.loc[0, "grade"] = "Z"
    spec = {
        "row_count": {"min": 10},
        "columns": {"age": {"min": 22, "type": "float"}, "grade": {"allowed": ["A", "B"]}},
    }
    return validate_frame(df, spec)


def test_report_to_dict_is_json_safe_and_round_trips() -> None:
    report = failing_report()
    body = json.loads(json.dumps(report.to_dict()))
    assert body["passed"] is False and body["checks_run"] == 6 and body["rows"] == 6
    assert body["failures"][0] == {
        "column": None,
        "check": "row_count(min=10)",
        "failure_count": 1,
        "examples": ["6"],
        "example_kind": "found",
    }
    assert ValidationReport.from_dict(body) == report
    assert ValidationReport.from_dict({**body, "spec": {"x": 1}}) == report


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"passed": True, "checks_run": 1, "rows": 1},
        {"passed": True, "checks_run": 1, "rows": 1, "failures": [{"column": None}]},
        {"passed": True, "checks_run": "x", "rows": 1, "failures": []},
        {
            "passed": False,
            "checks_run": 1,
            "rows": 1,
            "failures": [
                {
                    "column": "a",
                    "check": "c",
                    "failure_count": 1,
                    "examples": [],
                    "example_kind": "?",
                }
            ],
        },
    ],
)
def test_from_dict_rejects_what_is_not_a_report(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ValidationReport.from_dict(body)


def test_summary_lines_say_what_failed_where_and_with_which_values() -> None:
    assert failing_report().summary_lines() == [
        "6 checks on 6 rows: 4 failed",
        "dataset: check 'row_count(min=10)' failed (found: 6)",
        "column 'age': check 'dtype(float)' failed (found: Int64)",
        "column 'age': check 'greater_than_or_equal_to(22)' failed for 2 rows, e.g. 20, 21",
        "column 'grade': check 'isin(['A', 'B'])' failed for 1 row, e.g. 'Z'",
    ]


def test_summary_line_wording_per_example_kind() -> None:
    lines = ValidationReport(
        passed=False,
        checks_run=1,
        rows=9,
        failures=(
            CheckFailure(None, "custom(m:f)", 2, ("3", "7"), "index"),
            CheckFailure("x", "not_nullable", 1, ("4",), "index"),
            CheckFailure("x", "greater_than_or_equal_to(0)", 3, ("-1", "-2"), "values"),
            CheckFailure(None, "custom(m:g)", 1, (), "found"),
        ),
    ).summary_lines()
    assert lines == [
        "1 check on 9 rows: 4 failed",
        "dataset: check 'custom(m:f)' failed for 2 rows, e.g. at index 3, 7",
        "column 'x': check 'not_nullable' failed for 1 row, e.g. at index 4",
        "column 'x': check 'greater_than_or_equal_to(0)' failed for 3 rows, e.g. -1, -2",
        "dataset: check 'custom(m:g)' failed",
    ]


# Import weight -----------------------------------------------------------------------------


def test_importing_the_module_does_not_import_pandera() -> None:
    code = (
        "import sys, shipyard.services.catalog.validation as v; "
        "print(any(m == 'pandera' or m.startswith('pandera.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
