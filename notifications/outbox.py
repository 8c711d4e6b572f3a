"""The transactional outbox: a message is a row written with the change that causes it.

`enqueue` runs inside the caller's transaction (pass its connection), so the message
exists exactly when the change commits. The dedupe key names the cause; the same
cause queued twice (a retry, a race) leaves one row.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import Engine, default_connection, fetch_rows


class Kind(StrEnum):
    """Every kind of message the service sends (the outbox's `kind` column)."""

    REGISTRATION_CONFIRMED = "registration.confirmed"
    REGISTRATION_WAITLISTED = "registration.waitlisted"
    REGISTRATION_PROMOTED = "registration.promoted"
    REGISTRATION_CANCELLED = "registration.cancelled"
    EVENT_CHANGED = "event.changed"
    EVENT_CANCELLED = "event.cancelled"
    EVENT_REMINDER = "event.reminder"
    EVENT_ANNOUNCEMENT = "event.announcement"
    JUDGE_ASSIGNED = "judge.assigned"
    JUDGE_REMINDER = "judge.reminder"
    ROUND_OPENING_SOON = "round.opening_soon"
    ROUND_CLOSING_SOON = "round.closing_soon"
    WINNER_PUBLISHED = "winner.published"
    REACH_MILESTONE = "reach.milestone"
    STAFF_SET_PASSWORD = "staff.set_password"  # noqa: S105 - a kind, not a secret
    PERSON_DATA_LINK = "person.data_link"


def dedupe_key(cause: str, *parts: object) -> str:
    """The dedupe key of a message: what caused it (usually its Kind) and the parts
    that tell one cause from another, e.g. "registration.cancelled:42:1764597600.0".
    The one builder: a key spelled two ways would let one cause queue twice."""
    return ":".join((cause, *map(str, parts)))


def dedupe_key_sql(cause_sql: str, *parts_sql: str) -> str:
    """dedupe_key in SQL, for rows an INSERT ... SELECT builds from columns."""
    return " || ':' || ".join((cause_sql, *parts_sql))


def registration_payload_sql(engine: Engine, registration_id_sql: str) -> str:
    """The payload of a registration's messages, {"registration_id": n}, in SQL."""
    if engine is Engine.POSTGRES:
        return f"json_build_object('registration_id', {registration_id_sql})::jsonb"
    return f"json_object('registration_id', {registration_id_sql})"


# A message as it is queued: waiting, not yet tried. The last two of every row given
# to insert_messages.
NEW_MESSAGE = "'pending', 0"


def insert_messages(rows_sql: str) -> str:
    """The one INSERT into the outbox: the rows `rows_sql` gives (a VALUES list or a
    SELECT) in the order (kind, dedupe key, recipient, locale, payload, due at, created
    at, then NEW_MESSAGE). A cause already queued is skipped: ON CONFLICT DO NOTHING
    rather than catching the unique violation, which on PostgreSQL would abort the
    caller's transaction. (A subquery around `rows_sql` would spare callers the last
    two, but PostgreSQL would then type its parameters as text, not as the columns.)"""
    return f"""
INSERT INTO outbox_message
    (kind, dedupe_key, recipient, locale, payload, due_at, created_at, status, attempts)
{rows_sql}
ON CONFLICT (dedupe_key) DO NOTHING"""


ENQUEUE_SQL = (
    insert_messages(f"VALUES ($1, $2, $3, $4, $5, $6, $7, {NEW_MESSAGE})") + "\nRETURNING id"
)


async def enqueue(
    *,
    kind: Kind,
    dedupe_key: str,
    recipient: str,
    payload: dict[str, Any],
    locale: str = "en",
    due_at: datetime | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> bool:
    """Queue one message; False when this cause was already queued."""
    now = timezone.now()
    values = [
        str(kind),
        dedupe_key,
        recipient,
        locale,
        json.dumps(payload, separators=(",", ":")),
        due_at or now,
        now,
    ]
    # RETURNING, not the row count: Tortoise reads an INSERT's count from the OID slot.
    return bool(await fetch_rows(using_db or default_connection(), ENQUEUE_SQL, values))
