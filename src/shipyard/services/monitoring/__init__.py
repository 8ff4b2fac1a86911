"""Monitoring: drift, performance estimation, ground truth, alerts."""
