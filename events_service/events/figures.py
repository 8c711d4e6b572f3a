"""An event's figures for organisers: registered, confirmed, waitlisted, cancelled,
admitted. Counted by the database over the (event_id, status, id) index and read from
the event tallies, never by loading registrations into Python."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from events_service.db import default_connection, fetch_rows
from events_service.reach.counter import ADMITTED_AT_EVENT_SQL


class EventFigures(msgspec.Struct):
    registered: int = 0
    """Every registration made, cancelled ones included."""
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    admitted: int = 0


def _in_list(first: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(first, first + count))


async def event_figures(event_ids: Sequence[int]) -> dict[int, EventFigures]:
    """Each event's figures (an event with no registration has zeros)."""
    ids = list(dict.fromkeys(event_ids))
    figures = {event_id: EventFigures() for event_id in ids}
    if not ids:
        return figures
    conn = default_connection()
    placeholders = _in_list(1, len(ids))
    by_status = await fetch_rows(
        conn,
        f"SELECT event_id, status, COUNT(*) AS n FROM registration"  # noqa: S608 - $n only
        f" WHERE event_id IN ({placeholders}) GROUP BY event_id, status",
        ids,
    )
    for row in by_status:
        entry = figures[row["event_id"]]
        n = int(row["n"])
        entry.registered += n
        if row["status"] in ("confirmed", "waitlisted", "cancelled"):
            setattr(entry, row["status"], n)
    admitted = await fetch_rows(
        conn,
        f"SELECT e.id, {ADMITTED_AT_EVENT_SQL} AS admitted FROM event e"  # noqa: S608
        f" WHERE e.id IN ({placeholders})",
        ids,
    )
    for row in admitted:
        figures[row["id"]].admitted = int(row["admitted"])
    return figures


async def admitted_figure(event_id: int) -> int:
    """The event's admissions alone, from its tallies (no count of registrations)."""
    rows = await fetch_rows(
        default_connection(),
        f"SELECT {ADMITTED_AT_EVENT_SQL} AS admitted FROM event e WHERE e.id = $1",  # noqa: S608
        [event_id],
    )
    return int(rows[0]["admitted"]) if rows else 0
