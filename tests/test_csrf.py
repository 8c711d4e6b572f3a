"""Cookie-authenticated writes need the page's CSRF token; bearer clients do not."""

from __future__ import annotations

import re

import httpx

from events_service.auth.service import create_staff_user
from models import RegistrationLink
from tests.conftest import PASSWORD
from tests.factories import make_event

PROBLEM = "application/problem+json"


async def _cookie_session(client: httpx.AsyncClient, email: str) -> None:
    """Log in as a browser does: the answer sets the HttpOnly login cookie."""
    await create_staff_user(email, PASSWORD, ["admin"])
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert client.cookies.get("events_token")


async def test_a_cookie_authenticated_write_without_the_token_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    await _cookie_session(client, "organiser@example.org")
    links = f"/api/v1/events/{event['id']}/links"

    forged = [
        # What a page on another site can make a browser send: a "simple" request.
        {"content": b'{"label": "evil"}', "headers": {"content-type": "text/plain",
                                                      "origin": "http://evil.test"}},
        {"json": {"label": "evil"}, "headers": {"origin": "http://evil.test"}},
        {"json": {"label": "evil"}, "headers": {"x-csrftoken": "made-up"}},
        # No token after the scheme: Litestar's JWT auth then reads the cookie.
        {"json": {"label": "evil"}, "headers": {"authorization": "x"}},
        {"json": {"label": "evil"}, "headers": {"authorization": "Bearer "}},
    ]  # fmt: skip
    for request in forged:
        response = await client.post(links, **request)
        assert response.status_code in (403, 415), response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    # Writes without a body are guarded as well.
    response = await client.post(f"/api/v1/events/{event['id']}/close")
    assert response.status_code == 403, response.text
    assert await RegistrationLink.filter(event_id=event["id"]).count() == 0


async def test_a_page_token_lets_the_same_browser_write(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    await _cookie_session(client, "door-organiser@example.org")
    page = await client.get("/scan")  # any page hands out the token cookie
    assert page.status_code == 200
    token = client.cookies.get("csrftoken")
    assert token

    response = await client.post(
        f"/api/v1/events/{event['id']}/links",
        json={"label": "WeChat group A"},
        headers={"x-csrftoken": token},
    )
    assert response.status_code == 201, response.text


async def test_bearer_clients_need_no_csrf_token(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    client.cookies.clear()
    response = await client.post(
        f"/api/v1/events/{event['id']}/links", json={"label": "API client"}, headers=admin
    )
    assert response.status_code == 201, response.text


async def test_the_login_form_carries_its_token_even_with_a_stale_login_cookie(
    client: httpx.AsyncClient,
) -> None:
    await _cookie_session(client, "returning@example.org")
    form = await client.get("/login")
    (token,) = re.findall(r'name="_csrf_token" value="([^"]+)"', form.text)

    refused = await client.post(
        "/login", data={"email": "returning@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 403

    response = await client.post(
        "/login",
        data={"email": "returning@example.org", "password": PASSWORD, "_csrf_token": token},
    )
    assert response.status_code in (302, 303), response.text


async def test_api_answers_do_not_hand_out_csrf_cookies(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/reach")
    assert response.status_code == 200
    assert "csrftoken" not in response.headers.get("set-cookie", "")
