"""Organiser-side domain logic: events, their status, registration links and figures."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

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
        status=event.status.value,
        confirmed=event.confirmed_count,
        seats_left=seats_left,
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
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], int]:
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
    total = await query.count()
    events = await query.order_by("starts_at", "id").offset(offset).limit(limit)
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


async def list_registrations(
    event_id: int,
    *,
    q: str | None = None,
    status: RegistrationStatus | None = None,
    link_slug: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[RegistrationRow], int]:
    await get_event(event_id)
    query = Registration.filter(event_id=event_id)
    if status is not None:
        query = query.filter(status=status)
    if link_slug is not None:
        query = query.filter(link__slug=link_slug)
    if q:
        needle = q.strip()
        query = query.filter(
            Q(person__name__icontains=needle)
            | Q(person__email__icontains=needle.casefold())
            | Q(person__organisation__name__icontains=needle)
        )
    total = await query.count()
    page = (
        query.order_by("id")
        .offset(offset)
        .prefetch_related("person__organisation", "link", "admission")
    )
    if limit is not None:
        page = page.limit(limit)
    rows = []
    for registration in await page:
        person = registration.person
        admission = await _admission_of(registration)
        rows.append(
            RegistrationRow(
                id=registration.id,
                status=registration.status.value,
                name=person.name,
                email=person.email,
                phone=person.phone,
                organisation=person.organisation.name if person.organisation else None,
                job_title=person.job_title,
                link=registration.link.label if registration.link else None,
                created_at=registration.created_at,
                cancelled_at=registration.cancelled_at,
                admitted_at=admission.admitted_at if admission else None,
            )
        )
    return rows, total


EXPORT_PAGE_ROWS = 500


async def registrations_for_export(
    event_id: int,
    *,
    q: str | None = None,
    status: RegistrationStatus | None = None,
    link_slug: str | None = None,
    page_rows: int = EXPORT_PAGE_ROWS,
) -> AsyncIterator[RegistrationRow]:
    """The rows of list_registrations, a page at a time, for a streamed export.

    Checks the event now (a missing one is a 404 before anything is sent); the pages
    are read as the client takes them. Ordered by id, so a registration arriving
    meanwhile lands at the end instead of shifting a page."""
    await get_event(event_id)

    async def rows() -> AsyncIterator[RegistrationRow]:
        offset = 0
        while True:
            page, _ = await list_registrations(
                event_id, q=q, status=status, link_slug=link_slug, limit=page_rows, offset=offset
            )
            for row in page:
                yield row
            if len(page) < page_rows:
                return
            offset += page_rows

    return rows()


async def _admission_of(registration: Registration) -> Admission | None:
    # The reverse one-to-one is prefetched: reading it costs no query.
    admission = registration.admission
    if admission is None or isinstance(admission, Admission):
        return admission
    return await admission  # type: ignore[no-any-return]


async def ticket_key(event_id: int, master_key: bytes) -> tuple[int, bytes]:
    from events_service.checkin.codes import event_public_key_bytes

    event = await get_event(event_id)
    return event.id, event_public_key_bytes(master_key, event.id)
