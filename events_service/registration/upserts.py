"""Insert-or-update of people and organisations in one statement each.

On the registration hot path an upsert replaces the ORM's select, savepoint,
insert and update (four round trips) with one, and it cannot lose a race: the
unique index decides. `INSERT ... ON CONFLICT ... RETURNING` works on PostgreSQL
and on SQLite (3.35+) alike.
"""

from __future__ import annotations

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import execute, fetch_rows
from events_service.identity import organisation_key
from events_service.registration.forms import CleanRegistration
from events_service.registration.statements import (
    FIND_ORGANISATION,
    FIND_PERSON,
    INSERT_ORGANISATION,
    INSERT_PERSON,
    REFILL_PERSON,
)
from models.enums import OrganisationKind


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


async def upsert_person(
    conn: BaseDBAsyncClient, form: CleanRegistration, key: str
) -> tuple[int, bool]:
    """The id of the person with this key (privacy/keys.py; else, not keyed yet, with
    this e-mail), and whether this call created them.

    A person who exists is left exactly as they are (see statements.PERSON_ON_CONFLICT),
    except that one found without their key gets it, and an erased one their details."""
    found = await _found(conn, form, key)
    if found is not None:  # the common case of a returning person: no organisation made
        return found, False
    org_id = await organisation_id(conn, form.organisation) if form.organisation else None
    values = [
        form.email, form.name, form.phone, form.job_title, org_id, form.locale, timezone.now(),
        key,
    ]  # fmt: skip
    created = await _first_id(conn, INSERT_PERSON, values)
    if created is not None:
        return created, True
    # Inserted meanwhile by a concurrent registration of the same address.
    found = await _found(conn, form, key)
    assert found is not None
    return found, False


async def _found(conn: BaseDBAsyncClient, form: CleanRegistration, key: str) -> int | None:
    rows = await fetch_rows(conn, FIND_PERSON, [key, form.email])
    if not rows:
        return None
    row = rows[0]
    if row["person_key"] != key or row["erased_at"] is not None:
        values = [row["id"], key, form.email, form.name, form.phone, form.job_title]
        await execute(conn, REFILL_PERSON, values)
    return int(row["id"])
