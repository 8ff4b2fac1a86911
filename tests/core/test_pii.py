"""PII detection, column-name hints, masking and tokenizing (pure, no storage)."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import hmac
import inspect
import math
import re
import sys
from collections.abc import Iterator

import pytest

from shipyard.core import pii
from shipyard.core.errors import ValidationError
from shipyard.core.pii import (
    PiiFinding,
    PiiKind,
    PiiPolicy,
    classify_value,
    detect_column,
    mask_value,
    name_hint,
    new_key,
    tokenize_value,
)

E, PH, IB, CC, NID, IP, PER = (
    PiiKind.EMAIL,
    PiiKind.PHONE,
    PiiKind.IBAN,
    PiiKind.CREDIT_CARD,
    PiiKind.NATIONAL_ID,
    PiiKind.IP_ADDRESS,
    PiiKind.PERSON,
)

# Raw values that must never show up in findings, reprs or error messages.
RAW = [
    "jane.doe@example.com",
    "4111111111111111",
    "GB82 WEST 1234 5698 7654 32",
    "+44 20 7946 0958",
    "123-45-6789",
    "192.168.1.10",
]


def finding(column: str, values: list[object], **kwargs: object) -> PiiFinding:
    result = detect_column(column, values, **kwargs)  # type: ignore[arg-type]
    assert result is not None
    return result


# ---------------------------------------------------------------- public surface
def test_all_is_sorted_and_complete() -> None:
    assert pii.__all__ == sorted(pii.__all__)
    for name in pii.__all__:
        assert hasattr(pii, name)


def test_core_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(inspect.getsource(pii))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots - {"shipyard"} <= sys.stdlib_module_names
    assert "re" in roots


def test_enum_values() -> None:
    assert [k.value for k in PiiKind] == [
        "email",
        "phone",
        "iban",
        "credit_card",
        "national_id",
        "ip_address",
        "person",
    ]
    assert [p.value for p in PiiPolicy] == ["keep", "mask", "tokenize", "drop"]


# ---------------------------------------------------------------- PiiPolicy.parse
@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("keep", PiiPolicy.KEEP),
        ("MASK", PiiPolicy.MASK),
        (" Tokenize ", PiiPolicy.TOKENIZE),
        ("drop", PiiPolicy.DROP),
        (PiiPolicy.DROP, PiiPolicy.DROP),
    ],
)
def test_policy_parse(value: object, policy: PiiPolicy) -> None:
    assert PiiPolicy.parse(value) is policy


@pytest.mark.parametrize("value", ["hash", "", None, 3, "jane.doe@example.com", "keep it"])
def test_policy_parse_error_lists_allowed_and_names_field(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        PiiPolicy.parse(value, field="pii.email")
    assert info.value.field == "pii.email"
    assert "keep, mask, tokenize, drop" in info.value.message
    assert info.value.message.startswith("pii.email must be one of")


@pytest.mark.parametrize("raw", RAW)
def test_policy_parse_error_never_echoes_the_value(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        PiiPolicy.parse(raw)
    assert raw not in str(info.value)
    assert raw not in repr(info.value)
    assert raw not in str(info.value.to_dict())


# ---------------------------------------------------------------- classify_value
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("jane.doe@example.com", E),
        ("J.O'Neil+news@mail.example.co.uk", E),
        ("  padded@example.org  ", E),
        ("4111111111111111", CC),
        ("4111 1111 1111 1111", CC),
        ("4111-1111-1111-1111", CC),
        ("5500005555555559", CC),
        ("2221000000000009", CC),
        ("378282246310005", CC),
        ("6011111111111117", CC),
        ("3782 822463 10005", CC),  # fits the phone shape too: the card check runs first
        ("GB82 WEST 1234 5698 7654 32", IB),
        ("GB82WEST12345698765432", IB),
        ("DE89370400440532013000", IB),
        ("de89370400440532013000", IB),
        ("+44 20 7946 0958", PH),
        ("(555) 123-4567", PH),
        ("555-123-4567", PH),
        ("555.123.4567", PH),
        ("+14155552671", PH),
        ("+1 (555) 123-4567", PH),
        ("1-800-555-1234", PH),
        ("+33 1 23 45 67 89", PH),
        ("030 12345678", PH),
        ("123-45-6789", NID),
        ("AB123456C", NID),
        ("AB 12 34 56 C", NID),
        ("184127645108946", NID),
        ("1 84 12 76 451 089 46", NID),
        ("185072A12345665", NID),  # Corsican department 2A
        ("192.168.1.10", IP),
        ("8.8.8.8", IP),
        ("255.255.255.255", IP),
        ("2001:db8::1", IP),
        ("fe80::1ff:fe23:4567:890a", IP),
    ],
)
def test_classify_positive(text: str, kind: PiiKind) -> None:
    assert classify_value(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "N/A",
        "hello",
        "John Smith",
        "12345",
        "12345678",  # bare digits are ids, not phones
        "123456789012",
        "1700000000000",  # epoch milliseconds
        "-42",
        "3.14159",
        "1234.5678",
        "1,234.56",
        "$1,234.56",
        "12.345.678",
        "1e10",
        "2024-01-15",
        "15/01/2024",
        "15.01.2024",
        "01/15/2024",
        "2024-01-15 10:30:00",
        "10:30:00",
        "true",
        "a@b",
        "@example.com",
        "user@@example.com",
        "a b@example.com",
        "x" * 300 + "@example.com",
    ],
)
def test_classify_negative(text: str) -> None:
    assert classify_value(text) is None


@pytest.mark.parametrize(
    ("valid", "invalid"),
    [
        ("4111111111111111", "4111111111111112"),
        ("5500005555555559", "5500005555555558"),
        ("378282246310005", "378282246310006"),
        ("4111 1111 1111 1111", "4111 1111 1111 1112"),
    ],
)
def test_card_needs_luhn(valid: str, invalid: str) -> None:
    assert classify_value(valid) is CC
    assert classify_value(invalid) is None


@pytest.mark.parametrize(
    "text",
    [
        "0000000000000000",  # placeholder, passes Luhn
        "1234567812345670",  # Luhn-valid but no issuer starts with 1
        "411111111111",  # 12 digits: too short
        "41111111111111111113",  # 20 digits: too long
        "4111 1111-1111 1111",  # mixed separators
    ],
)
def test_card_shape_guards(text: str) -> None:
    assert classify_value(text) is not CC


@pytest.mark.parametrize(
    "text",
    [
        "GB83 WEST 1234 5698 7654 32",
        "GB82 WEST 1234 5698 7654 33",
        "DE89370400440532013001",
        "DE98370400440532013000",
        "GB82 WES T123 4569 8765 432",  # spaces not every four
        "GB82WEST123",  # too short
    ],
)
def test_iban_needs_mod97(text: str) -> None:
    assert classify_value(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-6789",
        "123-45-0000",
        "QQ123456C",  # Q is never a first letter
        "GB123456A",  # reserved prefix
        "AB123456E",  # suffix must be A-D
        "184127645108947",  # wrong INSEE key
        "184137645108946",  # month 13
    ],
)
def test_national_id_negative(text: str) -> None:
    # Invalid SSNs are not reported as phones either: ddd-dd-dddd is no phone format.
    assert classify_value(text) is None


@pytest.mark.parametrize("text", ["256.1.1.1", "10.0.0.256", "1.2.3", "1.2.3.4.5", "::", "0.0.0.0"])
def test_ip_negative(text: str) -> None:
    assert classify_value(text) is not IP


# ---------------------------------------------------------------- name_hint
@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("email", E),
        ("customerEmail", E),
        ("EMAIL_ADDR", E),
        ("e_mail", E),
        ("eMail", E),
        ("mail", E),
        ("email_address", E),  # EMAIL beats the generic "address"
        ("phone-number", PH),
        ("mobile", PH),
        ("tel", PH),
        ("iban", IB),
        ("card", CC),
        ("cc_number", CC),
        ("ccNumber", CC),
        ("credit_card", CC),
        ("pan", CC),
        ("ssn", NID),
        ("national_id", NID),
        ("nin", NID),
        ("passport_no", NID),
        ("tax_id", NID),
        ("social_security_number", NID),
        ("ip", IP),
        ("ip_address", IP),
        ("IPv4", IP),
        ("userIPAddress", IP),
        ("client ip", IP),
        ("first_name", PER),
        ("lastName", PER),
        ("full_name", PER),
        ("name", PER),
        ("customer_name", PER),
        ("surname", PER),
        ("address", PER),
        ("shipping_address", PER),
        ("street", PER),
        ("dob", PER),
        ("DOB", PER),
        ("date_of_birth", PER),
        ("dateOfBirth", PER),
        ("birth_date", PER),
    ],
)
def test_name_hint_positive(column: str, kind: PiiKind) -> None:
    assert name_hint(column) is kind


@pytest.mark.parametrize(
    "column",
    [
        "",
        "domain",
        "tipping",
        "mailbox_count",
        "zip",
        "zipCode",
        "description",
        "shipping",
        "pancake",
        "Japan",
        "hotel",
        "hostname",
        "file_name",
        "model_name",
        "product_name",
        "mac_address",
        "amount",
        "id",
        "user_id",
        "created_at",
    ],
)
def test_name_hint_false_positive_guards(column: str) -> None:
    assert name_hint(column) is None


# ---------------------------------------------------------------- detect_column
def test_detect_by_values() -> None:
    result = finding("contact", ["a@example.com", "b@example.org", "c@example.net", "n/a"])
    assert result == PiiFinding("contact", E, "values", 0.75, 4)


def test_detect_ratio_threshold() -> None:
    values = ["a@example.com"] * 3 + ["x"] * 7
    assert finding("col", values).match_ratio == pytest.approx(0.3)
    assert detect_column("col", values, min_ratio=0.31) is None
    assert detect_column("col", ["a@example.com"] * 2 + ["x"] * 8) is None


def test_detect_skips_nulls_and_blanks() -> None:
    values: list[object] = [None, float("nan"), "", "  ", "a@example.com", "x"]
    result = finding("col", values)
    assert (result.kind, result.sampled, result.match_ratio) == (E, 2, 0.5)


def test_detect_value_evidence_wins_over_name() -> None:
    result = finding("email", ["+44 20 7946 0958", "(555) 123-4567", "x"])
    assert (result.kind, result.source) == (PH, "values")


def test_detect_falls_back_to_name_hint() -> None:
    result = finding("customer_email", ["x", "y", "z", "a@example.com"], min_ratio=0.5)
    assert result == PiiFinding("customer_email", E, "name", 1.0, 4)


def test_detect_person_from_name_only() -> None:
    assert finding("full_name", ["Jane Doe", "John Roe"]).kind is PER
    assert detect_column("notes", ["Jane Doe", "John Roe"]) is None


def test_detect_nothing() -> None:
    assert detect_column("amount", [1, 2.5, "3", None]) is None
    assert detect_column("amount", []) is None


def test_detect_empty_column_with_name_hint() -> None:
    assert finding("phone", [None, None]) == PiiFinding("phone", PH, "name", 1.0, 0)


def test_detect_int_card_numbers() -> None:
    result = finding("x", [4111111111111111, 5500005555555559, 378282246310005])
    assert (result.kind, result.match_ratio, result.sampled) == (CC, 1.0, 3)


def test_detect_float_card_numbers_from_an_int_column_with_gaps() -> None:
    result = finding("x", [4111111111111111.0, float("nan"), 5500005555555559.0])
    assert (result.kind, result.sampled) == (CC, 2)


def test_detect_plain_ints_are_not_pii() -> None:
    assert detect_column("x", list(range(1_000_000_000, 1_000_001_000))) is None


def test_detect_dominant_kind() -> None:
    values = ["a@example.com"] * 2 + ["192.168.0.1"] * 5 + ["x"] * 3
    assert finding("col", values).kind is IP


def test_detect_reads_at_most_sample_values() -> None:
    def values() -> Iterator[object]:
        yield from ["a@example.com"] * 5
        raise AssertionError("read past the sample")

    assert finding("col", values(), sample=5).sampled == 5  # type: ignore[arg-type]


def test_detect_sample_counts_non_null_values_only() -> None:
    values = [None] * 10 + ["a@example.com"] * 3
    assert finding("col", values, sample=3).sampled == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sample": 0}, "sample"),
        ({"sample": True}, "sample"),
        ({"sample": 1.5}, "sample"),
        ({"min_ratio": 0}, "min_ratio"),
        ({"min_ratio": 1.1}, "min_ratio"),
        ({"min_ratio": "0.5"}, "min_ratio"),
    ],
)
def test_detect_bad_arguments(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        detect_column("col", ["jane.doe@example.com"], **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert "jane.doe@example.com" not in info.value.message


def test_detect_with_pandas_series() -> None:
    pd = pytest.importorskip("pandas")
    cards = pd.Series([4111111111111111, None, 5500005555555559], dtype="Int64")
    assert finding("x", cards.dropna().tolist()).kind is CC
    emails = pd.Series(["a@example.com", pd.NA, None, "b@example.com"], dtype="string")
    result = finding("x", list(emails))
    assert (result.kind, result.sampled) == (E, 2)


# ---------------------------------------------------------------- findings never carry values
def test_findings_carry_no_raw_values() -> None:
    for raw in RAW:
        result = finding("col", [raw, raw, "x"])
        assert set(result.to_dict()) == {"column", "kind", "source", "match_ratio", "sampled"}
        for text in (repr(result), str(result), str(result.to_dict())):
            assert raw not in text


def test_finding_to_dict_and_frozen() -> None:
    result = PiiFinding("c", CC, "values", 0.5, 10)
    assert result.to_dict() == {
        "column": "c",
        "kind": "credit_card",
        "source": "values",
        "match_ratio": 0.5,
        "sampled": 10,
    }
    assert type(result.to_dict()["kind"]) is str
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kind = E  # type: ignore[misc]


# ---------------------------------------------------------------- mask_value
@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("jane.doe@example.com", E, "***@example.com"),
        ("4111111111111111", CC, "************1111"),
        ("4111 1111 1111 1234", CC, "************1234"),
        (4111111111111111, CC, "************1111"),
        (4111111111111111.0, CC, "************1111"),
        ("378282246310005", CC, "***********0005"),
        ("+44 20 7946 0958", PH, "*******58"),
        ("(555) 123-4567", PH, "*******67"),
        ("GB82 WEST 1234 5698 7654 32", IB, "GB****5432"),
        ("DE89370400440532013000", IB, "DE****3000"),
        ("192.168.1.10", IP, "192.*.*.*"),
        ("2001:db8::1", IP, "2001:*:*:*"),
        ("123-45-6789", NID, "***"),
        ("Jane Doe", PER, "***"),
        ("anything", None, "***"),
    ],
)
def test_mask_by_kind(value: object, kind: PiiKind | None, masked: str) -> None:
    assert mask_value(value, kind) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("jane.doe@example.com", "***@example.com"),
        (4111111111111111, "************1111"),
        ("192.168.1.10", "192.*.*.*"),
        ("123-45-6789", "***"),
    ],
)
def test_mask_infers_the_kind(value: object, masked: str) -> None:
    assert mask_value(value) == masked


@pytest.mark.parametrize(
    ("value", "kind"),
    [("1234", CC), ("12345", PH), ("not an email", E), ("GB82", IB), ("host", IP), (7, CC)],
)
def test_mask_too_short_or_unexpected_becomes_stars(value: object, kind: PiiKind) -> None:
    assert mask_value(value, kind) == "***"


@pytest.mark.parametrize("kind", [*PiiKind, None])
@pytest.mark.parametrize("raw", RAW)
def test_mask_never_keeps_the_full_value(raw: str, kind: PiiKind | None) -> None:
    masked = mask_value(raw, kind)
    assert isinstance(masked, str)
    assert raw not in masked
    assert raw.replace(" ", "") not in masked.replace(" ", "")


@pytest.mark.parametrize("kind", [*PiiKind, None])
def test_mask_keeps_missing_values(kind: PiiKind | None) -> None:
    nan = float("nan")
    assert mask_value(None, kind) is None
    assert mask_value(nan, kind) is nan


def test_mask_keeps_pandas_na_and_masks_unknown_objects() -> None:
    class NAType:  # mimics pandas.NA: comparisons give NA, and bool(NA) raises
        def __ne__(self, other: object) -> NAType:  # type: ignore[override]
            return self

        def __bool__(self) -> bool:
            raise TypeError("boolean value of NA is ambiguous")

    class Weird:  # refuses comparison but is not a missing value: must not pass through
        def __ne__(self, other: object) -> bool:
            raise TypeError("no")

        def __str__(self) -> str:
            return "jane.doe@example.com"

    na = NAType()
    assert mask_value(na, E) is na
    assert mask_value(Weird(), E) == "***@example.com"


# ---------------------------------------------------------------- tokenize_value / new_key
def test_tokenize_format_and_determinism() -> None:
    key = b"k" * 32
    token = tokenize_value("jane.doe@example.com", key)
    assert isinstance(token, str)
    assert re.fullmatch(r"tok_[0-9a-f]{32}", token)
    assert token == tokenize_value("jane.doe@example.com", key)
    expected = hmac.new(key, b"jane.doe@example.com", hashlib.sha256).hexdigest()[:32]
    assert token == "tok_" + expected
    assert "jane" not in token


def test_tokenize_is_key_and_value_sensitive() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert tokenize_value("x@example.com", a) != tokenize_value("x@example.com", b)
    assert tokenize_value("x@example.com", a) != tokenize_value("y@example.com", a)


def test_tokenize_ints_and_integral_floats_join() -> None:
    key = new_key()
    assert tokenize_value(4111111111111111, key) == tokenize_value("4111111111111111", key)
    assert tokenize_value(4111111111111111.0, key) == tokenize_value(4111111111111111, key)


def test_tokenize_keeps_missing_values() -> None:
    nan = float("nan")
    assert tokenize_value(None, b"k") is None
    assert tokenize_value(nan, b"k") is nan


@pytest.mark.parametrize("key", [b"", "a string key", None])
def test_tokenize_rejects_bad_keys_without_echoing(key: object) -> None:
    with pytest.raises(ValidationError) as info:
        tokenize_value("jane.doe@example.com", key)  # type: ignore[arg-type]
    assert info.value.field == "key"
    assert "jane.doe@example.com" not in str(info.value)
    assert "a string key" not in str(info.value)


def test_new_key() -> None:
    first, second = new_key(), new_key()
    assert isinstance(first, bytes)
    assert len(first) == 32
    assert first != second


def test_nan_is_not_a_value_anywhere() -> None:
    assert math.isnan(mask_value(float("nan"), CC))  # type: ignore[arg-type]
    assert detect_column("x", [float("nan")] * 5) is None
