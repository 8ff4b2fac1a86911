"""Bounded integer types for request parameters and bodies: one place says what a 64-bit
column (and a 32-bit model version) holds, so a number beyond it is a 400 naming the
parameter (and the OpenAPI document shows the bounds) instead of a database overflow."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shipyard.core.models import MAX_VERSION
from shipyard.core.validation import INT64_MAX, INT64_MIN

__all__ = ["Count", "EpochMs", "Id", "Int64", "Offset", "VersionNumber"]

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""Any integer a BIGINT column holds (metric steps may be negative)."""

EpochMs = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A time in milliseconds since the epoch, or a duration in milliseconds."""

Offset = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""How many items to skip."""

Count = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""How many items at most (each route may bound it further)."""

Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A database row id."""

VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]
"""A model version number: versions start at 1 and are 32-bit in every database."""
