"""Shared set-up for judging tests: a competition, judges, a round ready to score."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from events_service.auth.service import create_staff_user
from models import Event
from tests.conftest import PASSWORD

API = "/api/v1"


async def competition_event(title: str = "Auto Tech Challenge") -> Event:
    start = datetime.now(UTC) + timedelta(days=30)
    return await Event.create(
        kind="competition", title=title, starts_at=start, ends_at=start + timedelta(hours=8)
    )


async def judge(client: httpx.AsyncClient, name: str) -> tuple[int, dict[str, str]]:
    """A staff user with the judge role, logged in: (id, bearer headers)."""
    email = f"{name.lower()}-{secrets.token_hex(3)}@example.org"
    user = await create_staff_user(email, PASSWORD, ["judge"], name=name)
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return user.id, {"Authorization": f"Bearer {response.json()['access_token']}"}


def ok(response: httpx.Response, status: int | None = None) -> dict | list:
    """The JSON body of a successful response (any 2xx, or exactly `status`)."""
    if status is None:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == status, response.text
    return response.json()


@dataclass
class Setup:
    admin: dict[str, str]
    event_id: int
    round_id: int
    entries: list[int]
    criteria: list[int]
    judges: dict[int, dict[str, str]] = field(default_factory=dict)


async def scored_round(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    entries: int = 4,
    judges: int = 3,
    k: int = 3,
    method: str = "additive",
    criteria: tuple[tuple[str, float, float, float, str], ...] = (
        ("Innovation", 2.0, 0.0, 10.0, "1"),
        ("Feasibility", 1.0, 0.0, 5.0, "0.5"),
    ),
    organisations: list[str] | None = None,
    open_round: bool = True,
) -> Setup:
    """A competition with entries, criteria, judges, a balanced assignment and an open round."""
    event = await competition_event()
    entry_ids = []
    for i in range(entries):
        org = organisations[i] if organisations else f"Org {i}"
        body = {"title": f"Entry {i}", "team_name": f"Team {i}", "organisation": org}
        entry_ids.append(
            ok(
                await client.post(
                    f"{API}/competitions/{event.id}/entries", json=body, headers=admin
                )
            )["id"]
        )
    round_ = ok(
        await client.post(
            f"{API}/competitions/{event.id}/rounds",
            json={"name": "Preliminary", "judges_per_entry": k, "ranking_method": method},
            headers=admin,
        )
    )
    criterion_ids = []
    for name, weight, low, high, step in criteria:
        body = {
            "name": name,
            "weight": weight,
            "scale_min": low,
            "scale_max": high,
            "scale_step": step,
            "description": f"How good is the {name.lower()}?",
        }
        criterion_ids.append(
            ok(
                await client.post(f"{API}/rounds/{round_['id']}/criteria", json=body, headers=admin)
            )["id"]
        )
    setup = Setup(admin, event.id, round_["id"], entry_ids, criterion_ids)
    for i in range(judges):
        judge_id, headers = await judge(client, f"Judge{i}")
        setup.judges[judge_id] = headers
    ok(await client.post(f"{API}/rounds/{round_['id']}/assign", json={"seed": 1}, headers=admin))
    if open_round:
        ok(await client.post(f"{API}/rounds/{round_['id']}/open", headers=admin))
    return setup


async def my_assignments(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    return ok(await client.get(f"{API}/judge/assignments", headers=headers))  # type: ignore[return-value]


async def submit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    assignment_id: int,
    values: dict[int, float],
    *,
    final: bool = True,
) -> httpx.Response:
    body = {"scores": [{"criterion_id": c, "value": v} for c, v in values.items()], "submit": final}
    return await client.put(
        f"{API}/judge/assignments/{assignment_id}/scores", json=body, headers=headers
    )


QUALITY = [6, 9, 4, 7]  # entry i's score on every criterion, so the order is 1, 3, 0, 2


async def closed_final_round(client: httpx.AsyncClient, admin: dict[str, str]) -> Setup:
    """A scored round (four entries, three judges, every sheet submitted: entry 1 first,
    then 3, 0, 2) with two awards, still open: the caller closes it."""
    setup = await scored_round(
        client,
        admin,
        entries=4,
        judges=3,
        k=3,
        method="mean",
        criteria=(("Overall", 1.0, 0.0, 10.0, "1"), ("Pitch", 1.0, 0.0, 10.0, "0.5")),
    )
    quality = dict(zip(setup.entries, QUALITY, strict=True))
    for headers in setup.judges.values():
        for a in await my_assignments(client, headers):
            values = dict.fromkeys(setup.criteria, quality[a["entry"]["id"]])
            ok(await submit(client, headers, a["id"], values))
    url = f"{API}/rounds/{setup.round_id}/awards"
    ok(await client.post(url, json={"name": "First prize", "rank_from": 1}, headers=admin))
    ok(
        await client.post(
            url, json={"name": "Runner-up", "rank_from": 2, "rank_to": 3}, headers=admin
        )
    )
    return setup
