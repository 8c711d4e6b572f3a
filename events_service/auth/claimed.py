"""The door scan's authorisation, in one place: a staff member as their token claims
them, checked in the route's own first statement instead of a query of its own.

The door scan is the one route (the VERIFIES_STAFF opt) whose staff member is not
loaded before the handler runs: the separate user query cost an eighth of each
scan's CPU. Instead the scan's first statement joins in STAFF_STATE_COLUMNS and
STAFF_STATE_JOIN (values from `staff_state_values`), and `confirm_claimed_staff`
applies the rule to what it read before anything is written or shown.

The rule itself, `standing`, is the one every staff request goes by: the ordinary
routes' `auth.service.user_for_token` applies it too (their roles are then checked by
`auth.guards.RoleGuard` with `roles_allow`, as `standing` checks the door's), so
deactivation, logout, a password change and role changes bite alike everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from events_service.locale import translatable
from models.enums import Role

# Route opt: the handler's own first statement checks the staff member (see ClaimedStaff).
VERIFIES_STAFF = "verifies_staff_in_statement"


@dataclass(frozen=True)
class ClaimedStaff:
    """A staff member as their signed token names them, not yet checked in the database.

    Only a route marked with the VERIFIES_STAFF opt gets one instead of a StaffUser.
    The guard lets it through to the handler, whose first statement reads the member's
    current account, roles and token state (STAFF_STATE_COLUMNS) along with what it
    needs itself; `confirm_claimed_staff` then refuses the request as any other route
    would.
    """

    id: int
    jti: str | None
    generation: int = 0


def verifies_staff(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the route checks its staff member in its own first statement: the token
    then yields a ClaimedStaff, which the route's guard lets through."""
    return bool(connection.route_handler.opt.get(VERIFIES_STAFF))


class Standing(Enum):
    VALID = "valid"
    LOGIN_ENDED = "login ended"  # 401: deactivated, logged out or sessions ended
    ROLE_MISSING = "role missing"  # 403: none of the route's roles


def roles_allow(roles: Iterable[str], allowed: frozenset[str]) -> bool:
    return not allowed.isdisjoint(roles)


def standing(
    active: object,
    revoked: object,
    generation: object,
    claimed_generation: int,
    roles: object = None,
    allowed: frozenset[str] | None = None,
) -> Standing:
    """Whether the staff member a token names may act right now: the account is active,
    the token not revoked (logged out) and issued under the account's current session
    generation (a password change or deactivation moves it on); and, when `allowed` is
    given, `roles` (a list, or its JSON text) hold one of them.

    The columns as read from staff_user and revoked_token; NULL when the account no
    longer exists. Without `allowed` the roles are left to the route's guard."""
    if not active or revoked or generation != claimed_generation:
        return Standing.LOGIN_ENDED
    if allowed is not None:
        current = json.loads(roles) if isinstance(roles, str | bytes) else roles
        if not isinstance(current, list) or not roles_allow(current, allowed):
            return Standing.ROLE_MISSING
    return Standing.VALID


def role_needed(allowed: frozenset[str]) -> str:
    """The 403 detail for a member holding none of `allowed` (admin passes every guard,
    so it is named only when it is the one role)."""
    needed = " or ".join(sorted(allowed - {Role.ADMIN.value})) or Role.ADMIN.value
    return translatable("This needs the %(role)s role.", role=needed)


LOGIN_ENDED_DETAIL = translatable("This login is no longer valid: log in again.")

# The staff member's current state, for a statement to join in: the columns go in its
# select list, the join after its FROM item (any row source of exactly one row). They
# expect two placeholders, $4 the staff user id and $5 the token id (jti), in that
# order: `staff_state_values` gives them. They take the table aliases s and rt. A
# request authenticated the usual way (no ClaimedStaff) passes 0 and '', matching no
# one; every column is then NULL or false.
STAFF_STATE_COLUMNS = """s.active AS staff_active_, s.roles AS staff_roles_,
       s.session_generation AS staff_generation_,
       EXISTS (SELECT 1 FROM revoked_token rt WHERE rt.jti = $5) AS staff_revoked_"""
STAFF_STATE_JOIN = "LEFT JOIN staff_user s ON s.id = $4"

_NOBODY = (0, "")


def staff_state_values(staff: ClaimedStaff | None) -> tuple[int, str]:
    """The values of STAFF_STATE_COLUMNS' and STAFF_STATE_JOIN's $4 and $5."""
    return _NOBODY if staff is None else (staff.id, staff.jti or "")


def confirm_claimed_staff(
    row: Mapping[str, Any], staff: ClaimedStaff | None, allowed: frozenset[str]
) -> None:
    """Refuse a ClaimedStaff whose account, token or roles no longer allow the route,
    from the STAFF_STATE_COLUMNS of `row`: 401 when the login ended, 403 when none of
    `allowed` is held. Nothing to do when the request carried no ClaimedStaff (its
    member was loaded and checked the usual way)."""
    if staff is None:
        return
    verdict = standing(
        row["staff_active_"],
        row["staff_revoked_"],
        row["staff_generation_"],
        staff.generation,
        row["staff_roles_"],
        allowed,
    )
    if verdict is Standing.LOGIN_ENDED:
        raise NotAuthorizedException(LOGIN_ENDED_DETAIL)
    if verdict is Standing.ROLE_MISSING:
        raise PermissionDeniedException(role_needed(allowed))
