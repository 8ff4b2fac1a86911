"""Core domain: entities, errors, the filter language, states. Imports no heavy libraries."""
