"""A retention run while the doors and the registration link are busy (PostgreSQL).

The run locks people in id order, batch by batch; registrations lock link, event,
then one person; scans take the person's row for the reach. No cycle, so no
deadlock: every registration lands, and a past attendee who registers again while
their batch is being erased is either kept or erased and filled in again, never
left without their address at an open event.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from litestar import Litestar
from tortoise import timezone

from events_service.privacy.service import backfill_person_keys, run_retention
from events_service.reach.counter import verify
from events_service.registration.service import register
from models import Event, Person, Registration
from models.enums import EventKind, EventStatus, RegistrationStatus
from tests.conftest import Backend
from tests.test_privacy import _admit, _form, _open_event

PAST = 400
REGISTERING = 60
RETURNING = 20


async def test_retention_run_while_registrations_and_scans_go_on(
    app: Litestar, db: Backend
) -> None:
    if db.name != "postgres":
        pytest.skip("row locks and concurrent writers are PostgreSQL's")
    ended = timezone.now() - timedelta(days=500)
    old = await Event.create(
        kind=EventKind.SUMMIT,
        title="Long Ago",
        starts_at=ended - timedelta(hours=5),
        ends_at=ended,
        status=EventStatus.PUBLISHED,
    )
    await Person.bulk_create(
        [Person(email=f"person{n}@example.org", name=f"P {n}", locale="en") for n in range(PAST)]
    )
    past = await Person.filter(email__startswith="person").order_by("id")
    await Registration.bulk_create(
        [
            Registration(
                person_id=p.id,
                event_id=old.id,
                status=RegistrationStatus.CONFIRMED,
                manage_token=secrets.token_urlsafe(24),
            )
            for p in past
        ]
    )
    await backfill_person_keys()  # bulk_create gives no keys
    event, slug = await _open_event("Busy Now")
    admitted: list[str] = []

    async def one(n: int | str) -> int:
        result = await register(slug, _form(n))
        admitted.append(await _admit(event, result.ticket.registration_id))
        return result.ticket.registration_id

    newcomers = [f"new{n}" for n in range(REGISTERING)]
    # Past attendees coming back, spread over the run's batches.
    returning = list(range(0, PAST, PAST // RETURNING))
    work = [one(n) for n in newcomers] + [one(n) for n in returning]
    results = await asyncio.wait_for(
        asyncio.gather(run_retention(app.state.settings, batch_size=20), *work), timeout=120
    )
    run = results[0]
    assert admitted == ["admitted"] * (REGISTERING + RETURNING)
    at_event = await Registration.filter(event_id=event.id).count()
    assert at_event == REGISTERING + RETURNING  # none lost
    people = await Person.filter(registrations__event_id=event.id)
    assert len(people) == REGISTERING + RETURNING
    assert all(p.email and p.erased_at is None for p in people)
    # Everyone else from long ago is erased, once.
    erased = await Person.filter(erased_at__isnull=False).count()
    assert erased == PAST - RETURNING
    # Returning people erased before their registration were filled in again by it.
    assert PAST - RETURNING <= run.people <= PAST
    assert (await verify()).exact
