"""The one error tree of Shipyard: every error has a stable ``code`` and an ``http_status``.

The server and the CLI each map these in exactly one place; adapters translate
third-party exceptions into these with ``raise ... from e``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = [
    "AlreadyExistsError",
    "ArtifactCorruptedError",
    "AuthenticationError",
    "ConflictError",
    "CrossSiteRequestError",
    "FilterSyntaxError",
    "InvalidStateTransitionError",
    "ModelFailedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PipelineFailedError",
    "RateLimitedError",
    "SchemaVersionError",
    "ShipyardError",
    "SignatureMismatchError",
    "StorageError",
    "UnserializableOutputError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "error_class",
]


class ShipyardError(Exception):
    """Base of all Shipyard errors. ``field`` names the offending input when there is one."""

    code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error_code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class ValidationError(ShipyardError):
    """Input is malformed or of the wrong type."""

    code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class FilterSyntaxError(ValidationError):
    """A filter or order-by expression does not parse; carries the 0-based ``position``."""

    def __init__(self, message: str, *, text: str, position: int, field: str = "filter") -> None:
        pointer = f"{text}\n{' ' * position}^"
        super().__init__(f"{message} at position {position}:\n{pointer}", field=field)
        self.position = position
        self.text = text


class SignatureMismatchError(ValidationError):
    """Well-formed input that does not fit the model's signature (a column, a type, a NaN)."""

    code = "SIGNATURE_MISMATCH"
    http_status = 422


class UnserializableOutputError(ValidationError):
    """A pipeline step returned a value Shipyard cannot store without pickle, and did not
    opt in."""

    code = "UNSERIALIZABLE_OUTPUT"


class UnsupportedMediaTypeError(ValidationError):
    """A body in a content type the endpoint does not take."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class PayloadTooLargeError(ValidationError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class NotFoundError(ShipyardError):
    """An id or name does not exist."""

    code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class AlreadyExistsError(ShipyardError):
    """A unique name is already taken."""

    code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400


class ConflictError(ShipyardError):
    """The request contradicts stored state (e.g. re-setting a param to another value)."""

    code = "INVALID_PARAMETER_VALUE"
    http_status = 409


class InvalidStateTransitionError(ConflictError):
    """A lifecycle transition that the transition table forbids."""

    code = "INVALID_STATE"


class AuthenticationError(ShipyardError):
    """No valid token."""

    code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDeniedError(ShipyardError):
    """A valid token whose role is too low."""

    code = "PERMISSION_DENIED"
    http_status = 403


class CrossSiteRequestError(PermissionDeniedError):
    """A state change sent by a page of another site (a forged cross-site request)."""

    code = "CROSS_SITE_REQUEST"


class RateLimitedError(ShipyardError):
    """A client sent more requests than its rate limit allows; it may retry later."""

    code = "RATE_LIMITED"
    http_status = 429


class ModelFailedError(ShipyardError):
    """A served model raised while predicting (counted against its version's figures)."""

    code = "MODEL_ERROR"
    http_status = 500


class PipelineFailedError(ShipyardError):
    """A pipeline step failed; ``result`` holds the run id and what did finish."""

    code = "PIPELINE_FAILED"
    http_status = 409

    def __init__(self, message: str, result: Any = None, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.result = result


class ArtifactCorruptedError(ShipyardError):
    """Stored bytes no longer match their content address."""

    code = "ARTIFACT_CORRUPTED"
    http_status = 409


class StorageError(ShipyardError):
    """The metadata or object store cannot be reached or used."""

    code = "STORAGE_UNAVAILABLE"
    http_status = 503


class SchemaVersionError(StorageError):
    """The database schema is older or newer than this Shipyard expects."""

    code = "SCHEMA_VERSION_MISMATCH"


def _tree(root: type[ShipyardError]) -> Iterator[type[ShipyardError]]:
    """The classes of this module's tree, each before its subclasses."""
    if root.__module__ == __name__:
        yield root
    for sub in root.__subclasses__():
        yield from _tree(sub)


def _tables() -> tuple[dict[tuple[str, int], type[ShipyardError]], dict[str, type[ShipyardError]]]:
    # A code can be shared (ConflictError is a 409 INVALID_PARAMETER_VALUE), so the pair
    # (code, status) is the key; the first class in tree order wins: the most general one,
    # whose constructor takes (message, field=) - FilterSyntaxError never shadows its base.
    by_pair: dict[tuple[str, int], type[ShipyardError]] = {}
    by_code: dict[str, type[ShipyardError]] = {}
    for cls in _tree(ShipyardError):
        by_pair.setdefault((cls.code, cls.http_status), cls)
        by_code.setdefault(cls.code, cls)
    return by_pair, by_code


_BY_PAIR, _BY_CODE = _tables()
_BY_STATUS = {status: cls for (_code, status), cls in reversed(_BY_PAIR.items())}


def error_class(code: str | None, http_status: int) -> type[ShipyardError]:
    """The class of an error a server reported as ``code`` with ``http_status``.

    The pair decides; a code alone next (a proxy may change the status); then the status
    alone (an answer without a code); ``ShipyardError`` when neither is known.
    """
    if code is not None:
        found = _BY_PAIR.get((code, http_status)) or _BY_CODE.get(code)
        if found is not None:
            return found
    return _BY_STATUS.get(http_status, ShipyardError)
