"""``python -m shipyard`` runs the CLI."""

from shipyard.interfaces.cli.main import run

run()
