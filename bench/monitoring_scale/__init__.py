"""Shared pieces of the monitoring scale benchmarks (``monitoring_logs.py``, ``monitoring_fleet.py``)."""
