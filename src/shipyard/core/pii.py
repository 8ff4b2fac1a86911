"""Detection of likely personal data (PII) in tabular columns, and the per-column policies.

Hard rule: no raw value ever leaves this module in a finding, an error message or a repr.
Findings carry the column name, the kind, a ratio and counts; masking and tokenizing return
transformed values only. Pure standard library (``re``, ``ipaddress``, ``hmac``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import islice
from typing import Literal

from shipyard.core.errors import ValidationError

__all__ = [
    "PiiFinding",
    "PiiKind",
    "PiiPolicy",
    "classify_value",
    "detect_column",
    "mask_value",
    "name_hint",
    "new_key",
    "tokenize_value",
]

# No PII pattern below is longer than this; skipping longer text bounds the regex work.
_MAX_VALUE_LENGTH = 254
_EMAIL_RE = re.compile(r"[\w.%+'\-]+@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,63}")
# 13-19 digits, either bare or in groups joined by one consistent space or dash.
_CARD_RE = re.compile(r"\d{13,19}|\d{4,6}([ \-])\d{3,6}(?:\1\d{3,6}){1,3}")
# Spaces, when present, come every four characters as IBANs are printed.
_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)")
_SSN_RE = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")
# UK NINO: the letters HMRC never issues are excluded, as are the BG/GB/KN/NK/NT/TN/ZZ prefixes.
_NINO_RE = re.compile(
    r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
)
# French INSEE/NIR: sex, year, month, department (2A/2B for Corsica), commune, order, then a
# mod-97 key. Chosen over the Dutch BSN because a bare 9-digit id passes the BSN 11-check one
# time in eleven, whereas the NIR's structure plus its key make chance matches very rare.
_INSEE_RE = re.compile(
    r"([12]) ?(\d{2}) ?(0[1-9]|1[0-2]) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})"
)
_PHONE_RE = re.compile(
    r"\+\d{8,15}"  # E.164
    r"|(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,5}(?:[ .\-]\d{2,8}){0,5}"
)
# Digit strings that fit the phone shape but are dates, dot-grouped thousands or SSN-shaped.
_NOT_PHONE_RE = re.compile(
    r"(?:19|20)\d\d[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[-./ ](?:0?[1-9]|[12]\d|3[01])[-./ ](?:19|20)\d\d"
    r"|\d{1,3}(?:\.\d{3}){2,}|\d{3}-\d{2}-\d{4}"
)


class PiiKind(StrEnum):
    """What a column holds. ``PERSON`` (names, addresses, birth dates) comes from names only."""

    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    CREDIT_CARD = "credit_card"
    NATIONAL_ID = "national_id"
    IP_ADDRESS = "ip_address"
    PERSON = "person"


class PiiPolicy(StrEnum):
    """What to do with a PII column before it is stored."""

    KEEP = "keep"
    MASK = "mask"
    TOKENIZE = "tokenize"
    DROP = "drop"

    @classmethod
    def parse(cls, value: object, field: str = "pii") -> PiiPolicy:
        """A policy from its name (any case); the error lists the allowed names."""
        if isinstance(value, PiiPolicy):
            return value
        if isinstance(value, str) and value.strip().lower() in cls._value2member_map_:
            return cls(value.strip().lower())
        allowed = ", ".join(p.value for p in cls)
        # The rejected value is not echoed: a mis-placed cell value could be personal data.
        raise ValidationError(
            f"{field} must be one of {allowed}; got an unknown {type(value).__name__} value",
            field=field,
        )


@dataclass(frozen=True)
class PiiFinding:
    """Evidence that a column holds PII: never a value, only the kind, a ratio and counts.

    ``match_ratio`` is the share of sampled values matching ``kind`` (1.0 for name hints);
    ``sampled`` is how many non-null values were looked at.
    """

    column: str
    kind: PiiKind
    source: Literal["name", "values"]
    match_ratio: float
    sampled: int

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for reports and the catalog record."""
        return {**asdict(self), "kind": self.kind.value}


# ---------------------------------------------------------------- value patterns
def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_card(text: str) -> bool:
    if not _CARD_RE.fullmatch(text):
        return False
    digits = re.sub(r"\D", "", text)
    # Issued cards start with 2-6 (Mastercard, Amex/Diners/JCB, Visa, MC, Discover/UnionPay);
    # this keeps Luhn-passing ids such as epoch milliseconds (1...) out. Uniform digits are
    # placeholders (0000...), not cards.
    ok_shape = 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1
    return ok_shape and _luhn_ok(digits)


