"""The one error tree of Shipyard: every error has a stable ``code`` and an ``http_status``.

The server and the CLI each map these in exactly one place; adapters translate
third-party exceptions into these with ``raise ... from e``.
"""

from __future__ import annotations

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
    "SchemaVersionError",
    "ShipyardError",
    "SignatureMismatchError",
    "StorageError",
    "UnsupportedMediaTypeError",
    "ValidationError",
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


class ModelFailedError(ShipyardError):
    """A served model raised while predicting (counted against its version's figures)."""

    code = "MODEL_ERROR"
    http_status = 500


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
