"""Organiser-side domain logic: events, their status, registration links and figures."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from events_service.boundary import MAX_ROW_ID
from events_service.db import as_datetime, default_connection, fetch_rows
from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.events.schemas import (
    EventCreate,
    EventOut,
    EventPatch,
    LinkCreate,
    LinkFigures,
    LinkOut,
    LinkPatch,
    RegistrationRow,
)
from events_service.locale import translatable
from events_service.registration.waitlist import promote_waitlisted
from models import Admission, Event, Registration, RegistrationLink
from models.enums import EventKind, EventStatus, RegistrationStatus
from notifications.outbox import Kind
from notifications.reminders import queue_for_event

# Which status changes an organiser may make. Cancelling is final.
_TRANSITIONS: dict[EventStatus, set[EventStatus]] = {
    EventStatus.DRAFT: {EventStatus.PUBLISHED, EventStatus.CANCELLED},
    EventStatus.PUBLISHED: {EventStatus.CLOSED, EventStatus.CANCELLED, EventStatus.DRAFT},
    EventStatus.CLOSED: {EventStatus.PUBLISHED, EventStatus.CANCELLED},
    EventStatus.CANCELLED: set(),
}

_TIME_FIELDS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "checkin_opens_at",
    "checkin_closes_at",
)


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            translatable("%(name)r is not an IANA time zone such as Asia/Shanghai.", name=name)
        ) from None
    return name


def _check_times(values: dict[str, Any]) -> None:
    for name in _TIME_FIELDS:
        value = values.get(name)
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise Unprocessable(
                translatable(
                    "%(name)s needs a UTC offset, e.g. 2026-05-01T09:00:00+08:00.", name=name
                ),
                extra={"errors": [{"field": name, "message": "missing UTC offset"}]},
            )
    pairs = (
        ("starts_at", "ends_at"),
        ("registration_opens_at", "registration_closes_at"),
        ("checkin_opens_at", "checkin_closes_at"),
    )
    for first, last in pairs:
        start, end = values.get(first), values.get(last)
        if start is not None and end is not None and end <= start:
            refusal = translatable("%(last)s must be after %(first)s.", last=last, first=first)
            raise Unprocessable(refusal, extra={"errors": [{"field": last, "message": refusal}]})


def event_out(event: Event) -> EventOut:
    seats_left = None
    if event.capacity is not None:
        seats_left = max(event.capacity - event.confirmed_count, 0)
    return EventOut(
        id=event.id,
        kind=event.kind.value,
        title=event.title,
        description=event.description,
        venue=event.venue,
        timezone=event.timezone,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        capacity=event.capacity,
        waitlist_enabled=event.waitlist_enabled,
        registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at,
        checkin_opens_at=event.checkin_opens_at,
        checkin_closes_at=event.checkin_closes_at,
        door_names_offline=event.door_names_offline,
        status=event.status.value,
        confirmed=event.confirmed_count,
        seats_left=seats_left,
        retention_days=event.retention_days,
    )


async def create_event(data: EventCreate, programme_id: int | None = None) -> Event:
    values = msgspec.structs.asdict(data)
    _check_timezone(data.timezone)
    _check_times(values)
    return await Event.create(**values, programme_id=programme_id)


async def get_event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))
    return event


async def list_events(
    *,
    q: str | None = None,
    kind: EventKind | None = None,
    status: EventStatus | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
    ends_after: datetime | None = None,
    ends_before: datetime | None = None,
    newest_first: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], int]:
    """Events by start, soonest first (`newest_first`: latest first, for looking back)."""
    query = Event.all()
    if q and q.strip():
        query = query.filter(title__icontains=q.strip())
    if kind is not None:
        query = query.filter(kind=kind)
    if status is not None:
        query = query.filter(status=status)
    if starts_after is not None:
        query = query.filter(starts_at__gte=starts_after)
    if starts_before is not None:
        query = query.filter(starts_at__lt=starts_before)
    if ends_after is not None:
        query = query.filter(ends_at__gte=ends_after)
    if ends_before is not None:
        query = query.filter(ends_at__lt=ends_before)
    total = await query.count()
    order = ("-starts_at", "-id") if newest_first else ("starts_at", "id")
    events = await query.order_by(*order).offset(offset).limit(limit)
    return events, total


async def update_event(event_id: int, patch: EventPatch) -> Event:
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    async with in_transaction() as conn:
        event = await Event.select_for_update().using_db(conn).get_or_none(id=event_id)
        if event is None:
            raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))
        if "timezone" in changes:
            _check_timezone(changes["timezone"])
        merged = {name: getattr(event, name) for name in _TIME_FIELDS} | {
            k: v for k, v in changes.items() if k in _TIME_FIELDS
        }
        _check_times(merged)
        if "status" in changes:
            _check_transition(event.status, changes["status"])
        new_capacity = changes.get("capacity", event.capacity)
        if new_capacity is not None and new_capacity < event.confirmed_count:
            refusal = translatable(
                "%(confirmed)s people are already confirmed; cancel registrations before "
                "lowering the capacity to %(capacity)s.",
                confirmed=event.confirmed_count,
                capacity=new_capacity,
            )
            raise Conflict(refusal, extra={"errors": [{"field": "capacity", "message": refusal}]})
        before = _attendee_facing(event)
        was_cancelled = event.status == EventStatus.CANCELLED
        for name, value in changes.items():
            setattr(event, name, value)
        await event.save(using_db=conn)
        # More seats (or none limited any more): the waitlist moves up at once.
        await promote_waitlisted(event.id, conn)
        await event.refresh_from_db(using_db=conn)
        await _tell_attendees(conn, event, before, was_cancelled)
    return event


HOLDING_A_PLACE = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
"""Whom a change to the event or its cancellation is e-mailed to: everyone holding a
place (confirmed or waitlisted), one message per registration."""


async def attendees_to_tell(event_id: int) -> int:
    """How many messages cancelling the event, or changing its time or place, would
    queue now: one SQL COUNT by the rule `_tell_attendees` sends by. What an
    organiser is told before they confirm."""
    return await Registration.filter(event_id=event_id, status__in=HOLDING_A_PLACE).count()


def tells_of_changes(event: Event) -> bool:
    """Whether a change of the event's time or place is e-mailed (not while a draft)."""
    return event.status != EventStatus.DRAFT


