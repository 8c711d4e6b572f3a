"""Public registration: one seat per person per event, never more seats than exist.

The invariants (DESIGN.md) rest on the database, not on Python:
- the link quota and the event capacity are taken by conditional UPDATEs;
- one registration per person and event is a unique constraint; a concurrent
  duplicate rolls its whole transaction back and gets the existing ticket.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, DomainError, NotFound
from events_service.identity import organisation_key
from events_service.registration.forms import CleanRegistration
from events_service.registration.waitlist import free_seat, promote_waitlisted, take_seat
from models import Admission, Event, Organisation, Person, Registration, RegistrationLink
from models.enums import EventStatus, RegistrationStatus


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
            LinkState.UNKNOWN: "No such registration link",
            LinkState.NOT_OPEN: "Registration has not opened yet",
            LinkState.CLOSED: "Registration is closed",
            LinkState.QUOTA_REACHED: "This link's places are taken",
            LinkState.SOLD_OUT: "The event is sold out",
            LinkState.CANCELLED: "The event is cancelled",
        }[state]
        if state is LinkState.UNKNOWN:
            self.status_code = 404  # type: ignore[assignment]
        elif state is LinkState.CANCELLED:
            self.status_code = 410  # type: ignore[assignment]


@dataclass(frozen=True)
class RegistrationResult:
    registration: Registration
    # False when the person was already registered and got their existing ticket.
    created: bool


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


async def find_link(slug: str) -> RegistrationLink | None:
    return await RegistrationLink.get_or_none(slug=slug).select_related("event")


def new_manage_token() -> str:
    return secrets.token_urlsafe(24)


async def register(slug: str, form: CleanRegistration) -> RegistrationResult:
    link = await find_link(slug)
    event = link.event if link else None
    state = link_state(link, event, timezone.now())
    if state not in (LinkState.OPEN, LinkState.WAITLIST_ONLY, LinkState.SOLD_OUT):
        raise refuse(state)
    assert link is not None and event is not None

    # The common retry (a second tap, the same person again): no write at all.
    existing = await Registration.get_or_none(person__email=form.email, event_id=event.id).exclude(
        status=RegistrationStatus.CANCELLED
    )
    if existing is not None:
        return RegistrationResult(existing, created=False)
    try:
        return await _register_in_transaction(link, event, form)
    except IntegrityError:
        # Another request for the same person won the race; its ticket is theirs.
        existing = await Registration.get_or_none(person__email=form.email, event_id=event.id)
        if existing is None:
            raise
        return RegistrationResult(existing, created=False)


async def _register_in_transaction(
    link: RegistrationLink, event: Event, form: CleanRegistration
) -> RegistrationResult:
    now = timezone.now()
    async with in_transaction() as conn:
        organisation = None
        if form.organisation:
            organisation, _ = await Organisation.get_or_create(
                name_key=organisation_key(form.organisation),
                defaults={"name": form.organisation},
                using_db=conn,
            )
        details = {
            "name": form.name,
            "phone": form.phone,
            "job_title": form.job_title,
            "organisation": organisation,
            "locale": form.locale,
        }
        person, created = await Person.get_or_create(
            email=form.email, defaults=details, using_db=conn
        )
        if not created:
            # Registering again is the person telling us their current details.
            person.update_from_dict(details)
            await person.save(using_db=conn)

        previous = (
            await Registration.filter(person_id=person.id, event_id=event.id)
            .select_for_update()
            .using_db(conn)
            .first()
        )
        if previous is not None and previous.status != RegistrationStatus.CANCELLED:
            return RegistrationResult(previous, created=False)

        # The link quota first, the event's seat last: the event row is the hot one,
        # so its lock is held for as little of the transaction as possible.
        quota_ok = await (
            RegistrationLink.filter(Q(quota__isnull=True) | Q(used_count__lt=F("quota")))
            .filter(id=link.id)
            .using_db(conn)
            .update(used_count=F("used_count") + 1)
        )
        if not quota_ok:
            raise refuse(LinkState.QUOTA_REACHED)
        if await take_seat(event.id, conn):
            status = RegistrationStatus.CONFIRMED
        elif event.waitlist_enabled:
            status = RegistrationStatus.WAITLISTED
        else:
            raise refuse(LinkState.SOLD_OUT)

        if previous is not None:
            previous.update_from_dict(
                {
                    "status": status,
                    "link_id": link.id,
                    "locale": form.locale,
                    "consent_at": now,
                    "cancelled_at": None,
                    "promoted_at": None,
                }
            )
            await previous.save(using_db=conn)
            registration = previous
        else:
            registration = await Registration.create(
                person=person,
                event_id=event.id,
                link_id=link.id,
                status=status,
                manage_token=new_manage_token(),
                locale=form.locale,
                consent_at=now,
                using_db=conn,
            )
    return RegistrationResult(registration, created=True)


async def get_ticket(manage_token: str) -> Registration:
    registration = await Registration.get_or_none(manage_token=manage_token).select_related(
        "event", "person", "person__organisation"
    )
    if registration is None:
        raise NotFound("No ticket with this link. Check the link in your confirmation.")
    return registration


class AlreadyAdmitted(Conflict):
    slug = "already-admitted"
    title = "The ticket has been used"


async def cancel(manage_token: str) -> tuple[Registration, list[int]]:
    """Cancel a ticket, free its seat and promote from the waitlist, in one transaction.

    Returns the registration and the ids promoted. Cancelling twice is harmless.
    """
    async with in_transaction() as conn:
        registration = (
            await Registration.filter(manage_token=manage_token)
            .select_for_update()
            .using_db(conn)
            .first()
        )
        if registration is None:
            raise NotFound("No ticket with this link.")
        if registration.status == RegistrationStatus.CANCELLED:
            return registration, []
        if await Admission.filter(registration_id=registration.id).using_db(conn).exists():
            raise AlreadyAdmitted("This ticket was used at the door; it cannot be cancelled.")
        was_confirmed = registration.status == RegistrationStatus.CONFIRMED
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = timezone.now()
        await registration.save(using_db=conn, update_fields=["status", "cancelled_at"])
        if registration.link_id is not None:  # type: ignore[attr-defined]
            await (
                RegistrationLink.filter(id=registration.link_id, used_count__gt=0)  # type: ignore[attr-defined]
                .using_db(conn)
                .update(used_count=F("used_count") - 1)
            )
        promoted: list[int] = []
        if was_confirmed:
            await free_seat(registration.event_id, conn)  # type: ignore[attr-defined]
            promoted = await promote_waitlisted(registration.event_id, conn)  # type: ignore[attr-defined]
    return registration, promoted
