"""Bad input gets a clear 4xx problem document, never a 500, and changes nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from litestar import Litestar

from models import StaffUser
from tests.conftest import LoginAs, staff_count
from tests.server import cli_env, server_process

USERS = "/api/v1/staff-users"
PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"] == type_
    assert body["title"] and body["detail"]
    return body


VALID = {"email": "new@example.org", "password": "a long password", "roles": ["staff"]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**VALID, "roles": "staff"}, "roles"),
        ({**VALID, "roles": ["janitor"]}, "roles"),
        ({**VALID, "roles": []}, "roles"),
        ({k: v for k, v in VALID.items() if k != "password"}, "password"),
        ({**VALID, "password": "short"}, "password"),
        ({**VALID, "email": "x" * 300 + "@example.org"}, "email"),
        ({**VALID, "name": "n" * 121}, "name"),
        ({**VALID, "is_superuser": True}, "is_superuser"),
        ({**VALID, "email": 42}, "email"),
    ],
)
async def test_invalid_fields_are_named_and_nothing_is_written(
    client: httpx.AsyncClient, login_as: LoginAs, payload: dict, field: str
) -> None:
    admin = await login_as("admin")
    before = await staff_count()

    response = await client.post(USERS, json=payload, headers=admin)

    body = assert_problem(response, 400, "/problems/validation-error")
    assert field in body["detail"] or any(field in e["field"] for e in body["errors"])
    assert await staff_count() == before


async def test_not_an_email_is_refused(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    before = await staff_count()
    response = await client.post(USERS, json={**VALID, "email": "no-at-sign"}, headers=admin)
    assert_problem(response, 422, "/problems/invalid-value")
    assert await staff_count() == before


@pytest.mark.parametrize(
    "body", [b'{"email": "a@b.c", "password":', b"not json at all", b"[1, 2", b"\xff\xfe"]
)
async def test_malformed_json_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "/problems/bad-request")


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nowhere"), 404, "/problems/not-found")
    assert_problem(await client.delete("/health"), 405, "/problems/method-not-allowed")


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    assert_problem(await client.get(f"{USERS}/999999", headers=admin), 404, "/problems/not-found")
    assert_problem(
        await client.patch(f"{USERS}/999999", json={"name": "x"}, headers=admin),
        404,
        "/problems/not-found",
    )
    # A non-numeric id does not match the route at all.
    assert_problem(await client.get(f"{USERS}/abc", headers=admin), 404, "/problems/not-found")


# Beyond our 32-bit keys: PostgreSQL refuses to even compare such a value.
HUGE_ID = 2**31


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/events/{id}"),
        ("PATCH", "/api/v1/events/{id}"),
        ("GET", "/api/v1/events/{id}/links"),
        ("GET", "/api/v1/events/{id}/registrations"),
        ("GET", "/api/v1/events/{id}/registrations.csv"),
        ("GET", "/api/v1/events/{id}/attendance"),
        ("GET", "/api/v1/events/{id}/ticket-key"),
        ("DELETE", "/api/v1/checkins/{id}"),
        ("GET", USERS + "/{id}"),
        ("GET", "/api/v1/competitions/{id}/entries"),
        ("GET", "/api/v1/entries/{id}"),
        ("GET", "/api/v1/rounds/{id}"),
        ("GET", "/api/v1/events/99999999999999999999999/attendance"),
    ],
)
async def test_ids_no_row_can_have_are_404(
    client: httpx.AsyncClient, login_as: LoginAs, method: str, path: str
) -> None:
    admin = await login_as("admin")
    body = {"title": "x"} if method == "PATCH" else None

    response = await client.request(method, path.format(id=HUGE_ID), json=body, headers=admin)

    assert_problem(response, 404, "/problems/not-found")


async def test_ids_out_of_range_in_a_body_are_named(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    door = await login_as("staff")
    for field, value in [("event_id", HUGE_ID), ("registration_id", HUGE_ID), ("event_id", 0)]:
        scan = {"event_id": 1, "gate": "A", "registration_id": 1, field: value}

        response = await client.post("/api/v1/checkins", json=scan, headers=door)

        body = assert_problem(response, 400, "/problems/validation-error")
        assert field in body["detail"] or any(field in e["field"] for e in body["errors"])


async def test_oversize_body_is_a_413(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    before = await staff_count()
    huge = {**VALID, "name": "x" * 2_000_000}
    response = await client.post(USERS, json=huge, headers=admin)
    assert_problem(response, 413, "/problems/payload-too-large")
    assert await staff_count() == before


async def test_bad_query_parameter_is_a_400(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    response = await client.get(USERS, params={"active": "perhaps"}, headers=admin)
    assert_problem(response, 400, "/problems/validation-error")


def _token(app: Litestar, **claims: object) -> str:
    settings = app.state.settings
    now = datetime.now(UTC)
    payload = {"sub": "1", "iat": now, "exp": now + timedelta(hours=1), **claims}
    return jwt.encode(payload, settings.secret_key, algorithm="HS256")


async def test_tampered_expired_and_foreign_tokens_are_401(
    app: Litestar, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    good = (await login_as("admin"))["Authorization"].removeprefix("Bearer ")
    user = await StaffUser.filter(roles__not="[]").first()
    assert user is not None
    header, payload, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]

    tokens = {
        "tampered signature": f"{header}.{payload}.{flipped}",
        "expired": _token(app, sub=str(user.id), exp=datetime.now(UTC) - timedelta(minutes=1)),
        "signed with another key": jwt.encode(
            {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(hours=1)},
            secrets.token_urlsafe(48),
            algorithm="HS256",
        ),
        "no signature": jwt.encode(
            {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(hours=1)},
            None,
            algorithm="none",
        ),
        "garbage": "not.a.token",
        "unknown user": _token(app, sub="987654"),
    }
    for name, token in tokens.items():
        response = await client.get(USERS, headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "/problems/unauthorized"), name


def test_rate_limited_login_answers_429(tmp_path: Path, server_database_url: str) -> None:
    env = cli_env(server_database_url, tmp_path, EVENTS_LOGIN_ATTEMPTS_PER_MINUTE="3")
    with server_process(env, tmp_path) as base:
        statuses = [
            httpx.post(
                f"{base}/api/v1/auth/login", json={"email": "a@example.org", "password": "guess"}
            )
            for _ in range(5)
        ]
        # The login form shares the budget of the address.
        form = httpx.post(f"{base}/login", data={"email": "a@example.org", "password": "guess"})
        health = httpx.get(f"{base}/health")

    assert [r.status_code for r in statuses] == [401, 401, 401, 429, 429]
    assert_problem(statuses[-1], 429, "/problems/rate-limited")
    assert form.status_code == 429
    # Only the login is throttled.
    assert health.status_code == 200
