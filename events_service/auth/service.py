"""Staff accounts: creation, authentication, roles, deactivation, revoked tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from events_service.auth.claimed import Standing, standing
from events_service.auth.passwords import hash_password, needs_rehash, verify_password
from events_service.db import default_connection, fetch_rows
from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.identity import checked_email, normalise_email
from events_service.locale import translatable
from events_service.signed import read_claims, sign_claims
from models import RevokedToken, StaffUser
from models.enums import Role
from notifications.outbox import Kind, dedupe_key, enqueue

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


# Set-password links: an account opened without a password, or a password reset by
# an organiser, gets a link by e-mail (through the outbox). The link is a signed,
# expiring token bound to the account's session generation: setting the password
# moves the generation on, so the link works once, and a later reset, deactivation
# or password change ends it too. Nothing is stored: the outbox row holds only the
# account, the generation and the expiry; the token is signed when the mail is built.
SET_PASSWORD_LINK_HOURS = 72
SET_PASSWORD_PATH = "/password/set"  # noqa: S105 - a route, not a secret


def _unusable_password_hash_source() -> str:
    return secrets.token_urlsafe(32)  # hashed and forgotten: nobody can log in with it


async def create_staff_user_with_link(
    email: str, roles: Iterable[str], name: str, *, locale: str
) -> StaffUser:
    """An account with no known password, and the mail with its set-password link,
    queued in the same transaction (both exist, or neither)."""
    async with in_transaction() as conn:
        user = await create_staff_user(email, _unusable_password_hash_source(), roles, name)
        await queue_set_password_link(user, locale=locale, using_db=conn)
    return user


async def reset_password_with_link(user_id: int, *, locale: str) -> StaffUser:
    """End every session of the account and mail it a fresh set-password link (the
    old password keeps working until the new one is set; older links stop)."""
    user = await get_staff_user(user_id)
    if not user.active:
        # The link would not work: only an active account sets its password.
        raise Conflict(
            translatable("The account is deactivated: reactivate it before mailing it a link.")
        )
    async with in_transaction() as conn:
        await (
            StaffUser.filter(id=user.id)
            .using_db(conn)
            .update(session_generation=_next_generation())
        )
        await user.refresh_from_db(fields=["session_generation"], using_db=conn)
        await queue_set_password_link(user, locale=locale, using_db=conn)
    return user


async def queue_set_password_link(
    user: StaffUser, *, locale: str, using_db: BaseDBAsyncClient | None = None
) -> None:
    expires = timezone.now() + timedelta(hours=SET_PASSWORD_LINK_HOURS)
    expires_at = int(expires.timestamp())
    await enqueue(
        kind=Kind.STAFF_SET_PASSWORD,
        dedupe_key=dedupe_key(
            Kind.STAFF_SET_PASSWORD, user.id, user.session_generation, expires_at
        ),
        recipient=user.email,
        payload={
            "user_id": user.id,
            "generation": user.session_generation,
            "expires_at": expires_at,
            "name": user.name,
            "hours": SET_PASSWORD_LINK_HOURS,
        },
        locale=user.preferred_locale or locale,
        using_db=using_db,
    )


# A key of its own, derived from the secret: nothing else it signs reads as a link.
SET_PASSWORD_PURPOSE = b"set-password-link"


def set_password_token(secret_key: str, user_id: int, generation: int, expires_at: int) -> str:
    """The token of a set-password link: the claims, then their HMAC-SHA256."""
    return sign_claims(secret_key, SET_PASSWORD_PURPOSE, (user_id, generation, expires_at))


@dataclass(frozen=True)
class LinkClaims:
    user_id: int
    generation: int
    expires_at: int


def read_set_password_token(secret_key: str, token: str) -> LinkClaims | None:
    """The link's claims if it was signed here and has not expired, else None (whether
    it still works, the account decides: see `usable_link`)."""
    claims = read_claims(secret_key, SET_PASSWORD_PURPOSE, token)
    try:
        user_id, generation, expires_at = (int(claim) for claim in claims or ())
    except ValueError:
        return None
    if expires_at < timezone.now().timestamp():
        return None
    return LinkClaims(user_id, generation, expires_at)


async def usable_link(secret_key: str, token: str) -> StaffUser | None:
    """The active account a link is for, while the link still works."""
    claims = read_set_password_token(secret_key, token)
    if claims is None:
        return None
    user = await StaffUser.get_or_none(id=claims.user_id)
    if user is None or not user.active or user.session_generation != claims.generation:
        return None
    return user


async def set_password_with_link(secret_key: str, token: str, password: str) -> StaffUser | None:
    """Set the account's password through its link, once: the update only applies to
    the generation the link names and moves it on (two tabs racing: one wins).
    None when the link is not (or no longer) valid."""
    claims = read_set_password_token(secret_key, token)
    if claims is None:
        return None
    password_hash = await hash_password(_checked_password(password))
    changed = await StaffUser.filter(
        id=claims.user_id, active=True, session_generation=claims.generation
    ).update(password_hash=password_hash, session_generation=_next_generation())
    if not changed:
        return None
    return await get_staff_user(claims.user_id)
