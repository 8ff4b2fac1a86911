"""Shared pieces of the monitoring scale benchmarks (logs and fleet)."""