def _attendee_facing(event: Event) -> tuple[str, ...]:
    """What people already registered rely on: when and where."""
    return (
        event.starts_at.isoformat(),
        event.ends_at.isoformat(),
        event.timezone,
        event.venue or "",
    )


async def _tell_attendees(
    conn: BaseDBAsyncClient, event: Event, before: tuple[str, ...], was_cancelled: bool
) -> None:
    """Queue, in the change's transaction, a message to everyone holding a place."""
    if event.status == EventStatus.CANCELLED and not was_cancelled:
        await queue_for_event(
            conn,
            event.id,
            kind=Kind.EVENT_CANCELLED,
            cause=(event.id,),
            statuses=HOLDING_A_PLACE,
        )
        return
    after = _attendee_facing(event)
    if after != before and tells_of_changes(event):
        # The new facts name the change: the same edit saved twice queues once.
        version = hashlib.sha256("|".join(after).encode()).hexdigest()[:12]
        await queue_for_event(
            conn,
            event.id,
            kind=Kind.EVENT_CHANGED,
            cause=(event.id, version),
            statuses=HOLDING_A_PLACE,
        )


def _check_transition(current: EventStatus, wanted: EventStatus) -> None:
    if wanted != current and wanted not in _TRANSITIONS[current]:
        raise Conflict(
            translatable(
                "An event that is %(current_value)s cannot become %(wanted_value)s.",
                current_value=current.value,
                wanted_value=wanted.value,
            )
        )


