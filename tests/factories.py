"""Builders for test data through the real API, as an organiser would create it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def make_event(
    client: httpx.AsyncClient, admin: dict[str, str], *, publish: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "summit",
        "title": "Internet + Auto Summit",
        "starts_at": in_days(10),
        "ends_at": in_days(10.3),
        "timezone": "Asia/Shanghai",
        "venue": "Hall A",
        **fields,
    }
    response = await client.post("/api/v1/events", json=body, headers=admin)
    assert response.status_code == 201, response.text
    event = response.json()
    if publish:
        published = await client.post(f"/api/v1/events/{event['id']}/publish", headers=admin)
        assert published.status_code == 200, published.text
        event = published.json()
    return event


async def make_link(
    client: httpx.AsyncClient, admin: dict[str, str], event_id: int, **fields: Any
) -> dict[str, Any]:
    body = {"label": "WeChat group A", **fields}
    response = await client.post(f"/api/v1/events/{event_id}/links", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def attendee(n: int | str, **fields: Any) -> dict[str, Any]:
    return {"name": f"Attendee {n}", "email": f"attendee{n}@example.org", "consent": True, **fields}


async def register(client: httpx.AsyncClient, slug: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/register/{slug}", json=body)


def token_of(registration: dict[str, Any]) -> str:
    return registration["ticket_url"].rsplit("/t/", 1)[1]
