"""What the door and the organisers see of an event: counts, gates, the flow over time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from events_service.checkin.schemas import AttendanceOut, AttendeeRow, BucketCount, GateCount
from events_service.errors import NotFound
from models import Admission, Event, Registration
from models.enums import RegistrationStatus

BUCKET = timedelta(minutes=5)
LOOKUP_LIMIT = 20


def _bucket_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


async def attendance(event_id: int) -> AttendanceOut:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
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


async def find_attendees(event_id: int, q: str) -> list[AttendeeRow]:
    """Staff look-up for people without their phone: name, e-mail or phone."""
    if not await Event.exists(id=event_id):
        raise NotFound(f"No event {event_id}.")
    needle = " ".join(q.split())
    if not needle:
        return []
    digits = "".join(ch for ch in needle if ch.isdigit())
    match = Q(person__name__icontains=needle) | Q(person__email__icontains=needle.casefold())
    if len(digits) >= 4:
        match |= Q(person__phone__contains=digits)
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
        rows.append(
            AttendeeRow(
                registration_id=registration.id,
                name=person.name,
                email=person.email,
                phone=person.phone,
                organisation=person.organisation.name if person.organisation else None,
                status=registration.status.value,
                admitted_at=admission.admitted_at if admission else None,
                gate=admission.gate if admission else None,
            )
        )
    return rows
