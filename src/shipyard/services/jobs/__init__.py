"""Periodic jobs run once across replicas (the scheduler) and the listing of their runs."""

from shipyard.services.jobs.scheduler import DEFAULT_KEEP_RUNS, JobScheduler, RunOutcome
from shipyard.services.jobs.service import JobsService, Page

__all__ = ["DEFAULT_KEEP_RUNS", "JobScheduler", "JobsService", "Page", "RunOutcome"]
