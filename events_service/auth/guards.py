"""Role guards for staff routes. An admin passes every guard."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from events_service.auth.claimed import ClaimedStaff, role_needed, roles_allow, verifies_staff
from events_service.locale import translatable
from models import StaffUser
from models.enums import Role

# Login-token claim: the account's session generation when the token was issued.
SESSION_CLAIM = "gen"


class RoleGuard:
    """Passes a logged-in staff member holding one of `allowed` (admin always)."""

    def __init__(self, *roles: Role) -> None:
        self.allowed = frozenset({r.value for r in roles} | {Role.ADMIN.value})
        self.__name__ = f"requires_{'_or_'.join(r.value for r in roles)}"

    # Async on purpose: Litestar runs a sync guard in a worker thread, a thread hop
    # on every staff request for what is a set intersection.
    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        user = connection.scope.get("user")
        if isinstance(user, ClaimedStaff) and verifies_staff(connection):
            return  # checked by the handler's first statement (auth.claimed), with self.allowed
        if not isinstance(user, StaffUser):
            raise NotAuthorizedException(translatable("Log in first."))
        if not roles_allow(user.roles, self.allowed):
            raise PermissionDeniedException(role_needed(self.allowed))


admin_only = RoleGuard(Role.ADMIN)
staff_only = RoleGuard(Role.STAFF)
judge_only = RoleGuard(Role.JUDGE)
# Who may erase a person's personal data now and download everything held about
# them: the API's /api/v1/people routes and the console's person page go by this.
privacy_officer = admin_only
