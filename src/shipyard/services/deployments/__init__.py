"""Deployments to environments, their serving figures and the canary watcher."""

from shipyard.services.deployments.figures import FiguresService
from shipyard.services.deployments.service import DeploymentService

__all__ = ["DeploymentService", "FiguresService"]
