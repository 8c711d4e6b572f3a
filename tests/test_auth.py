"""Staff login, tokens (bearer and cookie), logout, roles, and account management."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar

from events_service.auth.claimed import VERIFIES_STAFF
from events_service.auth.service import create_staff_user, list_staff_users
from events_service.auth.tokens import VerifiedToken
from events_service.errors import Conflict
from models import StaffUser
from tests.conftest import PASSWORD, Backend, LoginAs, staff_count

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
USERS = "/api/v1/staff-users"


async def test_password_is_stored_as_argon2id_never_in_clear(db: Backend) -> None:
    user = await create_staff_user("door@example.org", PASSWORD, ["staff"])
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


async def test_login_returns_bearer_token_roles_and_httponly_cookie(
    client: httpx.AsyncClient,
) -> None:
    await create_staff_user("organiser@example.org", PASSWORD, ["admin", "judge"])

    # The address is matched as people type it: any case, stray spaces.
    response = await client.post(
        LOGIN, json={"email": " Organiser@Example.ORG", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["roles"] == ["admin", "judge"]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "events_token=" in cookie

    client.cookies.clear()
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "organiser@example.org"


async def test_cookie_alone_authenticates_a_browser(client: httpx.AsyncClient) -> None:
    await create_staff_user("browser@example.org", PASSWORD, ["staff"])
    await client.post(LOGIN, json={"email": "browser@example.org", "password": PASSWORD})

    me = await client.get(ME)

    assert me.status_code == 200
    assert me.json()["roles"] == ["staff"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("someone@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)],
)
async def test_wrong_credentials_get_one_problem_that_reveals_nothing(
    client: httpx.AsyncClient, email: str, password: str
) -> None:
    await create_staff_user("someone@example.org", PASSWORD, ["staff"])

    response = await client.post(LOGIN, json={"email": email, "password": password})

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/invalid-credentials"
    assert "set-cookie" not in response.headers


async def test_logout_revokes_the_token(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    headers = await login_as("staff")

    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204

    again = await client.get(ME, headers=headers)
    assert again.status_code == 401
    assert again.json()["type"] == "/problems/unauthorized"


async def test_deactivated_user_is_locked_out_at_once(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    staff = await login_as("staff", email="leaver@example.org")
    leaver = await StaffUser.get(email="leaver@example.org")

    response = await client.patch(f"{USERS}/{leaver.id}", json={"active": False}, headers=admin)
    assert response.status_code == 200 and response.json()["active"] is False

    assert (await client.get(ME, headers=staff)).status_code == 401
    relogin = await client.post(LOGIN, json={"email": "leaver@example.org", "password": PASSWORD})
    assert relogin.status_code == 401


async def test_role_changes_take_effect_on_existing_tokens(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    staff = await login_as("staff", email="promoted@example.org")
    assert (await client.get(USERS, headers=staff)).status_code == 403

    user = await StaffUser.get(email="promoted@example.org")
    response = await client.patch(
        f"{USERS}/{user.id}", json={"roles": ["staff", "admin"]}, headers=admin
    )
    assert response.json()["roles"] == ["admin", "staff"]

    assert (await client.get(USERS, headers=staff)).status_code == 200


def test_only_the_door_scan_defers_the_staff_check_to_its_statement(app: Litestar) -> None:
    """A route marked VERIFIES_STAFF gets past its guard on the token alone and must
    confirm the member itself (auth.claimed.ClaimedStaff): the door scan does. A new
    route carrying the mark must be reviewed and added here deliberately."""
    marked = {
        (route.path, method)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.opt.get(VERIFIES_STAFF)
        for method in handler.http_methods
    }

    assert marked == {("/api/v1/checkins", "POST")}


@pytest.mark.parametrize("roles", [["staff"], ["judge"], ["staff", "judge"]])
async def test_only_admins_manage_staff(
    client: httpx.AsyncClient, login_as: LoginAs, roles: list[str]
) -> None:
    headers = await login_as(*roles)
    before = await staff_count()

    listing = await client.get(USERS, headers=headers)
    creation = await client.post(
        USERS,
        json={"email": "x@example.org", "password": "long enough pw", "roles": ["admin"]},
        headers=headers,
    )

    assert listing.status_code == creation.status_code == 403
    assert creation.json()["type"] == "/problems/forbidden"
    assert await staff_count() == before


async def test_anonymous_requests_to_staff_routes_are_refused(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", ME), ("GET", USERS), ("POST", "/api/v1/auth/logout")]:
        response = await client.request(method, path)
        assert response.status_code == 401, path
        assert response.json()["type"] == "/problems/unauthorized"


async def test_admin_creates_lists_and_edits_staff(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")

    created = await client.post(
        USERS,
        json={
            "email": "Judge.Wang@Example.org",
            "password": "a long password",
            "roles": ["judge"],
            "name": "Wang Fang",
        },
        headers=admin,
    )
    assert created.status_code == 201
    judge = created.json()
    assert judge["email"] == "judge.wang@example.org"
    assert "password" not in judge and "password_hash" not in judge

    judges = await client.get(USERS, params={"role": "judge"}, headers=admin)
    assert [u["email"] for u in judges.json()] == ["judge.wang@example.org"]

    # The new account works with the password the admin set.
    login = await client.post(
        LOGIN, json={"email": "judge.wang@example.org", "password": "a long password"}
    )
    assert login.status_code == 200 and login.json()["roles"] == ["judge"]

    renamed = await client.patch(
        f"{USERS}/{judge['id']}", json={"name": "Prof. Wang Fang"}, headers=admin
    )
    assert renamed.json()["name"] == "Prof. Wang Fang"
    fetched = await client.get(f"{USERS}/{judge['id']}", headers=admin)
    assert fetched.json()["name"] == "Prof. Wang Fang"


async def test_duplicate_staff_email_is_a_conflict(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    payload = {"email": "twice@example.org", "password": "a long password", "roles": ["staff"]}
    assert (await client.post(USERS, json=payload, headers=admin)).status_code == 201

    again = await client.post(USERS, json={**payload, "email": "TWICE@example.org "}, headers=admin)

    assert again.status_code == 409
    assert again.json()["type"] == "/problems/conflict"
    assert len(await list_staff_users()) == 2


async def test_admin_cannot_lock_themselves_out(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin", email="boss@example.org")
    me = await StaffUser.get(email="boss@example.org")

    for change in ({"active": False}, {"roles": ["staff"]}):
        response = await client.patch(f"{USERS}/{me.id}", json=change, headers=admin)
        assert response.status_code == 409
    assert (await StaffUser.get(id=me.id)).roles == ["admin"]


async def test_concurrent_creation_of_one_address_makes_one_account(db: Backend) -> None:
    async def attempt() -> str:
        try:
            await create_staff_user("race@example.org", PASSWORD, ["staff"])
        except Conflict:
            return "conflict"
        return "created"

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))

    assert outcomes.count("created") == 1
    assert outcomes.count("conflict") == 19
    assert await StaffUser.filter(email="race@example.org").count() == 1


async def test_a_remembered_token_still_expires_on_time(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    """Verified tokens are remembered per process; the expiry is checked on every use."""
    user = await create_staff_user("brief@example.org", PASSWORD, ["staff"])
    expires = datetime.now(UTC) + timedelta(seconds=2)
    encoded = VerifiedToken(exp=expires, sub=str(user.id), jti=secrets.token_hex(16)).encode(
        app.state.settings.secret_key, "HS256"
    )
    headers = {"Authorization": f"Bearer {encoded}"}
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert (await client.get(ME, headers=headers)).status_code == 200  # from memory

    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.1)

    expired = await client.get(ME, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["type"] == "/problems/unauthorized"
    tampered = encoded[:-2] + ("AA" if not encoded.endswith("AA") else "BB")
    forged = await client.get(ME, headers={"Authorization": f"Bearer {tampered}"})
    assert forged.status_code == 401
