"""The door's authorisation unit (auth.claimed) and the verified-token cache: one rule
for "may this staff member act right now", on the scan route and everywhere else."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from events_service.auth import tokens
from events_service.auth.claimed import (
    ClaimedStaff,
    Standing,
    confirm_claimed_staff,
    staff_state_values,
    standing,
)
from events_service.auth.guards import staff_only
from events_service.auth.tokens import VerifiedToken
from models import Admission, ScanLog, StaffUser
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import LoginAs

CHECKINS = "/api/v1/checkins"
USERS = "/api/v1/staff-users"
DOOR = frozenset({"staff", "admin"})


# ---- the rule, as a pure function ---------------------------------------------------


def test_standing_is_valid_only_for_an_active_unrevoked_current_member() -> None:
    assert standing(True, False, 3, 3) is Standing.VALID
    assert standing(True, False, 3, 3, ["staff"], DOOR) is Standing.VALID
    assert standing(1, 0, 0, 0, '["admin"]', DOOR) is Standing.VALID  # SQLite's forms


@pytest.mark.parametrize(
    ("active", "revoked", "generation", "roles", "expected"),
    [
        (False, False, 3, ["staff"], Standing.LOGIN_ENDED),  # deactivated
        (0, 0, 3, '["staff"]', Standing.LOGIN_ENDED),  # deactivated, as SQLite says it
        (True, True, 3, ["staff"], Standing.LOGIN_ENDED),  # logged out
        (True, False, 4, ["staff"], Standing.LOGIN_ENDED),  # sessions ended since
        (None, False, None, None, Standing.LOGIN_ENDED),  # no such account any more
        (True, False, 3, ["judge"], Standing.ROLE_MISSING),  # demoted
        (True, False, 3, '["judge"]', Standing.ROLE_MISSING),
        (True, False, 3, [], Standing.ROLE_MISSING),
        (True, False, 3, '"staff"', Standing.ROLE_MISSING),  # JSON, but not a list
    ],
)
def test_standing_refuses(
    active: object, revoked: object, generation: object, roles: object, expected: Standing
) -> None:
    assert standing(active, revoked, generation, 3, roles, DOOR) is expected


def test_an_ended_login_is_refused_before_the_roles_are_looked_at() -> None:
    assert standing(False, True, 9, 3, ["judge"], DOOR) is Standing.LOGIN_ENDED
    # Without `allowed` (the ordinary routes: their guard checks roles) roles never refuse.
    assert standing(True, False, 3, 3, ["judge"]) is Standing.VALID


def _row(active: object, roles: object, revoked: object, generation: object) -> dict:
    return {
        "staff_active_": active,
        "staff_roles_": roles,
        "staff_revoked_": revoked,
        "staff_generation_": generation,
    }


def test_confirm_claimed_staff_raises_what_the_client_sees() -> None:
    staff = ClaimedStaff(id=7, jti="j", generation=2)
    confirm_claimed_staff(_row(True, ["staff"], False, 2), staff, staff_only.allowed)
    with pytest.raises(NotAuthorizedException, match="no longer valid"):
        confirm_claimed_staff(_row(True, ["staff"], False, 3), staff, staff_only.allowed)
    with pytest.raises(NotAuthorizedException):
        confirm_claimed_staff(_row(True, ["staff"], True, 2), staff, staff_only.allowed)
    with pytest.raises(PermissionDeniedException, match=r"This needs the staff role\."):
        confirm_claimed_staff(_row(True, ["judge"], False, 2), staff, staff_only.allowed)
    # A request authenticated the usual way has nothing left to confirm.
    confirm_claimed_staff(_row(None, None, False, None), None, staff_only.allowed)


def test_staff_state_values_name_nobody_without_a_claimed_member() -> None:
    assert staff_state_values(None) == (0, "")
    assert staff_state_values(ClaimedStaff(id=5, jti=None)) == (5, "")
    assert staff_state_values(ClaimedStaff(id=5, jti="abc", generation=1)) == (5, "abc")


# ---- the same refusals on the scan route and on an ordinary staff route --------------


async def _log_out(client: httpx.AsyncClient, admin: dict, user: StaffUser, token: dict) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=token)).status_code == 204


async def _deactivate(client: httpx.AsyncClient, admin: dict, user: StaffUser, token: dict) -> None:
    patched = await client.patch(f"{USERS}/{user.id}", json={"active": False}, headers=admin)
    assert patched.status_code == 200


async def _reset_password(
    client: httpx.AsyncClient, admin: dict, user: StaffUser, token: dict
) -> None:
    body = {"password": "another long password"}
    patched = await client.patch(f"{USERS}/{user.id}", json=body, headers=admin)
    assert patched.status_code == 200


async def _demote(client: httpx.AsyncClient, admin: dict, user: StaffUser, token: dict) -> None:
    patched = await client.patch(f"{USERS}/{user.id}", json={"roles": ["judge"]}, headers=admin)
    assert patched.status_code == 200


Change = Callable[[httpx.AsyncClient, dict, StaffUser, dict], Awaitable[None]]


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        (_log_out, 401, "/problems/unauthorized"),  # token revoked
        (_deactivate, 401, "/problems/unauthorized"),
        (_reset_password, 401, "/problems/unauthorized"),  # session generation moved on
        (_demote, 403, "/problems/forbidden"),  # no longer holds the route's role
    ],
    ids=["revoked", "deactivated", "old-generation", "wrong-role"],
)
async def test_the_scan_route_and_an_ordinary_route_refuse_alike(
    app: Litestar,
    client: httpx.AsyncClient,
    admin: dict,
    login_as: LoginAs,
    change: Change,
    status: int,
    problem: str,
) -> None:
    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    ticket = await ticket_for(app, client, event, slug, "x")
    token = await login_as("staff", email="door@example.org")
    user = await StaffUser.get(email="door@example.org")
    lookup = f"/api/v1/events/{event['id']}/attendees"

    def scan() -> Awaitable[httpx.Response]:
        body = {"event_id": event["id"], "gate": "A", "code": ticket.code}
        return client.post(CHECKINS, json={**body, "scan_id": str(uuid.uuid4())}, headers=token)

    # The token works on both routes first (and is in the verified-token cache).
    assert (await client.get(lookup, params={"q": "x"}, headers=token)).status_code == 200
    probe = await client.post(
        CHECKINS, json={"event_id": event["id"], "gate": "A", "code": "nope"}, headers=token
    )
    assert probe.status_code == 200 and probe.json()["verdict"] == "unknown"
    logs_before = await ScanLog.all().count()

    await change(client, admin, user, token)

    refused_scan = await scan()
    refused_lookup = await client.get(lookup, params={"q": "x"}, headers=token)
    for refused in (refused_scan, refused_lookup):
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == problem
        assert refused.json()["status"] == status
    if status == 403:
        assert refused_scan.json()["detail"] == "This needs the staff role."
        assert refused_lookup.json()["detail"] == "This needs the staff role."
    else:
        assert refused_scan.json()["detail"] == "This login is no longer valid: log in again."
    # Nothing written for the refused scan.
    assert await ScanLog.all().count() == logs_before
    assert await Admission.filter(registration_id=ticket.registration_id).count() == 0


# ---- the verified-token cache -------------------------------------------------------


SECRET = "a test secret of some length, for the cache tests"


def _encode(subject: int, expires: datetime) -> str:
    token = VerifiedToken(exp=expires, sub=str(subject), jti=secrets.token_hex(16))
    return token.encode(SECRET, "HS256")


def test_the_verified_token_cache_is_bounded() -> None:
    assert tokens._verified.maxsize == 4096


async def test_a_cached_token_is_served_until_its_expiry_and_never_after() -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    encoded = _encode(1, expires)

    first = VerifiedToken.decode(encoded, SECRET, "HS256")
    assert VerifiedToken.decode(encoded, SECRET, "HS256") is first  # from the cache

    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.1)

    assert not any(key[0] == encoded for key in tokens._verified)  # expired out
    with pytest.raises(NotAuthorizedException):
        VerifiedToken.decode(encoded, SECRET, "HS256")


async def test_a_token_decoded_without_expiry_checks_is_not_remembered_past_expiry() -> None:
    """A cached entry ends at its token's expiry even under verify_exp=False: past it
    the token is decoded afresh, which Litestar refuses once the second of its exp is
    over (a Token never holds a past exp), as it would have without the cache."""
    expires = datetime.now(UTC) + timedelta(seconds=1)
    encoded = _encode(1, expires)
    first = VerifiedToken.decode(encoded, SECRET, "HS256", verify_exp=False)
    assert VerifiedToken.decode(encoded, SECRET, "HS256", verify_exp=False) is first

    # The JWT's exp is whole seconds; Litestar compares whole seconds too.
    await asyncio.sleep(int(expires.timestamp()) + 1.1 - datetime.now(UTC).timestamp())

    assert not any(key[0] == encoded for key in tokens._verified)
    with pytest.raises(NotAuthorizedException):
        VerifiedToken.decode(encoded, SECRET, "HS256", verify_exp=False)
