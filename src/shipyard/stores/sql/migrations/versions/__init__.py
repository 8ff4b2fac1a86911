"""Migration scripts. LATEST_REVISION must name the head (a test checks it)."""

LATEST_REVISION = "0016"
