"""Messages queued by time or to everyone at an event, rather than by one person's action.

`queue_for_event` fans one cause out to an event's registrations in a single
INSERT ... SELECT (an event may have thousands). `queue_due_reminders` is run by
every delivery worker each minute; the dedupe keys make several workers (and
repeated passes) queue each reminder once.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import Engine, default_connection, fetch_rows, per_engine
from events_service.locale.dates import format_instant
from events_service.settings import Settings
from models import Event, JudgeAssignment, Round
from models.enums import AssignmentStatus, EventStatus, RegistrationStatus, RoundStatus
from notifications.outbox import (
    NEW_MESSAGE,
    Kind,
    dedupe_key,
    dedupe_key_sql,
    enqueue,
    insert_messages,
    registration_payload_sql,
)


def _fan_out(engine: Engine, statuses: tuple[RegistrationStatus, ...]) -> str:
    # Statuses are our own enum values, never user input.
    listed = ", ".join(f"'{status.value}'" for status in statuses)
    rows = f"""
SELECT $2, {dedupe_key_sql("$3", "r.id")}, p.email, r.locale,
       {registration_payload_sql(engine, "r.id")}, $4, $4, {NEW_MESSAGE}
-- Erased people (privacy/service.py) have no address: nobody to write to.
FROM registration r JOIN person p ON p.id = r.person_id
WHERE r.event_id = $1 AND p.email IS NOT NULL AND r.status IN ({listed})"""  # noqa: S608 - our own constants
    return insert_messages(rows) + "\nRETURNING id"


# Built once per set of statuses: a fixed statement for each of them.
_FAN_OUTS = {
    statuses: per_engine(lambda engine, statuses=statuses: _fan_out(engine, statuses))
    for statuses in (
        (RegistrationStatus.CONFIRMED,),
        (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED),
    )
}


async def queue_for_event(
    conn: BaseDBAsyncClient,
    event_id: int,
    *,
    kind: Kind,
    cause: tuple[object, ...] = (),
    statuses: tuple[RegistrationStatus, ...],
    now: datetime | None = None,
) -> int:
    """One message per registration of the event in `statuses`; the dedupe key is
    dedupe_key(kind, *cause, registration id). How many were queued."""
    values = [event_id, str(kind), dedupe_key(kind, *cause), now or timezone.now()]
    rows = await fetch_rows(conn, _FAN_OUTS[statuses], values)
    return len(rows)


async def queue_due_reminders(settings: Settings, now: datetime | None = None) -> int:
    now = now or timezone.now()
    conn = default_connection()
    queued = 0
    events = await Event.filter(
        status=EventStatus.PUBLISHED,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=settings.reminder_hours),
    ).values_list("id", flat=True)
    for event_id in events:
        queued += await queue_for_event(
            conn,
            event_id,
            kind=Kind.EVENT_REMINDER,
            statuses=(RegistrationStatus.CONFIRMED,),
            now=now,
        )
    lead = timedelta(hours=settings.round_reminder_hours)
    opening = await Round.filter(
        status__in=(RoundStatus.DRAFT, RoundStatus.OPEN),
        opens_at__gt=now,
        opens_at__lte=now + lead,
    ).select_related("event")
    for round_ in opening:
        queued += await _remind_judges(round_, settings, Kind.ROUND_OPENING_SOON)
    closing = await Round.filter(
        status=RoundStatus.OPEN, closes_at__gt=now, closes_at__lte=now + lead
    ).select_related("event")
    for round_ in closing:
        queued += await _remind_judges(round_, settings, Kind.ROUND_CLOSING_SOON)
    return queued


async def _remind_judges(round_: Round, settings: Settings, kind: Kind) -> int:
    """Judges of the round with sheets still unsubmitted, one message each."""
    open_sheets = await JudgeAssignment.filter(
        round_id=round_.id, status__not=AssignmentStatus.SUBMITTED, judge__active=True
    ).values_list("judge_id", "judge__email", "judge__name")
    pending = Counter((judge_id, email, name) for judge_id, email, name in open_sheets)
    zone, locale = round_.event.timezone, settings.default_locale
    moment = round_.opens_at if kind == Kind.ROUND_OPENING_SOON else round_.closes_at
    # The time is in the key: a round moved to a new time is reminded again.
    stamp = moment.timestamp()
    queued = 0
    for (judge_id, email, name), count in pending.items():
        queued += await enqueue(
            kind=kind,
            dedupe_key=dedupe_key(kind, round_.id, judge_id, stamp),
            recipient=email,
            locale=locale,
            payload={
                "name": name or email,
                "round": round_.name,
                "event": round_.event.title,
                "opens": format_instant(round_.opens_at, zone, locale) if round_.opens_at else "",
                "closes": format_instant(round_.closes_at, zone, locale)
                if round_.closes_at
                else "",
                "count": count,
                "path": "/judge",
            },
        )
    return queued
