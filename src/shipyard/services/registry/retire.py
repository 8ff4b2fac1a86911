"""Who may take a version out of service: archiving or rejecting one that still serves
traffic needs a deployer, and the refusal names the environments that serve it."""

from __future__ import annotations

from typing import Any

from shipyard.core.errors import NotFoundError, PermissionDeniedError
from shipyard.core.models import ModelVersion, VersionStatus
from shipyard.core.permissions import Action, may
from shipyard.stores.sql.access_repo import AccessRepo
from shipyard.stores.sql.deployments_repo import DeploymentsRepo

__all__ = ["check_may_retire"]


def check_may_retire(conn: Any, version: ModelVersion, new: VersionStatus, user: str) -> None:
    """Archiving or rejecting a version that serves traffic is a deployer's (or admin's)
    decision: it drops the version's aliases while an environment still answers with it."""
    serving = DeploymentsRepo().serving(conn, version.name, version.version)
    if not serving:
        return
    try:
        role = AccessRepo().get_user(conn, user).role
    except NotFoundError:
        role = None
    if role is None or not may(role, Action.RETIRE_SERVING):
        verb = "archiving" if new is VersionStatus.ARCHIVED else "rejecting"
        who = f"{user!r} is {role.value}" if role else f"{user!r} is not a Shipyard user"
        raise PermissionDeniedError(
            f"{version.ref} serves {', '.join(serving)}; {verb} it needs the deployer or admin "
            f"role and {who}. Deploy another version or roll back first "
            f"(shipyard deploy / shipyard rollback), or ask a deployer",
            field="status",
        )
