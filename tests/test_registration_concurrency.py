"""The registration invariants under many concurrent clients (DESIGN.md, "Invariants").

Each test fires its requests at once (asyncio.gather over HTTP), never in a loop.
On PostgreSQL the app's connection pool runs the transactions truly in parallel;
the last test drives a real two-worker server process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from events_service.identity import organisation_key
from events_service.registration import service as registration_service
from models import Event, Organisation, Person, Registration, RegistrationLink
from models.enums import RegistrationStatus
from tests.conftest import Backend, LoginAs, _asyncpg_dsn
from tests.factories import attendee, make_event, make_link, register, token_of
from tests.pg_waits import wait_for_lock_waiters
from tests.server import cli_env, run_cli, server_process


@pytest.fixture
async def admin(login_as: LoginAs) -> dict[str, str]:
    return await login_as("admin")


async def _all_at_once(client: httpx.AsyncClient, slug: str, bodies: list[dict]) -> list:
    return await asyncio.gather(*(register(client, slug, body) for body in bodies))


async def _spread_over_links(
    client: httpx.AsyncClient, admin: dict[str, str], event_id: int, bodies: list[dict]
) -> list:
    """All at once through four channels: only the event's seat count is shared.

    (Through a single link the link's own counter row would queue the requests
    and hide a race on the event's seats.)
    """
    slugs = [
        (await make_link(client, admin, event_id, label=f"channel {n}"))["slug"] for n in range(4)
    ]
    return await asyncio.gather(
        *(register(client, slugs[n % 4], body) for n, body in enumerate(bodies))
    )


async def _statuses(event_id: int) -> Counter[str]:
    return Counter(r.status.value for r in await Registration.filter(event_id=event_id))


async def test_500_at_once_on_100_seats_with_waitlist(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=100, waitlist_enabled=True)

    answers = await _spread_over_links(
        client, admin, event["id"], [attendee(n) for n in range(500)]
    )

    assert Counter(a.status_code for a in answers) == {201: 500}
    assert Counter(a.json()["status"] for a in answers) == {"confirmed": 100, "waitlisted": 400}
    assert await _statuses(event["id"]) == {"confirmed": 100, "waitlisted": 400}
    assert (await Event.get(id=event["id"])).confirmed_count == 100
    # The waitlist is in creation order: every seat went to an earlier registration.
    confirmed = await Registration.filter(event_id=event["id"], status="confirmed").values_list(
        "id", flat=True
    )
    waiting = await Registration.filter(event_id=event["id"], status="waitlisted").values_list(
        "id", flat=True
    )
    assert max(confirmed) < min(waiting)


async def test_500_at_once_on_100_seats_without_waitlist(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=100)

    answers = await _spread_over_links(
        client, admin, event["id"], [attendee(n) for n in range(500)]
    )

    assert Counter(a.status_code for a in answers) == {201: 100, 409: 400}
    refusals = {a.json()["type"] for a in answers if a.status_code == 409}
    assert refusals == {"/problems/sold-out"}
    assert await _statuses(event["id"]) == {"confirmed": 100}
    assert (await Event.get(id=event["id"])).confirmed_count == 100
    # A refusal leaves nothing behind: no link place taken, no person kept.
    used = await RegistrationLink.filter(event_id=event["id"]).values_list("used_count", flat=True)
    assert sum(used) == 100
    assert await Person.all().count() == 100


async def test_link_quota_30_under_100_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"], quota=30)

    answers = await _all_at_once(client, link["slug"], [attendee(n) for n in range(100)])

    assert Counter(a.status_code for a in answers) == {201: 30, 409: 70}
    assert {a.json()["type"] for a in answers if a.status_code == 409} == {
        "/problems/quota-reached"
    }
    assert await Registration.filter(event_id=event["id"]).count() == 30
    assert (await RegistrationLink.get(slug=link["slug"])).used_count == 30
    assert await Person.all().count() == 30


async def test_a_burst_from_one_new_organisation_makes_one_organisation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Concurrent first registrations of one organisation race to create it: one row,
    everybody attached to it, nobody refused for it."""
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    spellings = ["Tongji Motors", "tongji motors", "TONGJI  Motors"]
    bodies = [attendee(n, organisation=spellings[n % 3]) for n in range(60)]

    answers = await _all_at_once(client, link["slug"], bodies)

    assert Counter(a.status_code for a in answers) == {201: 60}
    (organisation,) = await Organisation.all()
    people = await Person.all().values_list("organisation_id", flat=True)
    assert len(people) == 60 and set(people) == {organisation.id}


async def test_50_at_once_with_one_email_make_one_registration(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=10)
    link = await make_link(client, admin, event["id"])
    spellings = ["same@example.org", " SAME@example.org", "Same@Example.org  "]
    bodies = [attendee("x", email=spellings[n % 3]) for n in range(50)]

    answers = await _all_at_once(client, link["slug"], bodies)

    assert {a.status_code for a in answers} <= {200, 201}
    assert len({a.json()["registration_id"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    assert await Registration.filter(event_id=event["id"]).count() == 1
    assert (await Event.get(id=event["id"])).confirmed_count == 1


async def test_concurrent_cancels_promote_each_waiting_person_at_most_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=20, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    tickets = [
        (await register(client, link["slug"], attendee(n))).json() for n in range(50)
    ]  # sequential on purpose: a known order of seats and waitlist
    holders, waiting = tickets[:20], tickets[20:]
    leaving = holders[:15] + waiting[25:]  # 15 seat holders and the last 5 waiting

    answers = await asyncio.gather(
        *(client.post(f"/t/{token_of(t)}/cancel") for t in leaving + leaving[:10])
    )

    assert {a.status_code for a in answers} == {303}
    statuses = {r.id: r.status for r in await Registration.filter(event_id=event["id"])}
    confirmed = [i for i, s in statuses.items() if s == RegistrationStatus.CONFIRMED]
    assert len(confirmed) == 20
    assert (await Event.get(id=event["id"])).confirmed_count == 20
    # The 15 freed seats went to the 15 earliest of those still waiting.
    promoted = {t["registration_id"] for t in waiting[:15]}
    assert promoted <= set(confirmed)
    assert {t["registration_id"] for t in waiting[15:25]} == {
        i for i, s in statuses.items() if s == RegistrationStatus.WAITLISTED
    }


def test_two_worker_server_never_oversells(tmp_path: Path, server_database_url: str) -> None:
    env = cli_env(server_database_url, tmp_path, EVENTS_REGISTRATIONS_PER_MINUTE="100000")
    assert run_cli(
        "users", "create", "--email", "org@example.org", "--password", "organiser-pass",
        "--role", "admin", env=env, cwd=tmp_path,
    ).returncode == 0  # fmt: skip

    async def scenario(base: str) -> tuple[Counter[str], dict]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": "org@example.org", "password": "organiser-pass"},
            )
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            http.cookies.clear()
            event = await make_event(http, admin, capacity=50, waitlist_enabled=True)
            link = await make_link(http, admin, event["id"], quota=150)
            answers = await _all_at_once(http, link["slug"], [attendee(n) for n in range(200)])
            outcome = Counter(
                a.json()["status"] if a.status_code == 201 else a.json()["type"] for a in answers
            )
            final = (await http.get(f"/api/v1/events/{event['id']}", headers=admin)).json()
            return outcome, final

    with server_process(env, tmp_path, workers=2) as base:
        outcome, event = asyncio.run(scenario(base))

    assert outcome == {"confirmed": 50, "waitlisted": 100, "/problems/quota-reached": 50}
    assert event["confirmed"] == 50 and event["seats_left"] == 0


async def test_an_organisation_created_meanwhile_is_found_and_used(
    client: httpx.AsyncClient, admin: dict[str, str], db: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registration that meets an organisation another transaction is creating waits
    for it, then joins that organisation: one row, no refusal, no duplicate."""
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    if db.name != "postgres":  # one writer: SQLite cannot interleave the two
        answer = await register(client, link["slug"], attendee(1, organisation="Tongji Motors"))
        assert answer.status_code == 201
        return

    async def no_fallback(*args: object, **kwargs: object) -> None:
        raise AssertionError("the single statement should have retried and succeeded")

    # The statement itself must see the new organisation on its retry; falling back to
    # the step-by-step path would hide a broken retry.
    monkeypatch.setattr(registration_service, "_register_in_transaction", no_fallback)
    other = await asyncpg.connect(_asyncpg_dsn(db.database_url))
    try:
        creating = other.transaction()
        await creating.start()
        made = await other.fetchval(
            "INSERT INTO organisation (name, name_key, kind, created_at) "
            "VALUES ('Tongji Motors', $1, 'unspecified', now()) RETURNING id",
            organisation_key("Tongji Motors"),
        )
        pending = asyncio.create_task(
            register(client, link["slug"], attendee(1, organisation="tongji motors"))
        )
        # The registration's insert of the organisation queues behind the uncommitted one.
        await wait_for_lock_waiters(db.database_url, 1)
        assert not pending.done()  # waiting on the uncommitted organisation
        await creating.commit()
        answer = await pending
    finally:
        await other.close()

    assert answer.status_code == 201, answer.text
    assert await Organisation.all().values_list("id", flat=True) == [made]
    person = await Person.get(email="attendee1@example.org")
    assert person.organisation_id == made
