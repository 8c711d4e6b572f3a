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
from datetime import UTC, date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_service.db import (
    Engine,
    Statements,
    as_datetime,
    default_connection,
    engine_of,
    execute,
    fetch_rows,
)

SHARDS = 16
TOTAL = "total"
# Two more programme figures kept the same way, read with the reach:
ADMISSIONS = "admissions"  # every admission (sharded by person)
COMPANIES = "companies"  # organisations benefitted: a member admitted or an entry
# Each event's admissions ("event:42"), for live attendance: read from a handful of
# rows instead of counting the event's admissions, which grows with the event.
EVENT = "event:"


def add_to_counters(rows_sql: str) -> str:
    """The one way a figure moves: add the (key, shard, value) rows `rows_sql` gives
    (a VALUES list or a SELECT) to the counters, creating the rows not there yet."""
    return f"""
INSERT INTO reach_counter (key, shard, value)
{rows_sql}
ON CONFLICT (key, shard) DO UPDATE SET value = reach_counter.value + excluded.value"""


def shard_sql(id_sql: str) -> str:
    """shard_of in SQL, for ids known only inside a statement."""
    return f"{id_sql} % {SHARDS}"


BUMP = add_to_counters("VALUES ($1, $4, $5), ($2, $4, $5), ($3, $4, $5), ($6, $4, $5)")
# Day keys ("day:2026-11-24") serve the last-90-days pace and event keys the live
# attendance; the programme's figures skip both with index ranges, so reading them
# stays a handful of rows however long the programme has run.
FIGURES_SQL = """
SELECT key, SUM(value) AS value FROM reach_counter
WHERE key < 'day:' OR (key >= 'day;' AND key < 'event:') OR key >= 'event;'
GROUP BY key
"""
_ALL_FIGURES = "SELECT key, SUM(value) AS value FROM reach_counter GROUP BY key"
REACHED_SINCE_SQL = """
SELECT COALESCE(SUM(value), 0) AS n FROM reach_counter WHERE key >= $1 AND key < 'day;'
"""
_FIRST_ADMISSIONS = """
SELECT a.person_id, a.event_id, a.admitted_at, e.kind
FROM admission a JOIN event e ON e.id = a.event_id
ORDER BY a.person_id, a.admitted_at, a.id
"""
_ADD_ADMISSION = add_to_counters("VALUES ($1, $3, $4), ($2, $3, $4)")
# An event's admissions, as SQL on an event row `e` (the key is event_key's).
ADMITTED_AT_EVENT_SQL = f"""(
    SELECT COALESCE(SUM(c.value), 0) FROM reach_counter c WHERE c.key = '{EVENT}' || e.id
)"""  # noqa: S608 - only our own constant is formatted in
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
_ADD = add_to_counters("VALUES ($1, $2, $3)")
# The first benefit of an organisation; the condition makes it count once however
# many of its people are admitted at the same moment (the row lock serialises them
# and the loser re-reads a date already set).
_BENEFIT_ORGANISATION = """
UPDATE organisation SET first_benefitted_at = $2
WHERE id = $1 AND first_benefitted_at IS NULL
RETURNING id
"""
_ORGANISATION_OF = "SELECT organisation_id FROM person WHERE id = $1"
_STILL_BENEFITS = """
SELECT (EXISTS (SELECT 1 FROM person WHERE organisation_id = $1 AND first_admitted_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM entry WHERE organisation_id = $1)) AS benefits
"""
_UNBENEFIT_ORGANISATION = """
UPDATE organisation SET first_benefitted_at = NULL
WHERE id = $1 AND first_benefitted_at IS NOT NULL
RETURNING id
"""
_ORGANISATION_BENEFITS = """
SELECT organisation_id, MIN(at) AS at FROM (
    SELECT p.organisation_id, MIN(a.admitted_at) AS at
    FROM admission a JOIN person p ON p.id = a.person_id
    WHERE p.organisation_id IS NOT NULL GROUP BY p.organisation_id
    UNION ALL
    SELECT organisation_id, MIN(created_at) AS at FROM entry
    WHERE organisation_id IS NOT NULL GROUP BY organisation_id
) benefits GROUP BY organisation_id
"""
_ORGANISATIONS_MARKED = (
    "SELECT id, first_benefitted_at FROM organisation WHERE first_benefitted_at IS NOT NULL"
)


