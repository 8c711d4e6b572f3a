"""The talent reach: distinct people with at least one admission, kept as sharded counters.

A person's first-ever admission adds one to three figures in the admission's own
transaction: "total", the month they were first reached ("month:2026-11", UTC)
and the kind of event that reached them ("kind:summit"). Each figure is spread
over SHARDS rows chosen by person id, so concurrent first admissions rarely wait
on the same row lock, and reading any figure sums a few rows however long the
history (O(1) in the number of admissions).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_service.db import default_connection, execute, fetch_rows

SHARDS = 16
TOTAL = "total"

BUMP = """
INSERT INTO reach_counter (key, shard, value) VALUES ($1, $4, $5), ($2, $4, $5), ($3, $4, $5)
ON CONFLICT (key, shard) DO UPDATE SET value = reach_counter.value + excluded.value
"""
_FIGURES = "SELECT key, SUM(value) AS value FROM reach_counter GROUP BY key"
_FIRST_ADMISSIONS = """
SELECT a.person_id, a.admitted_at, e.kind FROM admission a JOIN event e ON e.id = a.event_id
ORDER BY a.person_id, a.admitted_at, a.id
"""
_UNMARK_PEOPLE = """
UPDATE person SET first_admitted_at = NULL
WHERE first_admitted_at IS NOT NULL AND id NOT IN (SELECT person_id FROM admission)
"""
_MARK_PEOPLE = """
UPDATE person SET first_admitted_at = first.admitted_at
FROM (SELECT person_id, MIN(admitted_at) AS admitted_at FROM admission GROUP BY person_id) first
WHERE person.id = first.person_id
"""
_PEOPLE_MARKED = "SELECT id, first_admitted_at FROM person WHERE first_admitted_at IS NOT NULL"


def shard_of(person_id: int) -> int:
    return person_id % SHARDS


def month_key(moment: datetime) -> str:
    return f"month:{moment.astimezone(UTC):%Y-%m}"


def kind_key(event_kind: str) -> str:
    return f"kind:{event_kind}"


def _as_datetime(value: datetime | str) -> datetime:
    # Raw SQLite rows carry timestamps as the ISO text the ORM wrote.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def count_first_admission(
    conn: BaseDBAsyncClient, person_id: int, first_at: datetime, event_kind: str, delta: int = 1
) -> None:
    """Add (or with delta=-1 take back) one person in all three figures."""
    keys = [TOTAL, month_key(first_at), kind_key(event_kind)]
    await execute(conn, BUMP, [*keys, shard_of(person_id), delta])


@dataclass(frozen=True)
class ReachFigures:
    total: int
    by_month: dict[str, int]
    by_event_kind: dict[str, int]


def _figures(values: dict[str, int]) -> ReachFigures:
    by_month = {k.removeprefix("month:"): v for k, v in values.items() if k.startswith("month:")}
    by_kind = {k.removeprefix("kind:"): v for k, v in values.items() if k.startswith("kind:")}
    return ReachFigures(
        total=values.get(TOTAL, 0),
        by_month=dict(sorted((m, v) for m, v in by_month.items() if v)),
        by_event_kind=dict(sorted((k, v) for k, v in by_kind.items() if v)),
    )


async def read_figures(conn: BaseDBAsyncClient | None = None) -> ReachFigures:
    rows = await fetch_rows(conn or default_connection(), _FIGURES, [])
    return _figures({row["key"]: int(row["value"]) for row in rows})


@dataclass(frozen=True)
class Recount:
    """The figures recomputed from the admissions themselves, and each person's first."""

    figures: ReachFigures
    first_admitted: dict[int, datetime]
    shard_values: dict[tuple[str, int], int] = field(repr=False)


async def recount(conn: BaseDBAsyncClient | None = None) -> Recount:
    rows = await fetch_rows(conn or default_connection(), _FIRST_ADMISSIONS, [])
    first: dict[int, tuple[datetime, str]] = {}
    for row in rows:  # ordered: the first row of each person is their first admission
        first.setdefault(row["person_id"], (_as_datetime(row["admitted_at"]), row["kind"]))
    shard_values: Counter[tuple[str, int]] = Counter()
    totals: defaultdict[str, int] = defaultdict(int)
    for person_id, (moment, kind) in first.items():
        for key in (TOTAL, month_key(moment), kind_key(kind)):
            shard_values[(key, shard_of(person_id))] += 1
            totals[key] += 1
    return Recount(
        figures=_figures(dict(totals)),
        first_admitted={pid: moment for pid, (moment, _) in first.items()},
        shard_values=dict(shard_values),
    )


@dataclass(frozen=True)
class Drift:
    counted: ReachFigures
    actual: ReachFigures
    # People whose first_admitted_at disagrees with their admissions.
    people_off: int

    @property
    def exact(self) -> bool:
        return self.counted == self.actual and self.people_off == 0


async def verify() -> Drift:
    conn = default_connection()
    actual = await recount(conn)
    marked = {
        row["id"]: _as_datetime(row["first_admitted_at"])
        for row in await fetch_rows(conn, _PEOPLE_MARKED, [])
    }
    off = sum(1 for pid, moment in marked.items() if actual.first_admitted.get(pid) != moment)
    off += sum(1 for pid in actual.first_admitted if pid not in marked)
    return Drift(counted=await read_figures(conn), actual=actual.figures, people_off=off)


async def rebuild() -> Drift:
    """Recompute every figure and first_admitted_at from the admissions; the drift repaired."""
    before = await verify()
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # Admissions wait (they do not fail) while the figures are rewritten.
            await execute(conn, "LOCK TABLE admission, person, reach_counter IN EXCLUSIVE MODE", [])
        actual = await recount(conn)
        await execute(conn, "DELETE FROM reach_counter", [])
        for (key, shard), value in actual.shard_values.items():
            await execute(
                conn,
                "INSERT INTO reach_counter (key, shard, value) VALUES ($1, $2, $3)",
                [key, shard, value],
            )
        await execute(conn, _UNMARK_PEOPLE, [])
        await execute(conn, _MARK_PEOPLE, [])
    return before
