"""The data catalog: versioned datasets, profiles, validation evidence, PII policies, lineage."""

from shipyard.services.catalog.service import CatalogService

__all__ = ["CatalogService"]
