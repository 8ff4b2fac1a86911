"""Shipyard: continuous delivery for machine learning.

``import shipyard`` stays light: the SDK facade is loaded lazily on first attribute access.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
