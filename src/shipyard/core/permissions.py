"""Who may do what to which object: one table of actions and the roles granted each.

Roles are not a rank here: each action names the roles that may take it, so a duty can be
granted to one role and not to a "higher" one (an approver need not deploy). The services'
checks and the HTTP layer's per-route check both read this table; separation of duties
(nobody approves a version they trained) is checked on top, by the registry, because it
depends on the version and not on the role alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shipyard.core.entities import Role, User
from shipyard.core.errors import PermissionDeniedError

__all__ = ["GRANTS", "Action", "check", "may", "roles_for", "who_may"]


class Action(StrEnum):
    """An action on a kind of object, written ``object.verb``."""

    READ = "any.read"  # every GET, and the searches sent as POST
    TRACK = "run.write"  # experiments, runs, metrics, params, tags, artifacts, logged models
    WRITE_DATA = "dataset.write"  # validate a version, move an alias, record a run's input
    WRITE_MODEL = "model.write"  # register models and versions, tags, aliases
    ARCHIVE = "model_version.archive"  # archive a version that serves nothing
    RETIRE_SERVING = "model_version.retire_serving"  # archive or reject one that serves traffic
    DECIDE = "model_version.decide"  # approve or reject a gated version
    OVERRIDE_GATES = "model_version.override_gates"  # approve one whose gates failed
    DEPLOY = "deployment.change"  # deploy, promote, roll back
    OPERATE_ALERTS = "alert.operate"  # acknowledge, resolve
    LABEL = "prediction.label"  # send ground-truth feedback for logged predictions
    MANAGE_USERS = "user.manage"  # add users, choose their roles, tokens for somebody else
    RETRAIN = "model.retrain"  # start or resume a retraining run by the model's policy
    OWN_TOKENS = "token.own"  # issue, list, revoke one's own tokens (an admin: anyone's)


_V, _C, _P, _D, _A = Role.VIEWER, Role.CONTRIBUTOR, Role.APPROVER, Role.DEPLOYER, Role.ADMIN

GRANTS: Mapping[Action, frozenset[Role]] = {
    Action.READ: frozenset({_V, _C, _P, _D, _A}),
    Action.TRACK: frozenset({_C, _P, _D, _A}),
    Action.WRITE_DATA: frozenset({_C, _P, _D, _A}),
    Action.WRITE_MODEL: frozenset({_C, _P, _D, _A}),
    Action.ARCHIVE: frozenset({_C, _P, _D, _A}),
    Action.RETIRE_SERVING: frozenset({_D, _A}),
    Action.DECIDE: frozenset({_P, _D, _A}),
    Action.OVERRIDE_GATES: frozenset({_A}),
    Action.DEPLOY: frozenset({_D, _A}),
    Action.OPERATE_ALERTS: frozenset({_D, _A}),
    Action.LABEL: frozenset({_C, _P, _D, _A}),
    Action.MANAGE_USERS: frozenset({_A}),
    Action.RETRAIN: frozenset({_D, _A}),
    Action.OWN_TOKENS: frozenset({_V, _C, _P, _D, _A}),
}
"""The table: every action and the roles that may take it (``shipyard users`` lists roles)."""


_DOING: Mapping[Action, str] = {
    Action.DECIDE: "approving or rejecting a model version needs",
    Action.OVERRIDE_GATES: "overriding failed gates needs",
    Action.RETIRE_SERVING: "archiving or rejecting a version that serves traffic needs",
    Action.DEPLOY: "deploying, promoting and rolling back need",
    Action.OPERATE_ALERTS: "acknowledging and resolving alerts need",
    Action.MANAGE_USERS: "adding users and giving roles needs",
}


def may(role: Role, action: Action) -> bool:
    """Whether ``role`` may take ``action``."""
    return role in GRANTS[action]


def roles_for(action: Action) -> list[Role]:
    """The roles granted ``action``, in the order of ``Role`` (for messages and docs)."""
    return [r for r in Role if r in GRANTS[action]]


def who_may(action: Action) -> str:
    """``deployer or higher`` when every role from the weakest granted one up may, else the
    granted roles listed (``approver, admin``)."""
    granted = roles_for(action)
    upward = list(Role)[list(Role).index(granted[0]) :]
    if granted == upward and len(granted) > 1:
        return f"{granted[0].value} or higher"
    return " or ".join(r.value for r in granted)


def check(user: User, action: Action) -> None:
    """Refuse ``action`` to ``user`` unless the table grants it to their role; the message
    says what was tried and which roles may."""
    if may(user.role, action):
        return
    doing = _DOING.get(action, "this needs")
    raise PermissionDeniedError(
        f"user {user.name!r} has role {user.role.value}; {doing} {who_may(action)}"
    )
