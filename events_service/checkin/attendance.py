"""What the door and the organisers see of an event: counts, gates, the flow over time."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from events_service.checkin.schemas import (
    AttendanceOut,
    AttendeeLookupOut,
    AttendeeRow,
    BucketCount,
    GateCount,
)
from events_service.errors import NotFound
from events_service.identity import normalise_email
from events_service.locale import DEFAULT_LOCALE, N_, words
from events_service.privacy.masks import mask_email, mask_phone
from events_service.registration.forms import normalise_phone
from models import Admission, AttendeeLookup, Event, Registration
from models.enums import RegistrationStatus

logger = logging.getLogger(__name__)

BUCKET = timedelta(minutes=5)
LOOKUP_LIMIT = 20


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A refusal, in the language of the request (each function's `locale`).
NO_EVENT = N_("No event %(id)s.")


def _bucket_start(moment: datetime) -> datetime:
    """The start of the BUCKET-long slot holding `moment`, in UTC: the moment floored
    to a whole number of BUCKETs since the epoch (exact: timedeltas are integers)."""
    moment = moment.astimezone(UTC)
    return moment - (moment - _EPOCH) % BUCKET


async def attendance(event_id: int, locale: str = DEFAULT_LOCALE) -> AttendanceOut:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(words(locale).gettext(NO_EVENT, id=event_id))
    waitlisted = await Registration.filter(
        event_id=event_id, status=RegistrationStatus.WAITLISTED
    ).count()
    admissions = await Admission.filter(event_id=event_id).values_list("gate", "admitted_at")
    by_gate = Counter(gate for gate, _ in admissions)
    by_bucket = Counter(_bucket_start(moment) for _, moment in admissions)
    admitted = len(admissions)
    return AttendanceOut(
        event_id=event_id,
        registered=event.confirmed_count,
        admitted=admitted,
        not_yet_admitted=max(event.confirmed_count - admitted, 0),
        waitlisted=waitlisted,
        by_gate=[GateCount(gate, n) for gate, n in sorted(by_gate.items())],
        by_5_minutes=[BucketCount(start, n) for start, n in sorted(by_bucket.items())],
    )


def query_digest(audit_key: bytes, query: str) -> str:
    """A short keyed hash of a look-up's text: the audit can show one query repeated
    without holding the name or phone number typed (a plain hash of a phone number
    is reversed by trying them all)."""
    return hmac.new(audit_key, query.casefold().encode(), hashlib.sha256).hexdigest()[:16]


async def find_attendees(
    event_id: int,
    q: str,
    *,
    staff_id: int,
    show_contacts: bool,
    audit_key: bytes,
    locale: str = DEFAULT_LOCALE,
) -> list[AttendeeRow]:
    """Staff look-up for people without their phone: by name, e-mail or phone.

    Door staff need the name, organisation and status; the e-mail and phone are
    masked unless `show_contacts` (organisers). Every look-up is recorded (who,
    which event, how many people it showed; never the text) for organisers to
    review at GET /api/v1/events/{id}/lookups."""
    if not await Event.exists(id=event_id):
        raise NotFound(words(locale).gettext(NO_EVENT, id=event_id))
    needle = " ".join(q.split())
    rows = await _matching(event_id, needle, show_contacts) if needle else []
    digest = query_digest(audit_key, needle)
    await AttendeeLookup.create(
        staff_id=staff_id, event_id=event_id, query_hash=digest, results=len(rows)
    )
    logger.info(
        "attendee look-up: staff %s, event %s, %d result(s), query #%s",
        staff_id, event_id, len(rows), digest,
    )  # fmt: skip
    return rows


async def _matching(event_id: int, needle: str, show_contacts: bool) -> list[AttendeeRow]:
    match = Q(person__name__icontains=needle)
    if show_contacts:
        digits = "".join(ch for ch in needle if ch.isdigit())
        match |= Q(person__email__icontains=needle.casefold())
        if len(digits) >= 4:
            match |= Q(person__phone__contains=digits)
    else:
        # Door staff find a person by the whole address or number only: a substring
        # match would spell out a masked address one guessed character at a time.
        match |= Q(person__email=normalise_email(needle))
        phone = normalise_phone(needle)
        if phone is not None:
            match |= Q(person__phone=phone)
    registrations = (
        await Registration.filter(match, event_id=event_id)
        .exclude(status=RegistrationStatus.CANCELLED)
        .order_by("person__name", "id")
        .limit(LOOKUP_LIMIT)
        .prefetch_related("person__organisation", "admission")
    )
    rows = []
    for registration in registrations:
        person = registration.person
        admission = (
            registration.admission if isinstance(registration.admission, Admission) else None
        )
        email, phone = person.email, person.phone
        if not show_contacts:
            email, phone = mask_email(email), phone and mask_phone(phone)
        rows.append(
            AttendeeRow(
                registration_id=registration.id,
                name=person.name,
                email=email,
                phone=phone,
                organisation=person.organisation.name if person.organisation else None,
                status=registration.status.value,
                admitted_at=admission.admitted_at if admission else None,
                gate=admission.gate if admission else None,
            )
        )
    return rows


async def lookups(
    event_id: int, limit: int, locale: str = DEFAULT_LOCALE
) -> list[AttendeeLookupOut]:
    """The event's attendee look-ups, newest first."""
    if not await Event.exists(id=event_id):
        raise NotFound(words(locale).gettext(NO_EVENT, id=event_id))
    found = (
        await AttendeeLookup.filter(event_id=event_id)
        .order_by("-created_at", "-id")
        .limit(limit)
        .select_related("staff")
    )
    return [
        AttendeeLookupOut(
            staff_id=entry.staff_id,  # type: ignore[attr-defined]
            staff_email=entry.staff.email if entry.staff else None,
            results=entry.results,
            query_hash=entry.query_hash,
            created_at=entry.created_at,
        )
        for entry in found
    ]
