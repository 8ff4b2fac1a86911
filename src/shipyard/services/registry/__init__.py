"""The model registry: packaging, versions, aliases, status; every change audited."""

from shipyard.services.registry.service import RegistryService

__all__ = ["RegistryService"]