def next_statuses(current: EventStatus) -> set[EventStatus]:
    """The statuses an event that is `current` may be given (none once cancelled)."""
    return set(_TRANSITIONS[current])


async def set_status(event_id: int, wanted: EventStatus) -> Event:
    return await update_event(event_id, EventPatch(status=wanted))


def new_link_slug() -> str:
    """An unguessable slug: 96 random bits, URL-safe."""
    return secrets.token_urlsafe(12)


def link_url(public_base_url: str, slug: str) -> str:
    return f"{public_base_url}/r/{slug}"


def _closes_before_opens() -> Unprocessable:
    refusal = translatable("closes_at must be after opens_at.")
    return Unprocessable(refusal, extra={"errors": [{"field": "closes_at", "message": refusal}]})


async def create_link(event_id: int, data: LinkCreate) -> RegistrationLink:
    event = await get_event(event_id)
    _check_times({"opens_at": data.opens_at, "closes_at": data.closes_at})
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise _closes_before_opens()
    for _ in range(3):
        try:
            return await RegistrationLink.create(
                event=event, slug=new_link_slug(), **msgspec.structs.asdict(data)
            )
        except IntegrityError:  # a slug collision: astronomically rare, just draw again
            continue
    raise Conflict(translatable("Could not allocate a link slug; try again."))


async def get_link(slug: str) -> RegistrationLink:
    link = await RegistrationLink.get_or_none(slug=slug)
    if link is None:
        raise NotFound(translatable("No registration link %(slug)r.", slug=slug))
    return link


async def update_link(slug: str, patch: LinkPatch) -> RegistrationLink:
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    link = await get_link(slug)
    opens = changes.get("opens_at", link.opens_at)
    closes = changes.get("closes_at", link.closes_at)
    _check_times({"opens_at": opens, "closes_at": closes})
    if opens and closes and closes <= opens:
        raise _closes_before_opens()
    quota = changes.get("quota", link.quota)
    if quota is not None and quota < link.used_count:
        refusal = translatable(
            "%(link_used_count)s people already registered through this link.",
            link_used_count=link.used_count,
        )
        raise Conflict(refusal, extra={"errors": [{"field": "quota", "message": refusal}]})
    for name, value in changes.items():
        setattr(link, name, value)
    await link.save()
    return link


async def link_figures(event_id: int) -> dict[int | None, LinkFigures]:
    figures: dict[int | None, LinkFigures] = defaultdict(LinkFigures)
    rows = (
        await Registration.filter(event_id=event_id)
        .annotate(n=Count("id"))
        .group_by("link_id", "status")
        .values("link_id", "status", "n")
    )
    for row in rows:
        entry = figures[row["link_id"]]
        setattr(entry, str(RegistrationStatus(row["status"]).value), row["n"])
        entry.registrations += row["n"]
    admitted = (
        await Admission.filter(event_id=event_id)
        .annotate(n=Count("id"))
        .group_by("registration__link_id")
        .values("registration__link_id", "n")
    )
    for row in admitted:
        figures[row["registration__link_id"]].admitted = row["n"]
    return figures


def link_out(link: RegistrationLink, base_url: str, figures: LinkFigures) -> LinkOut:
    return LinkOut(
        slug=link.slug,
        event_id=link.event_id,  # type: ignore[attr-defined]
        label=link.label,
        url=link_url(base_url, link.slug),
        quota=link.quota,
        opens_at=link.opens_at,
        closes_at=link.closes_at,
        active=link.active,
        figures=figures,
    )


async def list_links(event_id: int) -> tuple[list[RegistrationLink], dict[int | None, LinkFigures]]:
    await get_event(event_id)
    links = await RegistrationLink.filter(event_id=event_id).order_by("id")
    return links, await link_figures(event_id)


