"""Role guards for staff routes. An admin passes every guard."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from models import StaffUser
from models.enums import Role

# Route opt: the handler's own first statement checks the staff member (see ClaimedStaff).
VERIFIES_STAFF = "verifies_staff_in_statement"
# Login-token claim: the account's session generation when the token was issued.
SESSION_CLAIM = "gen"


@dataclass(frozen=True)
class ClaimedStaff:
    """A staff member as their signed token names them, not yet checked in the database.

    Only a route marked with the VERIFIES_STAFF opt gets one instead of a StaffUser:
    the door scan, where the separate user query cost an eighth of each request's CPU.
    The guard lets it through to the handler, whose first statement reads the member's
    current account, roles and token state (revoked, session generation) along with
    the ticket; the service then
    applies the same rule (`auth.service.confirm_claimed_staff`) before anything is
    written or shown: deactivation, logout and role changes bite at once, as elsewhere.
    """

    id: int
    jti: str | None
    generation: int = 0


def roles_allow(roles: Iterable[str], allowed: frozenset[str]) -> bool:
    return not allowed.isdisjoint(roles)


class RoleGuard:
    """Passes a logged-in staff member holding one of `allowed` (admin always)."""

    def __init__(self, *roles: Role) -> None:
        self.allowed = frozenset({r.value for r in roles} | {Role.ADMIN.value})
        self.names = " or ".join(r.value for r in roles)
        self.__name__ = f"requires_{'_or_'.join(r.value for r in roles)}"

    # Async on purpose: Litestar runs a sync guard in a worker thread, a thread hop
    # on every staff request for what is a set intersection.
    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        user = connection.scope.get("user")
        if isinstance(user, ClaimedStaff) and connection.route_handler.opt.get(VERIFIES_STAFF):
            return  # checked by the handler's first statement, with self.allowed
        if not isinstance(user, StaffUser):
            raise NotAuthorizedException("Log in first.")
        if not roles_allow(user.roles, self.allowed):
            raise PermissionDeniedException(f"This needs the {self.names} role.")


admin_only = RoleGuard(Role.ADMIN)
staff_only = RoleGuard(Role.STAFF)
judge_only = RoleGuard(Role.JUDGE)
