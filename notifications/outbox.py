"""The transactional outbox: a message is a row written with the change that causes it.

`enqueue` runs inside the caller's transaction (pass its connection), so the message
exists exactly when the change commits. The dedupe key names the cause; the same
cause queued twice (a retry, a race) leaves one row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from events_service.db import default_connection, fetch_rows


class Kind:
    """Every kind of message the service sends (the outbox's `kind` column)."""

    REGISTRATION_CONFIRMED = "registration.confirmed"
    REGISTRATION_WAITLISTED = "registration.waitlisted"
    REGISTRATION_PROMOTED = "registration.promoted"
    REGISTRATION_CANCELLED = "registration.cancelled"
    EVENT_CHANGED = "event.changed"
    EVENT_CANCELLED = "event.cancelled"
    EVENT_REMINDER = "event.reminder"
    JUDGE_ASSIGNED = "judge.assigned"
    ROUND_OPENING_SOON = "round.opening_soon"
    ROUND_CLOSING_SOON = "round.closing_soon"
    WINNER_PUBLISHED = "winner.published"
    REACH_MILESTONE = "reach.milestone"


# ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a
# failed INSERT would abort the caller's whole transaction.
ENQUEUE_SQL = """
INSERT INTO outbox_message
    (kind, dedupe_key, recipient, locale, payload, status, attempts, due_at, created_at)
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


async def enqueue(
    *,
    kind: str,
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
        kind,
        dedupe_key,
        recipient,
        locale,
        json.dumps(payload, separators=(",", ":")),
        due_at or now,
        now,
    ]
    # RETURNING, not the row count: Tortoise reads an INSERT's count from the OID slot.
    return bool(await fetch_rows(using_db or default_connection(), ENQUEUE_SQL, values))