def shard_of(row_id: int) -> int:
    """The shard of a person's (or an organisation's) counts: see shard_sql too."""
    return row_id % SHARDS


def month_key(moment: datetime) -> str:
    return f"month:{moment.astimezone(UTC):%Y-%m}"


def kind_key(event_kind: str) -> str:
    return f"kind:{event_kind}"


def event_key(event_id: int) -> str:
    return f"{EVENT}{event_id}"


def day_key(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return f"day:{moment:%Y-%m-%d}"


def first_admission_keys(first_at: datetime, event_kind: str) -> list[str]:
    """The figures one person counts in: total, month, event kind (day is separate)."""
    return [TOTAL, month_key(first_at), kind_key(event_kind)]


async def count_first_admission(
    conn: Statements, person_id: int, first_at: datetime, event_kind: str, delta: int = 1
) -> None:
    """Add (or with delta=-1 take back) one person in every figure."""
    keys = first_admission_keys(first_at, event_kind)
    await execute(conn, BUMP, [*keys, shard_of(person_id), delta, day_key(first_at)])


def admission_keys(event_id: int) -> list[str]:
    """The figures every admission counts in, in the order the scan statement takes
    their rows too (checkin.statements.ADMIT_PG)."""
    return [ADMISSIONS, event_key(event_id)]


async def count_admission(conn: Statements, person_id: int, event_id: int, delta: int = 1) -> None:
    """One admission more (or less) in the programme's and the event's figures."""
    await execute(conn, _ADD_ADMISSION, [*admission_keys(event_id), shard_of(person_id), delta])


async def benefit_organisation(conn: Statements, organisation_id: int | None, at: datetime) -> bool:
    """Count the organisation as benefitted from `at`, unless it already is."""
    if organisation_id is None:
        return False
    if not await fetch_rows(conn, _BENEFIT_ORGANISATION, [organisation_id, at]):
        return False
    await execute(conn, _ADD, [COMPANIES, shard_of(organisation_id), 1])
    return True


async def benefit_organisation_of(conn: Statements, person_id: int, at: datetime) -> None:
    rows = await fetch_rows(conn, _ORGANISATION_OF, [person_id])
    if rows:
        await benefit_organisation(conn, rows[0]["organisation_id"], at)


async def recheck_organisation(conn: Statements, organisation_id: int | None) -> None:
    """After an undo or a deleted entry: stop counting an organisation nothing supports."""
    if organisation_id is None:
        return
    (row,) = await fetch_rows(conn, _STILL_BENEFITS, [organisation_id])
    if row["benefits"]:
        return
    if await fetch_rows(conn, _UNBENEFIT_ORGANISATION, [organisation_id]):
        await execute(conn, _ADD, [COMPANIES, shard_of(organisation_id), -1])


async def organisation_of(conn: Statements, person_id: int) -> int | None:
    rows = await fetch_rows(conn, _ORGANISATION_OF, [person_id])
    return rows[0]["organisation_id"] if rows else None


@dataclass(frozen=True)
class ReachFigures:
    total: int
    by_month: dict[str, int]
    by_event_kind: dict[str, int]
    admissions: int = 0
    companies: int = 0
    # Only filled by a full read (verify); the pace reads day keys by range and the
    # live attendance one event's key.
    by_day: dict[str, int] = field(default_factory=dict)
    admitted_by_event: dict[int, int] = field(default_factory=dict)


def _figures(values: dict[str, int]) -> ReachFigures:
    by_month = {k.removeprefix("month:"): v for k, v in values.items() if k.startswith("month:")}
    by_kind = {k.removeprefix("kind:"): v for k, v in values.items() if k.startswith("kind:")}
    return ReachFigures(
        total=values.get(TOTAL, 0),
        by_month=dict(sorted((m, v) for m, v in by_month.items() if v)),
        by_event_kind=dict(sorted((k, v) for k, v in by_kind.items() if v)),
        admissions=values.get(ADMISSIONS, 0),
        companies=values.get(COMPANIES, 0),
        by_day=dict(
            sorted(
                (k.removeprefix("day:"), v) for k, v in values.items() if k.startswith("day:") and v
            )
        ),
        admitted_by_event=dict(
            sorted(
                (int(k.removeprefix(EVENT)), v)
                for k, v in values.items()
                if k.startswith(EVENT) and v
            )
        ),
    )


async def read_figures(
    conn: BaseDBAsyncClient | None = None, *, with_days: bool = False
) -> ReachFigures:
    sql = _ALL_FIGURES if with_days else FIGURES_SQL
    rows = await fetch_rows(conn or default_connection(), sql, [])
    return _figures({row["key"]: int(row["value"]) for row in rows})


async def reached_since(conn: BaseDBAsyncClient, day: date) -> int:
    """People first reached on `day` or later (at most a few hundred counter rows)."""
    rows = await fetch_rows(conn, REACHED_SINCE_SQL, [day_key(day)])
    return int(rows[0]["n"])


@dataclass(frozen=True)
class Recount:
    """The figures recomputed from the admissions themselves, and each person's first."""

    figures: ReachFigures
    first_admitted: dict[int, datetime]
    shard_values: dict[tuple[str, int], int] = field(repr=False)
    first_benefitted: dict[int, datetime] = field(default_factory=dict)


async def recount(conn: BaseDBAsyncClient | None = None) -> Recount:
    conn = conn or default_connection()
    rows = await fetch_rows(conn, _FIRST_ADMISSIONS, [])
    first: dict[int, tuple[datetime, str]] = {}
    shard_values: Counter[tuple[str, int]] = Counter()
    totals: defaultdict[str, int] = defaultdict(int)
    for row in rows:  # ordered: the first row of each person is their first admission
        first.setdefault(row["person_id"], (as_datetime(row["admitted_at"]), row["kind"]))
        for key in admission_keys(row["event_id"]):
            shard_values[(key, shard_of(row["person_id"]))] += 1
            totals[key] += 1
    for person_id, (moment, kind) in first.items():
        for key in (*first_admission_keys(moment, kind), day_key(moment)):
            shard_values[(key, shard_of(person_id))] += 1
            totals[key] += 1
    benefitted = {
        row["organisation_id"]: as_datetime(row["at"])
        for row in await fetch_rows(conn, _ORGANISATION_BENEFITS, [])
    }
    for organisation_id in benefitted:
        shard_values[(COMPANIES, shard_of(organisation_id))] += 1
        totals[COMPANIES] += 1
    return Recount(
        figures=_figures(dict(totals)),
        first_admitted={pid: moment for pid, (moment, _) in first.items()},
        shard_values=dict(shard_values),
        first_benefitted=benefitted,
    )


@dataclass(frozen=True)
class Drift:
    counted: ReachFigures
    actual: ReachFigures
    # People whose first_admitted_at disagrees with their admissions.
    people_off: int
    # Organisations counted as benefitted or not, against their members and entries.
    organisations_off: int = 0

    @property
    def exact(self) -> bool:
        return self.counted == self.actual and self.people_off == self.organisations_off == 0


async def verify() -> Drift:
    conn = default_connection()
    actual = await recount(conn)
    marked = {
        row["id"]: as_datetime(row["first_admitted_at"])
        for row in await fetch_rows(conn, _PEOPLE_MARKED, [])
    }
    off = sum(1 for pid, moment in marked.items() if actual.first_admitted.get(pid) != moment)
    off += sum(1 for pid in actual.first_admitted if pid not in marked)
    # Only whether an organisation counts: its date may legitimately be later than
    # the recomputed one (a member who joined it after their first admission).
    organisations = {row["id"] for row in await fetch_rows(conn, _ORGANISATIONS_MARKED, [])}
    organisations_off = len(organisations ^ set(actual.first_benefitted))
    return Drift(
        counted=await read_figures(conn, with_days=True),
        actual=actual.figures,
        people_off=off,
        organisations_off=organisations_off,
    )


async def rebuild() -> Drift:
    """Recompute every figure and first_admitted_at from the admissions; the drift repaired."""
    before = await verify()
    async with in_transaction() as conn:
        if engine_of(conn) is Engine.POSTGRES:
            # Admissions wait (they do not fail) while the figures are rewritten.
            await execute(
                conn,
                "LOCK TABLE admission, person, organisation, entry, reach_counter "
                "IN EXCLUSIVE MODE",
                [],
            )
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
        await execute(conn, "UPDATE organisation SET first_benefitted_at = NULL", [])
        for organisation_id, at in actual.first_benefitted.items():
            await execute(
                conn,
                "UPDATE organisation SET first_benefitted_at = $2 WHERE id = $1",
                [organisation_id, at],
            )
    return before
