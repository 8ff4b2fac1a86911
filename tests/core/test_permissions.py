"""The permission table's answers and messages, and the integer bounds requests meet."""

from __future__ import annotations

import pytest

from shipyard.core.entities import Role, User
from shipyard.core.errors import PermissionDeniedError, ValidationError
from shipyard.core.permissions import GRANTS, Action, check, roles_for, who_may
from shipyard.core.validation import INT64_MAX, INT64_MIN, check_int


def _user(role: Role) -> User:
    return User(1, "pat", role, 0)


def test_check_follows_the_table_for_every_action_and_role() -> None:
    for action in Action:
        for role in Role:
            if role in GRANTS[action]:
                check(_user(role), action)
            else:
                with pytest.raises(PermissionDeniedError, match=f"has role {role.value}"):
                    check(_user(role), action)


def test_messages_name_who_may() -> None:
    assert who_may(Action.DEPLOY) == "deployer or higher"
    assert who_may(Action.OVERRIDE_GATES) == "admin"
    assert roles_for(Action.DECIDE) == [Role.APPROVER, Role.DEPLOYER, Role.ADMIN]
    with pytest.raises(PermissionDeniedError) as e:
        check(_user(Role.APPROVER), Action.DEPLOY)
    assert e.value.message == (
        "user 'pat' has role approver; deploying, promoting and rolling back need "
        "deployer or higher"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), ("12", 12), (" -3 ", -3), (5.0, 5), (INT64_MAX, INT64_MAX), (INT64_MIN, INT64_MIN)],
)
def test_check_int_takes_integers_text_and_integral_floats(value: object, expected: int) -> None:
    assert check_int(value, "n") == expected


@pytest.mark.parametrize(
    "value", [INT64_MAX + 1, INT64_MIN - 1, str(2**63), "1e3", "\u00b2", 1.5, True, None, [1]]
)
def test_check_int_refuses_what_a_bigint_cannot_hold(value: object) -> None:
    with pytest.raises(ValidationError) as e:
        check_int(value, "offset")
    assert e.value.field == "offset" and "offset must be an integer" in e.value.message


def test_check_int_bounds_are_the_callers() -> None:
    with pytest.raises(ValidationError, match=r"max_results must be an integer in 1\.\.50000"):
        check_int(0, "max_results", low=1, high=50_000)
