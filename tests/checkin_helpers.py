"""Events happening now, with tickets, for the door tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from litestar import Litestar
from tortoise import timezone

from events_service.checkin.codes import issue_code
from models import Event, Person, Registration
from models.enums import EventKind, EventStatus, RegistrationStatus
from tests.factories import attendee, in_days, make_event, make_link, register


@dataclass(frozen=True)
class Ticket:
    registration_id: int
    code: str
    name: str


async def event_now(client: httpx.AsyncClient, admin: dict[str, str], **fields: object) -> dict:
    """A published event whose doors are open now."""
    values = {"starts_at": in_days(-0.05), "ends_at": in_days(0.3), **fields}
    return await make_event(client, admin, **values)


async def ticket_for(
    app: Litestar, client: httpx.AsyncClient, event: dict, slug: str, n: int | str, **fields: object
) -> Ticket:
    body = attendee(n, **fields)
    registration = (await register(client, slug, body)).json()
    code = issue_code(app.state.settings.signing_key, registration["registration_id"], event["id"])
    return Ticket(registration["registration_id"], code, body["name"])


async def link_for(client: httpx.AsyncClient, admin: dict[str, str], event: dict) -> str:
    return (await make_link(client, admin, event["id"]))["slug"]


async def bulk_tickets(
    app: Litestar, people: int, events: int
) -> tuple[list[int], list[list[str]]]:
    """`events` events happening now and `people` people confirmed at each; fast, no HTTP.

    Returns the event ids and, per event, the ticket codes.
    """
    now = timezone.now()
    event_rows = [
        await Event.create(
            kind=EventKind.SUMMIT if n % 2 == 0 else EventKind.COMPETITION,
            title=f"Event {n}",
            starts_at=now,
            ends_at=now.replace(year=now.year + 1),
            status=EventStatus.PUBLISHED,
            capacity=None,
            confirmed_count=people,
        )
        for n in range(events)
    ]
    tag = secrets.token_hex(3)
    await Person.bulk_create(
        [Person(email=f"p{n}-{tag}@example.org", name=f"Person {n}") for n in range(people)]
    )
    persons = await Person.filter(email__endswith=f"-{tag}@example.org").order_by("id")
    await Registration.bulk_create(
        [
            Registration(
                person_id=person.id,
                event_id=event.id,
                status=RegistrationStatus.CONFIRMED,
                manage_token=secrets.token_urlsafe(24),
            )
            for event in event_rows
            for person in persons
        ]
    )
    key = app.state.settings.signing_key
    codes = []
    for event in event_rows:
        ids = (
            await Registration.filter(event_id=event.id).order_by("id").values_list("id", flat=True)
        )
        codes.append([issue_code(key, rid, event.id) for rid in ids])
    return [e.id for e in event_rows], codes
