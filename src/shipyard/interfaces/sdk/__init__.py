"""The Python SDK (``import shipyard as sy``)."""
