"""One scenario through the registration and door code, and every row it leaves, as JSON.

Run as `python -m tests.engine_parity_scenario DATABASE_URL` on an empty database:
tests/test_engine_parity.py runs it on SQLite (the step-by-step statements) and on
PostgreSQL (the one-statement REGISTER_PG and ADMIT_PG) and compares the two outputs.
A process of its own per engine: Tortoise's connections are global to a process.

Rows are written out by their natural keys (e-mail, event title, link label), not by
ids: PostgreSQL spends sequence values on statements that insert nothing. Times the
scenario chooses (admissions) are given as minutes after its start; times the server
clock chooses are left out.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from tortoise import timezone

from events_service.checkin.service import ScanRequest, scan, undo_admission
from events_service.db import as_datetime, database, default_connection, fetch_rows, migrate
from events_service.privacy.keys import use_person_key
from events_service.reach.counter import verify
from events_service.registration.details import update_details
from events_service.registration.forms import CleanDetails, CleanRegistration
from events_service.registration.service import RegistrationRefused, cancel, register
from events_service.settings import Settings
from models import Event, RegistrationLink
from models.enums import EventKind, EventStatus


def _person(name: str, organisation: str | None) -> CleanRegistration:
    email = f"{name.lower()}@example.org"
    return CleanRegistration(name, email, None, organisation, None, "zh-Hans")


async def run_scenario() -> dict[str, Any]:
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(hours=1)

    async def event(title: str, kind: EventKind, capacity: int | None) -> Event:
        return await Event.create(
            kind=kind, title=title, starts_at=start, ends_at=now + timedelta(hours=5),
            capacity=capacity, waitlist_enabled=capacity is not None,
            status=EventStatus.PUBLISHED,
        )  # fmt: skip

    summit = await event("Summit", EventKind.SUMMIT, capacity=3)
    contest = await event("Contest", EventKind.COMPETITION, capacity=None)
    await RegistrationLink.create(event=summit, slug="summit-chat", label="chat", quota=2)
    await RegistrationLink.create(event=summit, slug="summit-mail", label="mail")
    await RegistrationLink.create(event=contest, slug="contest-mail", label="contest")

    outcomes: list[str] = []
    tickets: dict[tuple[str, str], Any] = {}

    async def sign_up(slug: str, person: CleanRegistration) -> None:
        try:
            result = await register(slug, person)
        except RegistrationRefused as refused:
            outcomes.append(f"{person.name}@{slug}: {refused.state}")
            return
        outcomes.append(f"{person.name}@{slug}: {result.ticket.status} created={result.created}")
        tickets[(person.name, slug.split("-")[0])] = result.ticket

    # A capped event with a waitlist and a link quota; a duplicate; a second event.
    for slug, who in [
        ("summit-chat", _person("Ada", "Acme Motors")),
        ("summit-chat", _person("Bo", "Acme Motors")),
        ("summit-chat", _person("Cai", "ACME motors")),  # the link's quota is used up
        ("summit-mail", _person("Cai", "ACME motors")),  # the last seat
        ("summit-mail", _person("Dan", None)),  # waitlisted
        ("summit-mail", _person("Eve", "Beta Labs")),  # waitlisted
        ("summit-mail", _person("Ada", "Someone Else")),  # a duplicate: mailed again
        ("contest-mail", _person("Ada", None)),
        ("contest-mail", _person("Cai", None)),
        ("contest-mail", _person("Fay", "Beta Labs")),
    ]:
        await sign_up(slug, who)

    # A cancellation frees a seat: the first waitlisted person is promoted.
    _, promoted = await cancel(tickets[("Bo", "summit")].manage_token)
    outcomes.append(f"promoted {len(promoted)}")
    # Fay moves to another organisation before she is first admitted.
    await update_details(
        tickets[("Fay", "contest")].manage_token, CleanDetails("Fay", None, "Acme Motors", None)
    )

    def at(minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    async def door(who: str, event_of: str, minutes: int, gate: str = "east") -> None:
        ticket = tickets[(who, event_of)]
        where = summit if event_of == "summit" else contest
        request = ScanRequest(
            event_id=where.id, gate=gate, staff_id=None,
            registration_id=ticket.registration_id, scanned_at=at(minutes),
        )  # fmt: skip
        result = await scan(request, master_key=b"\0" * 32)
        outcomes.append(f"scan {who}@{event_of}+{minutes}: {result.verdict}")

    await door("Ada", "summit", 5)
    await door("Ada", "contest", 10, gate="west")  # a second admission, not a first
    await door("Ada", "summit", 11)  # the same ticket again
    await door("Cai", "summit", 20)
    await door("Cai", "contest", 15)  # late from an offline scanner: predates the first
    await door("Eve", "summit", 21)  # waitlisted: no seat
    await door("Fay", "contest", 25)
    await door("Dan", "summit", 26)  # promoted, so admitted
    # Undo: Ada's first admission goes, her contest admission becomes her first;
    # Fay's only admission goes, and her organisation with it unless Acme still counts.
    await undo_admission(tickets[("Ada", "summit")].registration_id, staff_id=None)
    await undo_admission(tickets[("Fay", "contest")].registration_id, staff_id=None)
    await door("Fay", "contest", 30, gate="west")  # admitted again

    drift = await verify()
    return {
        "outcomes": outcomes,
        "drift": {"exact": drift.exact, "counted": str(drift.counted)},
        **await _rows(start),
    }


async def _rows(start: datetime) -> dict[str, Any]:
    def minutes(value: Any) -> float | None:
        return None if value is None else (as_datetime(value) - start).total_seconds() / 60

    conn = default_connection()

    async def rows(sql: str) -> list[dict[str, Any]]:
        return [dict(row) for row in await fetch_rows(conn, sql, [])]

    people = await rows("""
        SELECT p.email, p.person_key, p.name, p.locale, o.name AS organisation,
               p.first_admitted_at
        FROM person p LEFT JOIN organisation o ON o.id = p.organisation_id ORDER BY p.email""")
    for person in people:
        person["first_admitted_at"] = minutes(person["first_admitted_at"])
    organisations = await rows(
        "SELECT name, name_key, kind, first_benefitted_at FROM organisation ORDER BY name_key"
    )
    for organisation in organisations:
        organisation["first_benefitted_at"] = minutes(organisation["first_benefitted_at"])
    registrations = await rows("""
        SELECT p.email, e.title AS event, l.label AS link, r.status, r.locale,
               r.cancelled_at IS NOT NULL AS cancelled, r.promoted_at IS NOT NULL AS promoted
        FROM registration r JOIN person p ON p.id = r.person_id JOIN event e ON e.id = r.event_id
        LEFT JOIN registration_link l ON l.id = r.link_id ORDER BY p.email, e.title""")
    for registration in registrations:  # SQLite's booleans are 0 and 1
        registration["cancelled"] = bool(registration["cancelled"])
        registration["promoted"] = bool(registration["promoted"])
    admissions = await rows("""
        SELECT p.email, e.title AS event, a.gate, a.admitted_at
        FROM admission a JOIN person p ON p.id = a.person_id JOIN event e ON e.id = a.event_id
        ORDER BY p.email, e.title""")
    for admission in admissions:
        admission["admitted_at"] = minutes(admission["admitted_at"])
    scans = await rows("""
        SELECT l.verdict, e.title AS event, p.email, l.gate, l.code_hash
        FROM scan_log l JOIN event e ON e.id = l.event_id
        LEFT JOIN registration r ON r.id = l.registration_id
        LEFT JOIN person p ON p.id = r.person_id ORDER BY l.id""")
    messages = await rows("""
        SELECT kind, recipient, locale, status, attempts FROM outbox_message
        ORDER BY recipient, kind""")
    seats = await rows("SELECT title, capacity, confirmed_count FROM event ORDER BY title")
    links = await rows("SELECT label, quota, used_count FROM registration_link ORDER BY label")
    # Shards follow ids, which differ by engine; each figure's sum does not.
    counters = await rows("""
        SELECT 'admissions' AS key, SUM(admissions) AS value FROM programme_tally
        UNION ALL SELECT 'talents', SUM(talents) FROM programme_tally
        UNION ALL SELECT 'companies', SUM(companies) FROM company_tally
        UNION ALL SELECT 'event:' || e.title, SUM(t.admissions) FROM event_tally t
            JOIN event e ON e.id = t.event_id GROUP BY e.title
        UNION ALL SELECT 'talents:' || t.event_kind || ':' || t.day, SUM(t.talents)
            FROM talent_tally t GROUP BY t.event_kind, t.day""")
    counters = [row for row in counters if row["value"]]
    return {
        "people": people,
        "organisations": organisations,
        "registrations": registrations,
        "admissions": admissions,
        "scans": scans,
        "messages": messages,
        "seats": seats,
        "links": links,
        "counters": sorted((row["key"], int(row["value"])) for row in counters),
    }


async def main(database_url: str) -> None:
    # The same key on both engines: the person keys are compared too.
    use_person_key(Settings(person_key_secret="engine-parity-person-key"))
    await migrate(database_url)
    async with database(database_url):
        result = await run_scenario()
    print(json.dumps(result, default=str, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