def _is_iban(text: str) -> bool:
    upper = text.upper()
    if not _IBAN_RE.fullmatch(upper):
        return False
    compact = upper.replace(" ", "")
    # ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 == 1.
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _is_national_id(text: str) -> bool:
    if _SSN_RE.fullmatch(text) or _NINO_RE.fullmatch(text.upper()):
        return True
    match = _INSEE_RE.fullmatch(text.upper())
    if not match:
        return False
    body = "".join(match.groups()[:-1]).replace("2A", "19").replace("2B", "18")
    return 97 - int(body) % 97 == int(match.group(7))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(c.isalnum() and c != "0" for c in text)  # "::" / "0.0.0.0" are placeholders


def _is_phone(text: str) -> bool:
    if not _PHONE_RE.fullmatch(text) or _NOT_PHONE_RE.fullmatch(text):
        return False
    # Bare digit strings never get here: without "+" a group holds at most five digits.
    if not 8 <= sum(c.isdigit() for c in text) <= 15:
        return False
    if text.startswith("+") or "(" in text:
        return True
    # Without a "+" or parentheses, one dot alone ("1234.5678") is a decimal, not a phone.
    return [c for c in text if c in " .-"] != ["."]


# Order matters: the card check runs before the phone check (grouped card numbers fit the
# phone shape), and SSNs before phones for the same reason.
_CHECKS: tuple[tuple[PiiKind, Callable[[str], object]], ...] = (
    (PiiKind.EMAIL, _EMAIL_RE.fullmatch),
    (PiiKind.IP_ADDRESS, _is_ip),
    (PiiKind.IBAN, _is_iban),
    (PiiKind.CREDIT_CARD, _is_card),
    (PiiKind.NATIONAL_ID, _is_national_id),
    (PiiKind.PHONE, _is_phone),
)


def classify_value(text: str) -> PiiKind | None:
    """The PII kind one string matches, if any (``PERSON`` is never inferred from values)."""
    text = text.strip()
    if not text or len(text) > _MAX_VALUE_LENGTH:
        return None
    for kind, check in _CHECKS:
        if check(text):
            return kind
    return None


# ---------------------------------------------------------------- column-name hints
# Keys are whole tokens, or adjacent tokens joined ("e_mail" -> "email", "IPv4" -> "ipv4").
_NAME_HINTS: dict[str, PiiKind] = {
    word: kind
    for kind, words in (
        (PiiKind.EMAIL, ("email", "mail")),
        (PiiKind.PHONE, ("phone", "mobile", "tel", "telephone")),
        (PiiKind.IBAN, ("iban",)),
        (PiiKind.CREDIT_CARD, ("card", "ccnumber", "creditcard", "pan")),
        (PiiKind.NATIONAL_ID, ("ssn", "nationalid", "nin", "passport", "taxid", "socialsecurity")),
        (PiiKind.IP_ADDRESS, ("ip", "ipaddress", "ipv4", "ipv6")),
        (PiiKind.PERSON, ("firstname", "lastname", "fullname", "name", "surname", "address")),
        (PiiKind.PERSON, ("street", "dob", "dateofbirth", "birthdate")),
    )
    for word in words
}
# "name" and "address" are generic: next to one of these they name a thing, not a person.
_THING_TOKENS = frozenset(
    {"app", "brand", "bucket", "category", "class", "column", "company", "dataset", "device"}
    | {"domain", "event", "feature", "field", "file", "host", "hotel", "item", "key", "label"}
    | {"mac", "memory", "metric", "model", "org", "product", "project", "server", "table", "tag"}
)
_KIND_ORDER = {kind: position for position, kind in enumerate(PiiKind)}  # PERSON comes last


def _tokens(column: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)  # customerEmail
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)  # userIPAddress
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def name_hint(column: str) -> PiiKind | None:
    """The PII kind a column name suggests, matched on whole tokens ("zip" is not "ip")."""
    tokens = _tokens(column)
    hits: list[PiiKind] = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(start + 3, len(tokens)) + 1):
            word = "".join(tokens[start:end])
            kind = _NAME_HINTS.get(word)
            if kind is None or (word in ("name", "address") and _THING_TOKENS.intersection(tokens)):
                continue
            hits.append(kind)
    return min(hits, key=_KIND_ORDER.__getitem__, default=None)


