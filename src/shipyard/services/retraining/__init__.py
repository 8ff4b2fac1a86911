"""Continuous training: ``[retrain.<model>]`` policies, their triggers and runs."""

from shipyard.services.retraining.service import RetrainingService, Started
from shipyard.services.retraining.steps import Collaborators

__all__ = ["Collaborators", "RetrainingService", "Started"]
