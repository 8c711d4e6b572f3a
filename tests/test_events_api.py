"""The organiser's API: events, status, links with figures, registrations and CSV."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from models import Admission, Event, Registration
from tests.conftest import LoginAs, staff_count
from tests.factories import attendee, in_days, make_event, make_link, register, token_of


async def test_create_get_and_list_events_with_filters(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    summit = await make_event(
        client, admin, title="Summit", starts_at=in_days(5), ends_at=in_days(5.2)
    )
    contest = await make_event(
        client, admin, kind="competition", title="Challenge", publish=False,
        starts_at=in_days(20), ends_at=in_days(21),
    )  # fmt: skip

    fetched = await client.get(f"/api/v1/events/{summit['id']}", headers=admin)
    assert fetched.json()["title"] == "Summit" and fetched.json()["status"] == "published"

    async def titles(**params: str) -> list[str]:
        page = (await client.get("/api/v1/events", params=params, headers=admin)).json()
        assert page["total"] == len(page["items"])
        return [e["title"] for e in page["items"]]

    assert await titles() == ["Summit", "Challenge"]
    assert await titles(kind="competition") == ["Challenge"]
    assert await titles(status="draft") == ["Challenge"]
    assert await titles(starts_after=in_days(10)) == ["Challenge"]
    assert await titles(starts_before=in_days(10)) == ["Summit"]
    assert contest["status"] == "draft"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"starts_at": "2026-12-12T09:00:00"}, 422),  # no UTC offset
        ({"timezone": "Mars/Olympus"}, 422),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422),  # before the start
        ({"capacity": 0}, 400),
        ({"kind": "party"}, 400),
        ({"title": ""}, 400),
        ({"title": "t" * 201}, 400),
        ({"surprise": 1}, 400),
    ],
)
async def test_invalid_events_are_refused_and_not_created(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict, status: int
) -> None:
    body = {
        "kind": "summit",
        "title": "Summit",
        "starts_at": in_days(3),
        "ends_at": in_days(3.2),
        **change,
    }
    response = await client.post("/api/v1/events", json=body, headers=admin)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await Event.all().count() == 0


async def test_status_transitions_and_cancel_is_final(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, publish=False)
    base = f"/api/v1/events/{event['id']}"
    assert (await client.post(f"{base}/close", headers=admin)).status_code == 409  # draft
    assert (await client.post(f"{base}/publish", headers=admin)).json()["status"] == "published"
    assert (await client.post(f"{base}/close", headers=admin)).json()["status"] == "closed"
    assert (await client.post(f"{base}/publish", headers=admin)).json()["status"] == "published"
    assert (await client.post(f"{base}/cancel", headers=admin)).json()["status"] == "cancelled"
    again = await client.post(f"{base}/publish", headers=admin)
    assert again.status_code == 409 and again.json()["type"] == "/problems/conflict"


async def test_patch_changes_only_what_is_sent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=10, venue="Hall A")
    response = await client.patch(
        f"/api/v1/events/{event['id']}", json={"venue": "Hall B"}, headers=admin
    )
    assert response.json()["venue"] == "Hall B"
    assert response.json()["capacity"] == 10
    cleared = await client.patch(
        f"/api/v1/events/{event['id']}", json={"capacity": None}, headers=admin
    )
    assert cleared.json()["capacity"] is None and cleared.json()["seats_left"] is None


async def test_capacity_changes_respect_the_confirmed_and_move_the_waitlist(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=2, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    tickets = [(await register(client, link["slug"], attendee(n))).json() for n in range(5)]
    assert [t["status"] for t in tickets] == ["confirmed"] * 2 + ["waitlisted"] * 3
    url = f"/api/v1/events/{event['id']}"

    lower = await client.patch(url, json={"capacity": 1}, headers=admin)
    assert lower.status_code == 409
    assert (await client.get(url, headers=admin)).json()["capacity"] == 2

    raised = await client.patch(url, json={"capacity": 4}, headers=admin)
    assert raised.json()["confirmed"] == 4
    statuses = [
        r.status.value for r in await Registration.filter(event_id=event["id"]).order_by("id")
    ]
    assert statuses == ["confirmed"] * 4 + ["waitlisted"]


async def test_links_report_their_url_and_figures(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=2, waitlist_enabled=True)
    chat = await make_link(client, admin, event["id"], label="WeChat group A")
    poster = await make_link(client, admin, event["id"], label="Poster hall 2", quota=5)
    assert chat["url"] == f"http://testserver/r/{chat['slug']}"
    assert len(chat["slug"]) >= 16 and chat["slug"] != poster["slug"]

    first = (await register(client, chat["slug"], attendee(1))).json()
    await register(client, chat["slug"], attendee(2))
    await register(client, poster["slug"], attendee(3))
    await client.post(f"/t/{token_of(first)}/cancel")
    registration = await Registration.get(id=first["registration_id"])
    second = await Registration.filter(event_id=event["id"], status="confirmed").first()
    assert second is not None
    await Admission.create(
        registration=second,
        person_id=second.person_id,
        event_id=event["id"],
        gate="A",
        admitted_at=registration.created_at,
    )

    links = (await client.get(f"/api/v1/events/{event['id']}/links", headers=admin)).json()
    figures = {link["label"]: link["figures"] for link in links}
    assert figures["WeChat group A"] == {
        "registrations": 2, "confirmed": 1, "waitlisted": 0, "cancelled": 1, "admitted": 1,
    }  # fmt: skip
    assert figures["Poster hall 2"] == {
        "registrations": 1, "confirmed": 1, "waitlisted": 0, "cancelled": 0, "admitted": 0,
    }  # fmt: skip


async def test_patch_link_and_refuse_quota_below_use(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"], quota=5)
    for n in range(3):
        await register(client, link["slug"], attendee(n))

    too_low = await client.patch(f"/api/v1/links/{link['slug']}", json={"quota": 2}, headers=admin)
    assert too_low.status_code == 409
    renamed = await client.patch(
        f"/api/v1/links/{link['slug']}",
        json={"label": "Poster lobby", "active": False},
        headers=admin,
    )
    assert renamed.json()["label"] == "Poster lobby" and renamed.json()["active"] is False
    assert renamed.json()["figures"]["confirmed"] == 3
    missing = await client.patch("/api/v1/links/nope", json={"label": "x"}, headers=admin)
    assert missing.status_code == 404


async def test_registrations_are_searchable_paginated_and_exported(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=3, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    await register(client, link["slug"], attendee(1, name="Li Wei", organisation="ACME Motors"))
    await register(client, link["slug"], attendee(2, name="Wang Fang", organisation="RoadLink"))
    await register(client, link["slug"], attendee(3, name="=HYPERLINK(1)", organisation="ACME"))
    await register(client, link["slug"], attendee(4, name="Zhang San"))
    url = f"/api/v1/events/{event['id']}/registrations"

    acme = (await client.get(url, params={"q": "acme"}, headers=admin)).json()
    assert sorted(r["name"] for r in acme["items"]) == ["=HYPERLINK(1)", "Li Wei"]
    by_mail = (await client.get(url, params={"q": "ATTENDEE2@"}, headers=admin)).json()
    assert [r["name"] for r in by_mail["items"]] == ["Wang Fang"]
    waiting = (await client.get(url, params={"status": "waitlisted"}, headers=admin)).json()
    assert [r["name"] for r in waiting["items"]] == ["Zhang San"]
    page = (await client.get(url, params={"limit": 2, "offset": 2}, headers=admin)).json()
    assert page["total"] == 4 and [r["name"] for r in page["items"]] == [
        "=HYPERLINK(1)",
        "Zhang San",
    ]
    by_link = (await client.get(url, params={"link": link["slug"]}, headers=admin)).json()
    assert by_link["total"] == 4

    exported = await client.get(f"{url}.csv", params={"q": "acme"}, headers=admin)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["email"] for r in rows} == {"attendee1@example.org", "attendee3@example.org"}
    # A name is never a spreadsheet formula.
    assert "'=HYPERLINK(1)" in {r["name"] for r in rows}


@pytest.mark.parametrize("roles", [("staff",), ("judge",)])
async def test_only_admins_manage_events(
    client: httpx.AsyncClient, admin: dict[str, str], login_as: LoginAs, roles: tuple[str, ...]
) -> None:
    event = await make_event(client, admin)
    other = await login_as(*roles)
    before = await staff_count()
    attempts = [
        await client.get("/api/v1/events", headers=other),
        await client.post(
            "/api/v1/events",
            json={"kind": "summit", "title": "x", "starts_at": in_days(1), "ends_at": in_days(2)},
            headers=other,
        ),
        await client.post(f"/api/v1/events/{event['id']}/cancel", headers=other),
        await client.get(f"/api/v1/events/{event['id']}/registrations", headers=other),
    ]
    assert [a.status_code for a in attempts] == [403] * 4
    assert (await Event.get(id=event["id"])).status.value == "published"
    assert await Event.all().count() == 1 and await staff_count() == before
    assert (await client.get("/api/v1/events")).status_code == 401


async def test_unknown_event_ids_are_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/v1/events/424242"),
        ("PATCH", "/api/v1/events/424242"),
        ("POST", "/api/v1/events/424242/publish"),
        ("POST", "/api/v1/events/424242/links"),
        ("GET", "/api/v1/events/424242/links"),
        ("GET", "/api/v1/events/424242/registrations"),
    ]:
        body = {"label": "x"} if path.endswith("links") else {}
        response = await client.request(
            method, path, json=body if method != "GET" else None, headers=admin
        )
        assert response.status_code == 404, (method, path, response.text)
