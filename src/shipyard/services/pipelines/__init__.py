"""Pipelines: steps as child runs, cached by fingerprint, run on a local or distributed executor."""
