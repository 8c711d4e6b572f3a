"""Insert-or-update of people and organisations in one statement each.

On the registration hot path an upsert replaces the ORM's select, savepoint,
insert and update (four round trips) with one, and it cannot lose a race: the
unique index decides. `INSERT ... ON CONFLICT ... RETURNING` works on PostgreSQL
and on SQLite (3.35+) alike.
"""

from __future__ import annotations

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import fetch_rows
from events_service.identity import organisation_key
from events_service.registration.forms import CleanRegistration
from models.enums import OrganisationKind

# DO NOTHING, not a no-op update: an update would lock the row, and everyone from
# a popular organisation would queue on it until the registering transaction ends.
FIND_ORGANISATION = "SELECT id FROM organisation WHERE name_key = $1"
INSERT_ORGANISATION = """
INSERT INTO organisation (name, name_key, kind, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name_key) DO NOTHING
RETURNING id
"""

# Registering again is the person telling us their current details; the e-mail
# (their identity) never changes, and a field left empty keeps what we knew.
PERSON_ON_CONFLICT = """
ON CONFLICT (email) DO UPDATE SET
    name = excluded.name,
    phone = COALESCE(excluded.phone, person.phone),
    job_title = COALESCE(excluded.job_title, person.job_title),
    organisation_id = COALESCE(excluded.organisation_id, person.organisation_id),
    locale = excluded.locale
"""
UPSERT_PERSON = f"""
INSERT INTO person (email, name, phone, job_title, organisation_id, locale, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
{PERSON_ON_CONFLICT}
RETURNING id
"""  # noqa: S608 - only our own constants are formatted in


async def _first_id(conn: BaseDBAsyncClient, sql: str, values: list[object]) -> int | None:
    rows = await fetch_rows(conn, sql, values)
    return int(rows[0]["id"]) if rows else None


async def organisation_id(conn: BaseDBAsyncClient, name: str) -> int:
    key = organisation_key(name)
    found = await _first_id(conn, FIND_ORGANISATION, [key])
    if found is None:
        values = [name, key, OrganisationKind.UNSPECIFIED.value, timezone.now()]
        found = await _first_id(conn, INSERT_ORGANISATION, values)
    if found is None:  # inserted concurrently by another registration
        found = await _first_id(conn, FIND_ORGANISATION, [key])
    assert found is not None
    return found


async def upsert_person(conn: BaseDBAsyncClient, form: CleanRegistration) -> int:
    """The id of the person with this e-mail, created or brought up to date."""
    org_id = await organisation_id(conn, form.organisation) if form.organisation else None
    values = [
        form.email, form.name, form.phone, form.job_title, org_id, form.locale, timezone.now(),
    ]  # fmt: skip
    person_id = await _first_id(conn, UPSERT_PERSON, values)
    assert person_id is not None
    return person_id
