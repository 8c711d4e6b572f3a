"""What the organisers see of the retention policy: the policy as configured, each
ended event's window (until when its attendees' data is kept, how many of them still
have it), how many people the next run erases, and the audit of every erasure.

Read-only, from the same rules the run uses (privacy.service): the windows are the
event's own retention days, else the setting's; the count due is the run's own
candidate query, so what is shown is what the next run does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from events_service.db import default_connection, fetch_rows
from events_service.privacy.service import retention_candidates
from events_service.settings import Settings
from models import ErasureRecord, Event, Person

EVENTS_SHOWN = 50


@dataclass(frozen=True)
class EventWindow:
    id: int
    title: str
    timezone: str
    ends_at: datetime
    days: int
    # The event's own number of days, not the service's default.
    own_days: bool
    keep_until: datetime
    # People registered for it whose personal data is still held.
    people_with_data: int

    def passed(self, now: datetime) -> bool:
        return self.keep_until <= now


@dataclass(frozen=True)
class RetentionOverview:
    default_days: int
    fields: tuple[str, ...]
    scheduled: bool
    every_hours: int
    due_now: int
    erased_total: int
    events: list[EventWindow]

    @property
    def organisation_kept(self) -> bool:
        return "organisation" not in self.fields


async def retention_overview(settings: Settings, now: datetime) -> RetentionOverview:
    """The policy and the windows of the most recently ended events."""
    ended = (
        await Event.filter(ends_at__lte=now)
        .order_by("-ends_at", "-id")
        .limit(EVENTS_SHOWN)
        .only("id", "title", "timezone", "ends_at", "retention_days")
    )
    holding = await _people_with_data([event.id for event in ended])
    windows = []
    for event in ended:
        days = settings.retention_days if event.retention_days is None else event.retention_days
        windows.append(
            EventWindow(
                id=event.id,
                title=event.title,
                timezone=event.timezone,
                ends_at=event.ends_at,
                days=days,
                own_days=event.retention_days is not None,
                keep_until=event.ends_at + timedelta(days=days),
                people_with_data=holding.get(event.id, 0),
            )
        )
    return RetentionOverview(
        default_days=settings.retention_days,
        fields=tuple(settings.retention_fields),
        scheduled=settings.retention_scheduled,
        every_hours=settings.retention_every_hours,
        due_now=len(await retention_candidates(now, settings)),
        erased_total=await Person.filter(erased_at__isnull=False).count(),
        events=windows,
    )


async def _people_with_data(event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    listed = ", ".join(f"${n}" for n in range(1, len(event_ids) + 1))
    rows = await fetch_rows(
        default_connection(),
        "SELECT r.event_id, COUNT(DISTINCT r.person_id) AS people FROM registration r "  # noqa: S608
        "JOIN person p ON p.id = r.person_id "
        f"WHERE p.erased_at IS NULL AND r.event_id IN ({listed}) GROUP BY r.event_id",
        event_ids,
    )
    return {int(row["event_id"]): int(row["people"]) for row in rows}


@dataclass(frozen=True)
class ErasureLog:
    records: list[ErasureRecord]
    total: int


async def erasure_log(*, limit: int, offset: int) -> ErasureLog:
    """The audit, newest first, with the staff member who erased (if one did)."""
    query = ErasureRecord.all()
    records = (
        await query.order_by("-created_at", "-id")
        .offset(offset)
        .limit(limit)
        .prefetch_related("staff")
    )
    return ErasureLog(records=list(records), total=await query.count())
