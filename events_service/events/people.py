"""Organiser-side reading of people: a search across every event, and one person's
record (their registrations, admissions and the e-mails sent to them). Read only:
every change goes through the registration and check-in services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events_service.db import as_datetime, default_connection, fetch_rows
from events_service.errors import NotFound
from events_service.events.service import people_matching_sql, search_values
from events_service.locale import translatable

PEOPLE_SHOWN = 25
MESSAGES_SHOWN = 50


@dataclass(frozen=True)
class PersonHit:
    id: int
    name: str
    email: str
    organisation: str | None
    registrations: int


_SEARCH_WHERE = f"p.id IN ({people_matching_sql(1)})"


async def find_people(q: str, *, limit: int = PEOPLE_SHOWN) -> tuple[list[PersonHit], int]:
    """People whose name, e-mail or organisation contains `q` (any case), by name,
    with how many registrations each has; and how many match in all."""
    needle = q.strip()
    if not needle:
        return [], 0
    conn = default_connection()
    values: list[Any] = search_values(needle)
    joins = "FROM person p LEFT JOIN organisation o ON o.id = p.organisation_id"
    counted = await fetch_rows(
        conn,
        f"SELECT COUNT(*) AS n {joins} WHERE {_SEARCH_WHERE}",
        values,
    )
    rows = await fetch_rows(
        conn,
        f"""SELECT p.id, p.name, p.email, o.name AS organisation,
    (SELECT COUNT(*) FROM registration r WHERE r.person_id = p.id) AS registrations
{joins} WHERE {_SEARCH_WHERE}
ORDER BY p.name, p.id LIMIT $3""",  # noqa: S608 - fixed text
        [*values, limit],
    )
    hits = [
        PersonHit(
            row["id"], row["name"], row["email"], row["organisation"], int(row["registrations"])
        )
        for row in rows
    ]
    return hits, int(counted[0]["n"])


@dataclass(frozen=True)
class PersonDetails:
    id: int
    name: str
    email: str
    phone: str | None
    job_title: str | None
    organisation: str | None
    locale: str
    created_at: datetime
    first_admitted_at: datetime | None


@dataclass(frozen=True)
class PersonRegistration:
    id: int
    event_id: int
    event_title: str
    timezone: str
    status: str
    link: str | None
    created_at: datetime
    cancelled_at: datetime | None
    promoted_at: datetime | None
    admitted_at: datetime | None


@dataclass(frozen=True)
class PersonAdmission:
    registration_id: int
    event_id: int
    event_title: str
    timezone: str
    gate: str
    admitted_at: datetime


@dataclass(frozen=True)
class SentMessage:
    kind: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class PersonRecord:
    person: PersonDetails
    registrations: list[PersonRegistration]
    admissions: list[PersonAdmission]
    messages: list[SentMessage]


def _moment(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)


async def person_record(person_id: int) -> PersonRecord:
    """Everything the console shows of one person: four statements."""
    conn = default_connection()
    found = await fetch_rows(
        conn,
        """SELECT p.id, p.name, p.email, p.phone, p.job_title, p.locale, p.created_at,
    p.first_admitted_at, o.name AS organisation
FROM person p LEFT JOIN organisation o ON o.id = p.organisation_id WHERE p.id = $1""",
        [person_id],
    )
    if not found:
        raise NotFound(translatable("No person %(person_id)s.", person_id=person_id))
    row = found[0]
    person = PersonDetails(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        job_title=row["job_title"],
        organisation=row["organisation"],
        locale=row["locale"],
        created_at=as_datetime(row["created_at"]),
        first_admitted_at=_moment(row["first_admitted_at"]),
    )
    registrations = [
        PersonRegistration(
            id=r["id"],
            event_id=r["event_id"],
            event_title=r["title"],
            timezone=r["timezone"],
            status=r["status"],
            link=r["link"],
            created_at=as_datetime(r["created_at"]),
            cancelled_at=_moment(r["cancelled_at"]),
            promoted_at=_moment(r["promoted_at"]),
            admitted_at=_moment(r["admitted_at"]),
        )
        for r in await fetch_rows(
            conn,
            """SELECT r.id, r.event_id, e.title, e.timezone, r.status, l.label AS link,
    r.created_at, r.cancelled_at, r.promoted_at, a.admitted_at
FROM registration r JOIN event e ON e.id = r.event_id
LEFT JOIN registration_link l ON l.id = r.link_id
LEFT JOIN admission a ON a.registration_id = r.id
WHERE r.person_id = $1 ORDER BY e.starts_at DESC, r.id DESC""",
            [person_id],
        )
    ]
    admissions = [
        PersonAdmission(
            registration_id=a["registration_id"],
            event_id=a["event_id"],
            event_title=a["title"],
            timezone=a["timezone"],
            gate=a["gate"],
            admitted_at=as_datetime(a["admitted_at"]),
        )
        for a in await fetch_rows(
            conn,
            """SELECT a.registration_id, a.event_id, e.title, e.timezone, a.gate, a.admitted_at
FROM admission a JOIN event e ON e.id = a.event_id
WHERE a.person_id = $1 ORDER BY a.admitted_at DESC""",
            [person_id],
        )
    ]
    # The outbox names a message's recipient by the address it goes to: the person's
    # (stored case-folded, as every message to them is addressed).
    messages = [
        SentMessage(
            kind=m["kind"],
            status=m["status"],
            created_at=as_datetime(m["created_at"]),
            sent_at=_moment(m["sent_at"]),
            last_error=m["last_error"],
        )
        for m in await fetch_rows(
            conn,
            """SELECT kind, status, created_at, sent_at, last_error FROM outbox_message
WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT $2""",
            [person.email, MESSAGES_SHOWN],
        )
    ]
    return PersonRecord(person, registrations, admissions, messages)
