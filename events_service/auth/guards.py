"""Role guards for staff routes. An admin passes every guard."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from models import StaffUser
from models.enums import Role


def requires_role(*roles: Role) -> Guard:
    allowed = {r.value for r in roles} | {Role.ADMIN.value}
    names = " or ".join(r.value for r in roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, StaffUser):
            raise NotAuthorizedException("Log in first.")
        if not allowed.intersection(user.roles):
            raise PermissionDeniedException(f"This needs the {names} role.")

    guard.__name__ = f"requires_{'_or_'.join(r.value for r in roles)}"
    return guard


admin_only = requires_role(Role.ADMIN)
staff_only = requires_role(Role.STAFF)
judge_only = requires_role(Role.JUDGE)
