"""Staff accounts: creation, authentication, roles, deactivation, revoked tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from events_service.auth.claimed import Standing, standing
from events_service.auth.passwords import hash_password, needs_rehash, verify_password
from events_service.db import default_connection, fetch_rows
from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.identity import checked_email, normalise_email
from events_service.locale import translatable
from models import RevokedToken, StaffUser
from models.enums import Role

MIN_PASSWORD_LENGTH = 10


def _checked_roles(roles: Iterable[str]) -> list[str]:
    wanted = set(roles)
    unknown = wanted - {r.value for r in Role}
    if unknown:
        raise Unprocessable(
            translatable("Unknown role(s): %(roles)s.", roles=", ".join(sorted(unknown)))
        )
    if not wanted:
        raise Unprocessable(translatable("A staff user needs at least one role."))
    # Stored in a fixed order so equal role sets compare equal.
    return [r.value for r in Role if r.value in wanted]


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            translatable(
                "A password needs at least %(MIN_PASSWORD_LENGTH)s characters.",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            )
        )
    return password


async def create_staff_user(
    email: str, password: str, roles: Iterable[str], name: str = ""
) -> StaffUser:
    address = checked_email(email)
    if address is None:
        raise Unprocessable(translatable("%(email)r is not an e-mail address.", email=email))
    checked_roles = _checked_roles(roles)
    password_hash = await hash_password(_checked_password(password))
    try:
        return await StaffUser.create(
            email=address, name=name.strip(), password_hash=password_hash, roles=checked_roles
        )
    except IntegrityError:
        raise Conflict(
            translatable("A staff user with e-mail %(address)s already exists.", address=address)
        ) from None


async def authenticate(email: str, password: str) -> StaffUser | None:
    """The active user with these credentials, or None (same cost either way)."""
    user = await StaffUser.get_or_none(email=normalise_email(email))
    ok = await verify_password(user.password_hash if user else None, password)
    if not (ok and user and user.active):
        return None
    user.last_login_at = timezone.now()
    update_fields = ["last_login_at"]
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        update_fields.append("password_hash")
    await user.save(update_fields=update_fields)
    return user


async def get_staff_user(user_id: int) -> StaffUser:
    user = await StaffUser.get_or_none(id=user_id)
    if user is None:
        raise NotFound(translatable("No staff user %(user_id)s.", user_id=user_id))
    return user


async def list_staff_users(role: str | None = None, active: bool | None = None) -> list[StaffUser]:
    query = StaffUser.all().order_by("id")
    if active is not None:
        query = query.filter(active=active)
    users = await query
    # Roles live in a JSON list: filter here rather than with engine-specific JSON SQL.
    return [u for u in users if role is None or role in u.roles]


async def update_staff_user(
    user_id: int,
    *,
    acting_user_id: int,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    name: str | None = None,
    password: str | None = None,
) -> StaffUser:
    user = await get_staff_user(user_id)
    if user.id == acting_user_id and (
        active is False or (roles is not None and Role.ADMIN.value not in roles)
    ):
        # Nobody locks themselves out of administration by accident.
        raise Conflict(
            translatable("You cannot deactivate yourself or remove your own admin role.")
        )
    updates: dict[str, Any] = {}
    if roles is not None:
        updates["roles"] = _checked_roles(roles)
    if active is not None:
        updates["active"] = active
    if name is not None:
        updates["name"] = name.strip()
    if password is not None:
        updates["password_hash"] = await hash_password(_checked_password(password))
    if password is not None or active is False:
        # A reset password ends every session: whoever held the old one is out.
        # Deactivation ends them too, so reactivating does not revive old tokens.
        updates["session_generation"] = _next_generation()
    if updates:
        # One UPDATE: the old sessions end in the statement that changes the
        # password, and only the fields given are written (a full save would write
        # back the generation read above, undoing a concurrent change).
        await StaffUser.filter(id=user.id).update(**updates)
        await user.refresh_from_db()
    return user


async def change_own_password(user_id: int, current: str, new: str) -> bool:
    """Set a new password if `current` is the account's, ending every session of the
    account. False when `current` is wrong (nothing changes then)."""
    user = await get_staff_user(user_id)
    if not await verify_password(user.password_hash, current):
        return False
    password_hash = await hash_password(_checked_password(new))
    await StaffUser.filter(id=user.id).update(
        password_hash=password_hash, session_generation=_next_generation()
    )
    return True


# Login tokens carry the session generation they were issued under; each request
# compares it with the account's current one (user_for_token, and the scan's
# SCAN_CONTEXT), so moving it on ends every session at once, in every process.
# Incremented in SQL, so two concurrent changes both move it on.
def _next_generation() -> Any:
    return F("session_generation") + 1  # a fresh expression per query


async def end_sessions(user: StaffUser) -> None:
    """Invalidate every login token of the account issued so far."""
    await StaffUser.filter(id=user.id).update(session_generation=_next_generation())
    await user.refresh_from_db(fields=["session_generation"])


# Every staff request authenticates: one fixed statement instead of two ORM queries
# (user, then revocation), loaded fresh so deactivation, role and password changes
# bite at once. The door scan reads the same state in its own first statement
# (auth.claimed); both apply auth.claimed.standing to it.
_USER_AND_REVOCATION = """
SELECT u.*, EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = $2) AS token_revoked
FROM staff_user u WHERE u.id = $1
"""


async def user_for_token(user_id: int, jti: str | None, generation: int) -> StaffUser | None:
    """The active user a token names, unless the token was revoked (logged out) or
    issued before the account's sessions were ended (a password change). Roles are
    left to the route's guard."""
    rows = await fetch_rows(default_connection(), _USER_AND_REVOCATION, [user_id, jti or ""])
    if not rows:
        return None
    row = rows[0]
    revoked = row.pop("token_revoked")
    verdict = standing(row["active"], revoked, row["session_generation"], generation)
    if verdict is not Standing.VALID:
        return None
    return StaffUser._init_from_db(**row)


async def revoke_token(jti: str, expires_at: datetime) -> None:
    await RevokedToken.get_or_create(jti=jti, defaults={"expires_at": expires_at})
    # Expired entries can never match a valid token again.
    await RevokedToken.filter(expires_at__lt=timezone.now()).delete()


async def set_preferred_locale(user_id: int, locale: str | None) -> StaffUser:
    """The language the member's pages speak (None: the browser's)."""
    await StaffUser.filter(id=user_id).update(preferred_locale=locale)
    return await get_staff_user(user_id)
