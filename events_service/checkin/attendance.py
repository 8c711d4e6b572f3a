"""What the door and the organisers see of an event: counts, gates, the flow over time."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from events_service.checkin.schemas import (
    AttendanceOut,
    AttendeeLookupOut,
    AttendeeRow,
    BucketCount,
    GateCount,
)
from events_service.db import Query, as_datetime, default_connection, fetch_rows
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


def bucket_start(moment: datetime) -> datetime:
    """The start of the BUCKET-long slot holding `moment`, in UTC: the moment floored
    to a whole number of BUCKETs since the epoch (exact: timedeltas are integers)."""
    moment = moment.astimezone(UTC)
    return moment - (moment - _EPOCH) % BUCKET


_bucket_start = bucket_start  # its name in tests/test_checkin.py


# The admissions of an event ($1) per gate, and per BUCKET-long slot: the slot's start
# as whole seconds since the epoch, floored as _bucket_start floors (every timezone's
# offset is a whole number of 5 minutes, so the slots are the same in the event's
# timezone). Counted by the database over the (event_id, admitted_at) index; 300 is
# BUCKET in seconds.
BY_GATE = (
    "SELECT gate, COUNT(*) AS n FROM admission WHERE event_id = $1 GROUP BY gate ORDER BY gate"
)
BY_BUCKET = Query(
    postgres="""
SELECT (floor(extract(epoch FROM admitted_at) / 300) * 300)::bigint AS slot,
       COUNT(*) AS n
FROM admission WHERE event_id = $1 GROUP BY 1 ORDER BY 1""",
    # SQLite holds the ORM's ISO text with its offset; strftime('%s') reads it as UTC.
    sqlite="""
SELECT (CAST(strftime('%s', admitted_at) AS INTEGER) / 300) * 300 AS slot,
       COUNT(*) AS n
FROM admission WHERE event_id = $1 GROUP BY 1 ORDER BY 1""",
)


async def attendance(event_id: int, locale: str = DEFAULT_LOCALE) -> AttendanceOut:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(words(locale).gettext(NO_EVENT, id=event_id))
    waitlisted = await Registration.filter(
        event_id=event_id, status=RegistrationStatus.WAITLISTED
    ).count()
    conn = default_connection()
    by_gate = [
        GateCount(row["gate"], int(row["n"])) for row in await fetch_rows(conn, BY_GATE, [event_id])
    ]
    by_bucket = [
        BucketCount(datetime.fromtimestamp(int(row["slot"]), UTC), int(row["n"]))
        for row in await fetch_rows(conn, BY_BUCKET, [event_id])
    ]
    admitted = sum(gate.admitted for gate in by_gate)
    return AttendanceOut(
        event_id=event_id,
        registered=event.confirmed_count,
        admitted=admitted,
        not_yet_admitted=max(event.confirmed_count - admitted, 0),
        waitlisted=waitlisted,
        by_gate=by_gate,
        by_5_minutes=by_bucket,
    )


@dataclass(frozen=True)
class LoggedScan:
    """One line of an event's scan log, as organisers see it."""

    id: int
    verdict: str
    gate: str
    at: datetime
    registration_id: int | None
    name: str | None
    staff: str | None
    admitted: bool
    """The registration is admitted now (its admission can be undone)."""


LATEST_SCANS = """
SELECT l.id, l.verdict, l.gate, l.created_at, l.registration_id, p.name,
       COALESCE(NULLIF(s.name, ''), s.email) AS staff, a.id AS admission_id
FROM scan_log l
LEFT JOIN registration r ON r.id = l.registration_id
LEFT JOIN person p ON p.id = r.person_id
LEFT JOIN staff_user s ON s.id = l.staff_id
LEFT JOIN admission a ON a.registration_id = l.registration_id
WHERE l.event_id = $1
ORDER BY l.created_at DESC, l.id DESC
LIMIT $2"""


async def latest_scans(event_id: int, limit: int = 20) -> list[LoggedScan]:
    """The event's last `limit` scans (undos included), newest first, over the
    (event_id, created_at) index."""
    rows = await fetch_rows(default_connection(), LATEST_SCANS, [event_id, limit])
    return [
        LoggedScan(
            id=row["id"],
            verdict=row["verdict"],
            gate=row["gate"],
            at=as_datetime(row["created_at"]),
            registration_id=row["registration_id"],
            name=row["name"],
            staff=row["staff"],
            admitted=row["admission_id"] is not None,
        )
        for row in rows
    ]


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