@dataclass(frozen=True)
class RegistrationFilter:
    """What an organiser narrows an event's registrations to: a search over name,
    e-mail and organisation, a status, a link, admitted or not (None: any)."""

    q: str | None = None
    status: RegistrationStatus | None = None
    link_slug: str | None = None
    admitted: bool | None = None


def like_pattern(needle: str) -> str:
    """`needle` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _registration_where(event_id: int, where: RegistrationFilter) -> tuple[list[str], list[Any]]:
    """The WHERE conditions on `registration r` alone (no join: the COUNT and the page's
    ids come from registration's indexes), and their values ($1...)."""
    conditions, values = ["r.event_id = $1"], [event_id]
    if where.status is not None:
        values.append(where.status.value)
        conditions.append(f"r.status = ${len(values)}")
    if where.link_slug is not None:
        values.append(where.link_slug)
        conditions.append(
            f"r.link_id = (SELECT id FROM registration_link WHERE slug = ${len(values)})"  # noqa: S608
        )
    if where.admitted is not None:
        test = "EXISTS" if where.admitted else "NOT EXISTS"
        conditions.append(f"{test} (SELECT 1 FROM admission x WHERE x.registration_id = r.id)")  # noqa: S608
    needle = (where.q or "").strip()
    if needle:
        values += search_values(needle)
        conditions.append(f"r.person_id IN ({people_matching_sql(len(values) - 1)})")
    return conditions, values


def search_values(needle: str) -> list[str]:
    """The values of people_matching_sql: names and organisations in any case; e-mail
    addresses are stored case-folded."""
    return [like_pattern(needle.lower()), like_pattern(needle.casefold())]


def people_matching_sql(first: int) -> str:
    """The ids of the people whose name, e-mail or organisation contains a text, with
    search_values in $first and $first+1. Each branch can use its own trigram index on
    PostgreSQL (migration 0010), so a search does not read every person of the event."""
    name, email = f"${first}", f"${first + 1}"
    return f"""SELECT sp.id FROM person sp
    WHERE LOWER(sp.name) LIKE {name} ESCAPE '\\' OR sp.email LIKE {email} ESCAPE '\\'
    UNION SELECT sp.id FROM person sp JOIN organisation so ON so.id = sp.organisation_id
    WHERE LOWER(so.name) LIKE {name} ESCAPE '\\'"""  # noqa: S608 - placeholders only


# One page of rows: the page's registration ids are picked first (from registration
# alone), then only those rows are joined for display.
_PAGE_COLUMNS = """r.id, r.status, r.person_id, r.created_at, r.cancelled_at,
    p.name, p.email, p.phone, p.job_title, o.name AS organisation, l.label AS link,
    a.admitted_at, a.gate"""
_PAGE_JOINS = """JOIN person p ON p.id = r.person_id
LEFT JOIN organisation o ON o.id = p.organisation_id
LEFT JOIN registration_link l ON l.id = r.link_id
LEFT JOIN admission a ON a.registration_id = r.id"""


def registrations_count_sql(event_id: int, where: RegistrationFilter) -> tuple[str, list[Any]]:
    """The COUNT of an event's registrations the filter shows, as SQL and values."""
    conditions, values = _registration_where(event_id, where)
    sql = f"SELECT COUNT(*) AS n FROM registration r WHERE {' AND '.join(conditions)}"  # noqa: S608
    return sql, values


def registrations_page_sql(
    event_id: int,
    where: RegistrationFilter,
    *,
    limit: int | None,
    offset: int = 0,
    after_id: int = 0,
) -> tuple[str, list[Any]]:
    """One page of the rows the filter shows, ordered by id, as SQL and values:
    `offset` rows skipped (the pages of a table) or the rows after `after_id` (the
    pages of an export, which stay cheap however far they go)."""
    conditions, values = _registration_where(event_id, where)
    if after_id:
        values.append(after_id)
        conditions.append(f"r.id > ${len(values)}")
    window = ""
    if limit is not None:
        values.append(limit)
        window += f" LIMIT ${len(values)}"
    if offset:
        if limit is None:  # SQLite takes an OFFSET only after a LIMIT
            values.append(MAX_ROW_ID)
            window += f" LIMIT ${len(values)}"
        values.append(offset)
        window += f" OFFSET ${len(values)}"
    sql = f"""SELECT {_PAGE_COLUMNS}
FROM (SELECT r.id FROM registration r WHERE {" AND ".join(conditions)} ORDER BY r.id{window}) page
JOIN registration r ON r.id = page.id
{_PAGE_JOINS}
ORDER BY r.id"""  # noqa: S608 - only placeholders and fixed text are formatted in
    return sql, values


def _row(row: dict[str, Any]) -> RegistrationRow:
    admitted = row["admitted_at"]
    cancelled = row["cancelled_at"]
    return RegistrationRow(
        id=row["id"],
        status=row["status"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        organisation=row["organisation"],
        job_title=row["job_title"],
        link=row["link"],
        created_at=as_datetime(row["created_at"]),
        cancelled_at=as_datetime(cancelled) if cancelled is not None else None,
        admitted_at=as_datetime(admitted) if admitted is not None else None,
        person_id=row["person_id"],
        gate=row["gate"],
    )


async def count_registrations(event_id: int, where: RegistrationFilter) -> int:
    rows = await fetch_rows(default_connection(), *registrations_count_sql(event_id, where))
    return int(rows[0]["n"])


async def registrations_page(
    event_id: int,
    where: RegistrationFilter,
    *,
    limit: int | None = 50,
    offset: int = 0,
    after_id: int = 0,
) -> list[RegistrationRow]:
    sql, values = registrations_page_sql(
        event_id, where, limit=limit, offset=offset, after_id=after_id
    )
    return [_row(row) for row in await fetch_rows(default_connection(), sql, values)]


async def list_registrations(
    event_id: int,
    *,
    q: str | None = None,
    status: RegistrationStatus | None = None,
    link_slug: str | None = None,
    admitted: bool | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[RegistrationRow], int]:
    """A page of an event's registrations and how many the filter shows in all: two
    statements (a COUNT and the page with its joins), whatever the page's size."""
    await _check_event(event_id)
    where = RegistrationFilter(q=q, status=status, link_slug=link_slug, admitted=admitted)
    total = await count_registrations(event_id, where)
    rows = await registrations_page(event_id, where, limit=limit, offset=offset)
    return rows, total


async def _check_event(event_id: int) -> None:
    """A missing event is a 404 (read without loading the event)."""
    if not await Event.filter(id=event_id).exists():
        raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))


