"""Public registration: one seat per person per event, never more seats than exist.

The invariants (DESIGN.md) rest on the database, not on Python:
- the link quota and the event capacity are taken by conditional UPDATEs;
- one registration per person and event is a unique constraint; a concurrent
  duplicate rolls its whole transaction back and is answered as a duplicate;
- a duplicate never sees the existing ticket: whoever typed the address may not be
  its owner. The ticket is e-mailed to the address again instead (rate-limited),
  and registering never changes the details of a person who exists.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from events_service import metrics
from events_service.db import Engine, default_connection, engine_of, execute, fetch_rows
from events_service.errors import Conflict, DomainError, NotFound
from events_service.identity import organisation_key
from events_service.locale import N_, translatable
from events_service.privacy.keys import person_key, previous_person_key
from events_service.registration.forms import CleanRegistration
from events_service.registration.statements import (
    INSERT_REGISTRATION,
    LOCK_REGISTRATION,
    REACTIVATE_REGISTRATION,
    REGISTER_PG,
    REKEY_PERSON,
    TAKE_QUOTA,
    TICKET_MAIL,
    TICKET_OF,
)
from events_service.registration.upserts import upsert_person
from events_service.registration.waitlist import free_seat, promote_waitlisted, take_seat
from models import Admission, Event, OutboxMessage, Person, Registration, RegistrationLink
from models.enums import EventStatus, RegistrationStatus
from notifications.outbox import Kind, dedupe_key, enqueue


class LinkState(StrEnum):
    OPEN = "open"
    WAITLIST_ONLY = "waitlist_only"
    UNKNOWN = "unknown"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    QUOTA_REACHED = "quota_reached"
    SOLD_OUT = "sold_out"
    CANCELLED = "cancelled"


class RegistrationRefused(DomainError):
    status_code = 409  # type: ignore[assignment]
    state: LinkState = LinkState.CLOSED

    def __init__(self, state: LinkState, detail: str) -> None:
        super().__init__(detail, extra={"reason": state.value})
        self.state = state
        self.slug = {
            LinkState.UNKNOWN: "link-not-found",
            LinkState.NOT_OPEN: "registration-not-open",
            LinkState.CLOSED: "registration-closed",
            LinkState.QUOTA_REACHED: "quota-reached",
            LinkState.SOLD_OUT: "sold-out",
            LinkState.CANCELLED: "event-cancelled",
        }[state]
        self.title = {
            LinkState.UNKNOWN: N_("No such registration link"),
            LinkState.NOT_OPEN: N_("Registration has not opened yet"),
            LinkState.CLOSED: N_("Registration is closed"),
            LinkState.QUOTA_REACHED: N_("This link's places are taken"),
            LinkState.SOLD_OUT: N_("The event is sold out"),
            LinkState.CANCELLED: N_("The event is cancelled"),
        }[state]
        if state is LinkState.UNKNOWN:
            self.status_code = 404  # type: ignore[assignment]
        elif state is LinkState.CANCELLED:
            self.status_code = 410  # type: ignore[assignment]


@dataclass(frozen=True)
class Ticket:
    registration_id: int
    status: RegistrationStatus
    manage_token: str
    locale: str  # the registration's, which its e-mails are written in


@dataclass(frozen=True)
class RegistrationResult:
    ticket: Ticket
    # False when the person was already registered: nothing changed, and the ticket
    # was e-mailed to them again (never shown to whoever asked).
    created: bool
    # True when this request created the person, so that everything the ticket page
    # shows is what the requester typed. Otherwise the ticket goes out by e-mail only:
    # its page would show a stranger the person's name and contact details.
    new_person: bool = False

    @property
    def ticket_shown(self) -> bool:
        """May the answer carry the ticket (its page, its manage token)?"""
        return self.created and self.new_person


def registration_window(link: RegistrationLink, event: Event) -> tuple[datetime | None, datetime]:
    """When registration through this link opens (None: now) and closes."""
    opens = [t for t in (link.opens_at, event.registration_opens_at) if t is not None]
    closes = [t for t in (link.closes_at, event.registration_closes_at) if t is not None]
    return (max(opens) if opens else None), min([*closes, event.ends_at])


def link_state(link: RegistrationLink | None, event: Event | None, now: datetime) -> LinkState:
    """What someone opening the link sees now (the seat itself is decided at submit)."""
    if link is None or event is None or event.status == EventStatus.DRAFT:
        return LinkState.UNKNOWN
    if event.status == EventStatus.CANCELLED:
        return LinkState.CANCELLED
    opens, closes = registration_window(link, event)
    if event.status == EventStatus.CLOSED or not link.active or now >= closes:
        return LinkState.CLOSED
    if opens is not None and now < opens:
        return LinkState.NOT_OPEN
    if link.quota is not None and link.used_count >= link.quota:
        return LinkState.QUOTA_REACHED
    if event.capacity is not None and event.confirmed_count >= event.capacity:
        return LinkState.WAITLIST_ONLY if event.waitlist_enabled else LinkState.SOLD_OUT
    return LinkState.OPEN


_REFUSAL_DETAIL = {
    LinkState.UNKNOWN: "This registration link does not exist. Check the link you were sent.",
    LinkState.NOT_OPEN: "Registration through this link has not opened yet.",
    LinkState.CLOSED: "Registration through this link is closed.",
    LinkState.QUOTA_REACHED: "All places offered through this link are taken.",
    LinkState.SOLD_OUT: "The event is sold out and has no waitlist.",
    LinkState.CANCELLED: "The event has been cancelled.",
}


def refuse(state: LinkState) -> RegistrationRefused:
    return RegistrationRefused(state, _REFUSAL_DETAIL[state])


def _columns(model: type[Model], alias: str) -> str:
    columns = sorted(model._meta.db_fields)
    return ", ".join(f'{alias}.{column} AS "{alias}.{column}"' for column in columns)


@functools.cache
def _link_and_event() -> str:
    """The ORM's select_related as one fixed statement: every registration starts here.
    (Built on first use: the models' column sets are complete once Tortoise is up.)"""
    return f"""
SELECT {_columns(RegistrationLink, "l")}, {_columns(Event, "e")}
FROM registration_link l JOIN event e ON e.id = l.event_id
WHERE l.slug = $1
"""  # noqa: S608 - only our own models' column names are formatted in


async def find_link(slug: str) -> RegistrationLink | None:
    """The link with its event loaded (link.event), or None."""
    rows = await fetch_rows(default_connection(), _link_and_event(), [slug])
    if not rows:
        return None
    parts: dict[str, dict[str, Any]] = {"l": {}, "e": {}}
    for key, value in rows[0].items():
        alias, _, column = key.partition(".")
        parts[alias][column] = value
    link = RegistrationLink._init_from_db(**parts["l"])
    # Where select_related would put it: `link.event` then needs no query.
    object.__setattr__(link, "_event", Event._init_from_db(**parts["e"]))
    return link


def new_manage_token() -> str:
    return secrets.token_urlsafe(24)


async def _ticket_of(conn: BaseDBAsyncClient, key: str, email: str, event_id: int) -> Ticket | None:
    rows = await fetch_rows(conn, TICKET_OF, [key, email, event_id])
    if not rows:
        return None
    row = rows[0]
    return Ticket(row["id"], RegistrationStatus(row["status"]), row["manage_token"], row["locale"])


# A ticket is mailed again at most once per registration in this time, however
# often its address is typed into a form.
RESEND_EVERY = timedelta(minutes=10)


def _resend_key(registration_id: int, window: int) -> str:
    return dedupe_key("registration.again", registration_id, window)


async def register(slug: str, form: CleanRegistration) -> RegistrationResult:
    """Register the form's person through the link; a duplicate gets its ticket mailed."""
    try:
        result = await _place(slug, form)
    except RegistrationRefused:
        metrics.registered("refused")
        raise
    if not result.created:
        metrics.registered("duplicate")
        await resend_ticket(result.ticket, form.email)
    else:
        metrics.registered(result.ticket.status.value)
    return result


async def resend_ticket(ticket: Ticket, email: str) -> bool:
    """Queue the ticket e-mail of an existing registration to its own address again;
    False when it was mailed again less than RESEND_EVERY ago (or there is no ticket).

    Time is cut into windows of RESEND_EVERY; the dedupe key names the window, so
    concurrent repeats queue one message, and a message of the window before that is
    younger than RESEND_EVERY holds the next one back. The e-mail is built from the
    registration's rows at send time, as the first one was.
    """
    if ticket.status == RegistrationStatus.CANCELLED:
        return False
    now = timezone.now()
    window = int(now.timestamp() // RESEND_EVERY.total_seconds())
    recent = OutboxMessage.filter(
        dedupe_key=_resend_key(ticket.registration_id, window - 1),
        created_at__gt=now - RESEND_EVERY,
    )
    if await recent.exists():
        return False
    return await enqueue(
        kind=TICKET_MAIL[ticket.status],
        dedupe_key=_resend_key(ticket.registration_id, window),
        recipient=email,
        locale=ticket.locale,
        payload={"registration_id": ticket.registration_id},
    )


async def _place(slug: str, form: CleanRegistration) -> RegistrationResult:
    link = await find_link(slug)
    event = link.event if link else None
    state = link_state(link, event, timezone.now())
    if state not in (LinkState.OPEN, LinkState.WAITLIST_ONLY, LinkState.SOLD_OUT):
        raise refuse(state)
    assert link is not None and event is not None

    conn = default_connection()
    key = person_key(form.email)
    if (previous := previous_person_key(form.email)) is not None:
        # A key rotation is under way (privacy/keys.py): re-key this person first.
        await execute(conn, REKEY_PERSON, [key, previous])
    if engine_of(conn) is Engine.POSTGRES:
        try:
            placed = await _register_in_one_statement(conn, link, event, form, key)
        except IntegrityError:
            placed = None  # a concurrent request for the same person won: see below
        if placed is not None:
            return placed
    # The common retry (a second tap, the same person again): no write at all.
    existing = await _ticket_of(default_connection(), key, form.email, event.id)
    if existing is not None and existing.status != RegistrationStatus.CANCELLED:
        return RegistrationResult(existing, created=False)
    try:
        return await _register_in_transaction(link, event, form, key, cancelled=existing)
    except IntegrityError:
        # Another request for the same person won the race (the unique index on
        # person and event refused us, and our seat went back with the rollback).
        winner = await _ticket_of(default_connection(), key, form.email, event.id)
        if winner is None:
            raise
        return RegistrationResult(winner, created=False)


async def _register_in_transaction(
    link: RegistrationLink,
    event: Event,
    form: CleanRegistration,
    key: str,
    cancelled: Ticket | None,
) -> RegistrationResult:
    now = timezone.now()
    async with in_transaction() as conn:
        person_id, new_person = await upsert_person(conn, form, key)
        if cancelled is not None:
            current = await fetch_rows(conn, LOCK_REGISTRATION, [cancelled.registration_id])
            if current[0]["status"] != RegistrationStatus.CANCELLED.value:
                # Re-registered meanwhile by a concurrent request: that ticket stands.
                ticket = await _ticket_of(conn, key, form.email, event.id)
                assert ticket is not None
                return RegistrationResult(ticket, created=False)

        ticket = await _take_place_step_by_step(conn, person_id, link, event, form, now, cancelled)
        # A registration brought back after a cancellation is a new cause of its own.
        again = (now.timestamp(),) if cancelled is not None else ()
        kind = TICKET_MAIL[ticket.status]
        await enqueue(
            kind=kind,
            dedupe_key=dedupe_key(kind, ticket.registration_id, *again),
            recipient=form.email,
            locale=form.locale,
            payload={"registration_id": ticket.registration_id},
            using_db=conn,
        )
    return RegistrationResult(ticket, created=True, new_person=new_person)


async def _register_in_one_statement(
    conn: BaseDBAsyncClient,
    link: RegistrationLink,
    event: Event,
    form: CleanRegistration,
    key: str,
) -> RegistrationResult | None:
    """REGISTER_PG; None when only the general path can answer (a cancelled
    registration to bring back, or a lost race for the same person)."""
    org_key = organisation_key(form.organisation) if form.organisation else None
    token = new_manage_token()
    for _ in range(3):  # a new organisation created concurrently: once more sees it
        values = [form.email, form.name, form.phone, form.job_title, form.organisation,
                  org_key, form.locale, timezone.now(), event.id, link.id, token,
                  event.waitlist_enabled, key]  # fmt: skip
        (row,) = await fetch_rows(conn, REGISTER_PG, values)
        if row["existing_id"] is not None:
            status = RegistrationStatus(row["existing_status"])
            if status == RegistrationStatus.CANCELLED:
                return None
            existing = Ticket(
                row["existing_id"], status, row["existing_token"], row["existing_locale"]
            )
            return RegistrationResult(existing, created=False)
        if row["went"]:
            break
    else:
        return None
    if not row["on_link"]:
        raise refuse(LinkState.QUOTA_REACHED)
    if row["id"] is None:
        raise refuse(LinkState.SOLD_OUT)  # and nothing was taken or written
    ticket = Ticket(row["id"], RegistrationStatus(row["status"]), token, form.locale)
    return RegistrationResult(ticket, created=True, new_person=bool(row["new_person"]))


async def _take_place_step_by_step(
    conn: BaseDBAsyncClient,
    person_id: int,
    link: RegistrationLink,
    event: Event,
    form: CleanRegistration,
    now: datetime,
    cancelled: Ticket | None,
) -> Ticket:
    """The same as the one statement, for SQLite (one writer: nothing waits on locks)
    and for bringing back a cancelled registration."""
    # The link quota first, the event's seat last: the event row is the hot one.
    if not await execute(conn, TAKE_QUOTA, [link.id]):
        raise refuse(LinkState.QUOTA_REACHED)
    if await take_seat(event.id, conn):
        status = RegistrationStatus.CONFIRMED
    elif event.waitlist_enabled:
        status = RegistrationStatus.WAITLISTED
    else:
        raise refuse(LinkState.SOLD_OUT)
    if cancelled is not None:
        values = [cancelled.registration_id, status.value, link.id, form.locale, now]
        await execute(conn, REACTIVATE_REGISTRATION, values)
        return Ticket(cancelled.registration_id, status, cancelled.manage_token, form.locale)
    token = new_manage_token()
    values = [person_id, event.id, link.id, status.value, token, form.locale, now]
    rows = await fetch_rows(conn, INSERT_REGISTRATION, values)
    return Ticket(rows[0]["id"], status, token, form.locale)


async def get_ticket(manage_token: str) -> Registration:
    registration = await Registration.get_or_none(manage_token=manage_token).select_related(
        "event", "person", "person__organisation"
    )
    if registration is None:
        raise NotFound(
            translatable("No ticket with this link. Check the link in your confirmation.")
        )
    return registration


class AlreadyAdmitted(Conflict):
    slug = "already-admitted"
    title = N_("The ticket has been used")


async def cancel(manage_token: str) -> tuple[Registration, list[int]]:
    """Cancel a ticket, free its seat and promote from the waitlist, in one transaction.

    Returns the registration and the ids promoted. Cancelling twice is harmless, and
    so is cancelling a ticket of a cancelled event (it changes nothing).
    """
    async with in_transaction() as conn:
        registration = (
            await Registration.filter(manage_token=manage_token)
            .select_for_update()
            .using_db(conn)
            .first()
        )
        if registration is None:
            raise NotFound(translatable("No ticket with this link."))
        return registration, await _cancel_locked(conn, registration)


async def cancel_registration(registration_id: int) -> tuple[Registration, list[int]]:
    """An organiser cancels a registration by its id: the attendee's cancel exactly
    (the seat freed, the waitlist promoted, the same e-mails queued)."""
    async with in_transaction() as conn:
        registration = (
            await Registration.filter(id=registration_id).select_for_update().using_db(conn).first()
        )
        if registration is None:
            raise NotFound(
                translatable(
                    "No registration %(registration_id)s.", registration_id=registration_id
                )
            )
        return registration, await _cancel_locked(conn, registration)


async def _cancel_locked(conn: BaseDBAsyncClient, registration: Registration) -> list[int]:
    """Cancel the registration locked in `conn`'s transaction; the ids promoted."""
    if registration.status == RegistrationStatus.CANCELLED:
        return []
    if (
        await Event.filter(
            id=registration.event_id,  # type: ignore[attr-defined]
            status=EventStatus.CANCELLED,
        )
        .using_db(conn)
        .exists()
    ):
        # Nothing to free: a cancelled event promotes nobody and mails no "place
        # freed up" for a day that will not happen. (Its page offers no cancel.)
        return []
    if await Admission.filter(registration_id=registration.id).using_db(conn).exists():
        raise AlreadyAdmitted(
            translatable("This ticket was used at the door; it cannot be cancelled.")
        )
    was_confirmed = registration.status == RegistrationStatus.CONFIRMED
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = timezone.now()
    # updated_at: the door bundle's delta finds changed registrations by it.
    await registration.save(using_db=conn, update_fields=["status", "cancelled_at", "updated_at"])
    if registration.link_id is not None:  # type: ignore[attr-defined]
        await (
            RegistrationLink.filter(id=registration.link_id, used_count__gt=0)  # type: ignore[attr-defined]
            .using_db(conn)
            .update(used_count=F("used_count") - 1)
        )
    recipient = await _email_of(conn, registration.person_id)  # type: ignore[attr-defined]
    if recipient is not None:  # None: the person's data was erased, nobody to tell
        await enqueue(
            kind=Kind.REGISTRATION_CANCELLED,
            dedupe_key=dedupe_key(
                Kind.REGISTRATION_CANCELLED, registration.id, registration.cancelled_at.timestamp()
            ),
            recipient=recipient,
            locale=registration.locale,
            payload={"registration_id": registration.id},
            using_db=conn,
        )
    if not was_confirmed:
        return []
    await free_seat(registration.event_id, conn)  # type: ignore[attr-defined]
    return await promote_waitlisted(registration.event_id, conn)  # type: ignore[attr-defined]


async def resend_ticket_of(registration_id: int) -> bool:
    """An organiser e-mails a registration's ticket again (resend_ticket's rules: not
    for a cancelled one, at most once in RESEND_EVERY)."""
    registration = await Registration.get_or_none(id=registration_id).select_related("person")
    if registration is None:
        raise NotFound(
            translatable("No registration %(registration_id)s.", registration_id=registration_id)
        )
    ticket = Ticket(
        registration.id, registration.status, registration.manage_token, registration.locale
    )
    if registration.person.email is None:  # erased: no address to mail it to
        return False
    return await resend_ticket(ticket, registration.person.email)


async def _email_of(conn: BaseDBAsyncClient, person_id: int) -> str | None:
    (email,) = await Person.filter(id=person_id).using_db(conn).values_list("email", flat=True)
    return email
