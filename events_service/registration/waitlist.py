"""Seats and the waitlist: every seat is taken by a conditional update, never read-then-write."""

from __future__ import annotations

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from models import Event, Registration
from models.enums import RegistrationStatus


async def take_seat(event_id: int, conn: BaseDBAsyncClient) -> bool:
    """Count one more confirmed person if a seat is free; False when the event is full.

    One UPDATE with the capacity test in its WHERE: concurrent callers queue on
    the event row and each sees the count the previous one committed.
    """
    taken = (
        await Event.filter(Q(capacity__isnull=True) | Q(confirmed_count__lt=F("capacity")))
        .filter(id=event_id)
        .using_db(conn)
        .update(confirmed_count=F("confirmed_count") + 1)
    )
    return taken == 1


async def free_seat(event_id: int, conn: BaseDBAsyncClient) -> None:
    await (
        Event.filter(id=event_id, confirmed_count__gt=0)
        .using_db(conn)
        .update(confirmed_count=F("confirmed_count") - 1)
    )


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
            .update(status=RegistrationStatus.CONFIRMED, promoted_at=timezone.now())
        )
        if changed != 1:
            await free_seat(event_id, conn)
            continue
        promoted.append(candidate.id)
