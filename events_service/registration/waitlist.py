"""Seats and the waitlist: every seat is taken by a conditional update, never read-then-write."""

from __future__ import annotations

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import execute
from events_service.registration.statements import FREE_SEAT, TAKE_SEAT
from models import Person, Registration
from models.enums import RegistrationStatus
from notifications.outbox import Kind, dedupe_key, enqueue


async def take_seat(event_id: int, conn: BaseDBAsyncClient) -> bool:
    """Count one more confirmed person if a seat is free; False when the event is full
    (statements.TAKE_SEAT: one UPDATE with the oversell rule in its WHERE)."""
    return await execute(conn, TAKE_SEAT, [event_id]) == 1


async def free_seat(event_id: int, conn: BaseDBAsyncClient) -> None:
    await execute(conn, FREE_SEAT, [event_id])


async def promote_waitlisted(event_id: int, conn: BaseDBAsyncClient) -> list[int]:
    """Confirm the earliest waitlisted registrations while seats are free; their ids.

    Runs inside the caller's transaction. The candidate row is locked with SKIP
    LOCKED on PostgreSQL so concurrent cancellations promote different people,
    and the status change is conditional so nobody is promoted twice.
    """
    promoted: list[int] = []
    while True:
        candidate = (
            await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .using_db(conn)
            .first()
        )
        if candidate is None or not await take_seat(event_id, conn):
            return promoted
        changed = (
            await Registration.filter(id=candidate.id, status=RegistrationStatus.WAITLISTED)
            .using_db(conn)
            # updated_at too: the door bundle's delta finds changed registrations by it.
            .update(
                status=RegistrationStatus.CONFIRMED,
                promoted_at=timezone.now(),
                updated_at=timezone.now(),
            )
        )
        if changed != 1:
            await free_seat(event_id, conn)
            continue
        promoted.append(candidate.id)
        await _tell_promoted(conn, candidate)


async def _tell_promoted(conn: BaseDBAsyncClient, registration: Registration) -> None:
    (email,) = (
        await Person.filter(id=registration.person_id)
        .using_db(conn)
        .values_list(  # type: ignore[attr-defined]
            "email", flat=True
        )
    )
    await enqueue(
        kind=Kind.REGISTRATION_PROMOTED,
        # Promoted twice only after leaving the event and joining its waitlist again.
        dedupe_key=dedupe_key(
            Kind.REGISTRATION_PROMOTED, registration.id, registration.updated_at.timestamp()
        ),
        recipient=email,
        locale=registration.locale,
        payload={"registration_id": registration.id},
        using_db=conn,
    )
