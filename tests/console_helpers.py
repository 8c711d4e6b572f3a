"""Driving the console as a browser does: the login form's cookie, the page's CSRF
token in every form post, and the flash message on the page after the redirect."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import httpx

from events_service.auth.service import create_staff_user
from tests.conftest import PASSWORD


async def log_in_to_pages(client: httpx.AsyncClient, *roles: str, email: str | None = None) -> str:
    """A staff account with `roles`, logged in through the /login form (cookie)."""
    address = email or f"{'-'.join(roles) or 'user'}-{secrets.token_hex(4)}@example.org"
    await create_staff_user(address, PASSWORD, list(roles))
    client.cookies.clear()
    await client.get("/login")  # hands out the CSRF cookie, as the browser gets it
    response = await client.post(
        "/login",
        data={"email": address, "password": PASSWORD, "next": "/admin",
              "_csrf_token": client.cookies.get("csrftoken", "")},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    return address


async def post_form(
    client: httpx.AsyncClient, path: str, data: Mapping[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    """A form post with the page's CSRF token, as the console's forms send it."""
    if not client.cookies.get("csrftoken"):
        await client.get("/admin")
    fields = {**(data or {}), "_csrf_token": client.cookies.get("csrftoken", "")}
    return await client.post(path, data=fields, **kwargs)


async def follow(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """The page a post/redirect/get lands on (where its flash message shows)."""
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    return await client.get(response.headers["location"])