EXPORT_PAGE_ROWS = 500


async def registrations_for_export(
    event_id: int,
    *,
    q: str | None = None,
    status: RegistrationStatus | None = None,
    link_slug: str | None = None,
    admitted: bool | None = None,
    page_rows: int = EXPORT_PAGE_ROWS,
) -> AsyncIterator[RegistrationRow]:
    """The rows of list_registrations, a page at a time, for a streamed export.

    Checks the event now (a missing one is a 404 before anything is sent); the pages
    are read as the client takes them, each after the last id of the one before (no
    OFFSET: the last page costs what the first does). Ordered by id, so a
    registration arriving meanwhile lands at the end instead of shifting a page."""
    await _check_event(event_id)
    where = RegistrationFilter(q=q, status=status, link_slug=link_slug, admitted=admitted)

    async def rows() -> AsyncIterator[RegistrationRow]:
        after_id = 0
        while True:
            page = await registrations_page(event_id, where, limit=page_rows, after_id=after_id)
            for row in page:
                yield row
            if len(page) < page_rows:
                return
            after_id = page[-1].id

    return rows()


async def ticket_key(event_id: int, master_key: bytes) -> tuple[int, bytes]:
    from events_service.checkin.codes import event_public_key_bytes

    event = await get_event(event_id)
    return event.id, event_public_key_bytes(master_key, event.id)