# ---------------------------------------------------------------- detection
def _is_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):  # numpy.float64 is a float subclass
        return math.isnan(value)
    try:
        return bool(value != value)  # NaN-likes (Decimal NaN, NaT) differ from themselves
    except (TypeError, ValueError):
        # pandas.NA refuses bool(); core cannot import pandas, so it is known by its type name.
        # Anything else that refuses is NOT null, so masking can never pass it through as is.
        return type(value).__name__ == "NAType"


def _as_text(value: object) -> str:
    # Integer-valued floats are how pandas stores an int column that has gaps (card numbers
    # become 4111111111111111.0); render them as the integer they are.
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e19:
        return str(int(value))
    return str(value)


def _present(values: Iterable[object]) -> Iterator[str]:
    # Blank strings are missing cells as CSV readers produce them, not evidence either way.
    for value in values:
        if not _is_null(value) and (text := _as_text(value).strip()):
            yield text


def _check_detect_args(sample: object, min_ratio: object) -> None:
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValidationError("sample must be a positive integer", field="sample")
    if not isinstance(min_ratio, int | float) or not 0 < min_ratio <= 1:
        raise ValidationError("min_ratio must be a number in (0, 1]", field="min_ratio")


def detect_column(
    column: str, values: Iterable[object], *, sample: int = 1000, min_ratio: float = 0.3
) -> PiiFinding | None:
    """Look at up to ``sample`` non-null values; value evidence wins over the column name.

    Blank strings count as missing. Returns the dominant value kind when its share reaches
    ``min_ratio``, else the name hint, else None.
    """
    _check_detect_args(sample, min_ratio)
    texts = list(islice(_present(values), sample))
    counts = Counter(kind for kind in map(classify_value, texts) if kind is not None)
    sampled = len(texts)
    if counts:
        # Ties go to the kind listed first in PiiKind so the result is deterministic.
        best = min(counts, key=lambda k: (-counts[k], _KIND_ORDER[k]))
        if counts[best] / sampled >= min_ratio:
            return PiiFinding(column, best, "values", counts[best] / sampled, sampled)
    hint = name_hint(column)
    return PiiFinding(column, hint, "name", 1.0, sampled) if hint is not None else None


# ---------------------------------------------------------------- policies
def _mask_text(text: str, kind: PiiKind | None) -> str:
    digits = re.sub(r"\D", "", text)
    # Each branch keeps a fragment only when the value is long enough that the fragment
    # cannot be the whole of it; anything shorter or unexpected becomes "***".
    if kind is PiiKind.EMAIL and "@" in text:
        return "***@" + text.rsplit("@", 1)[1]
    if kind is PiiKind.CREDIT_CARD and len(digits) >= 12:
        return "*" * (len(digits) - 4) + digits[-4:]
    if kind is PiiKind.PHONE and len(digits) >= 6:
        return "*******" + digits[-2:]
    compact = text.replace(" ", "").upper()
    if kind is PiiKind.IBAN and len(compact) >= 15:
        return compact[:2] + "****" + compact[-4:]
    if kind is PiiKind.IP_ADDRESS:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return "***"
        if address.version == 4:
            return text.split(".", 1)[0] + ".*.*.*"
        return address.exploded.split(":", 1)[0] + ":*:*:*"
    return "***"


def mask_value(value: object, kind: PiiKind | None = None) -> object:
    """A masked string keeping at most a harmless fragment; None/NaN-likes are returned as is.

    Without ``kind`` the value's own pattern is used (a value matching none becomes "***").
    """
    if _is_null(value):
        return value
    text = _as_text(value).strip()
    return _mask_text(text, kind if kind is not None else classify_value(text))


def tokenize_value(value: object, key: bytes) -> object:
    """``tok_`` + 32 hex chars of HMAC-SHA256: equal values give equal tokens (joinable),
    another key gives other tokens, and the value cannot be recovered without the key."""
    if not isinstance(key, bytes | bytearray) or not key:
        raise ValidationError("the tokenization key must be non-empty bytes", field="key")
    if _is_null(value):
        return value
    digest = hmac.new(bytes(key), _as_text(value).encode(), hashlib.sha256).hexdigest()
    return "tok_" + digest[:32]


def new_key() -> bytes:
    """A fresh random 32-byte tokenization key."""
    return secrets.token_bytes(32)
