"""The talent reach and the programme's other counted figures, kept as sharded tallies.

Every admission adds one to the programme's admissions and to its event's; a
person's first-ever admission also adds them to the talents (the reach), counted by
the day (UTC) and the kind of event that first reached them, in the admission's own
transaction. Each tally is spread over SHARDS rows chosen by person id (companies:
by organisation id), so concurrent admissions rarely wait on the same row lock, and
reading any figure sums a few rows however long the history (models/programme.py
describes the four tallies).
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


@dataclass(frozen=True)
class Tally:
    """A counter table: the columns that pick a row, and the figures it adds up."""

    table: str
    keys: tuple[str, ...]
    figures: tuple[str, ...]

    def add(self, rows_sql: str) -> str:
        """The one way a figure moves: add the rows `rows_sql` gives (a VALUES list or a
        SELECT of the keys, then the figures) to the tally, creating rows not there yet."""
        columns = ", ".join((*self.keys, *self.figures))
        sums = ", ".join(f"{name} = {self.table}.{name} + excluded.{name}" for name in self.figures)
        return f"""
INSERT INTO {self.table} ({columns})
{rows_sql}
ON CONFLICT ({", ".join(self.keys)}) DO UPDATE SET {sums}"""


PROGRAMME = Tally("programme_tally", ("shard",), ("admissions", "talents"))
COMPANIES = Tally("company_tally", ("shard",), ("companies",))
EVENTS = Tally("event_tally", ("event_id", "shard"), ("admissions",))
TALENTS = Tally("talent_tally", ("day", "event_kind", "shard"), ("talents",))


def shard_sql(id_sql: str) -> str:
    """shard_of in SQL, for ids known only inside a statement."""
    return f"{id_sql} % {SHARDS}"


# $1 shard, $2 admissions, $3 talents.
_ADD_TO_PROGRAMME = PROGRAMME.add("VALUES ($1, $2, $3)")
# $1 event, $2 shard, $3 admissions.
_ADD_TO_EVENT = EVENTS.add("VALUES ($1, $2, $3)")
# $1 day, $2 event kind, $3 shard, $4 talents.
_ADD_TO_TALENTS = TALENTS.add("VALUES ($1, $2, $3, $4)")
_ADD_TO_COMPANIES = COMPANIES.add("VALUES ($1, $2)")

# The programme's figures in one read: its totals (16 rows), then the talents by
# day and kind of event, from which the months, the kinds and the days are summed.
FIGURES_SQL = """
SELECT NULL AS day, NULL AS event_kind, COALESCE(SUM(admissions), 0) AS admissions,
       COALESCE(SUM(talents), 0) AS talents,
       (SELECT COALESCE(SUM(companies), 0) FROM company_tally) AS companies
FROM programme_tally
UNION ALL
SELECT day, event_kind, 0, SUM(talents), 0 FROM talent_tally GROUP BY day, event_kind
"""
_ADMITTED_BY_EVENT = """
SELECT event_id, SUM(admissions) AS admissions FROM event_tally GROUP BY event_id
"""
# $1 the first day (UTC).
REACHED_SINCE_SQL = "SELECT COALESCE(SUM(talents), 0) AS n FROM talent_tally WHERE day >= $1"
_FIRST_ADMISSIONS = """
SELECT a.person_id, a.event_id, a.admitted_at, e.kind
FROM admission a JOIN event e ON e.id = a.event_id
ORDER BY a.person_id, a.admitted_at, a.id
"""
# An event's admissions, as SQL on an event row `e`.
ADMITTED_AT_EVENT_SQL = """(
    SELECT COALESCE(SUM(t.admissions), 0) FROM event_tally t WHERE t.event_id = e.id
)"""
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


def day_of(moment: datetime | date) -> date:
    """The day (UTC) a moment counts on."""
    return moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment


async def count_first_admission(
    conn: Statements, person_id: int, first_at: datetime, event_kind: str, delta: int = 1
) -> None:
    """Add (or with delta=-1 take back) one person in the talents."""
    shard = shard_of(person_id)
    await execute(conn, _ADD_TO_PROGRAMME, [shard, 0, delta])
    await execute(conn, _ADD_TO_TALENTS, [day_of(first_at), event_kind, shard, delta])


async def count_admission(conn: Statements, person_id: int, event_id: int, delta: int = 1) -> None:
    """One admission more (or less) in the programme's and the event's figures, in the
    order the scan statement takes these rows too (checkin.statements.ADMIT_PG)."""
    shard = shard_of(person_id)
    await execute(conn, _ADD_TO_PROGRAMME, [shard, delta, 0])
    await execute(conn, _ADD_TO_EVENT, [event_id, shard, delta])


async def benefit_organisation(conn: Statements, organisation_id: int | None, at: datetime) -> bool:
    """Count the organisation as benefitted from `at`, unless it already is."""
    if organisation_id is None:
        return False
    if not await fetch_rows(conn, _BENEFIT_ORGANISATION, [organisation_id, at]):
        return False
    await execute(conn, _ADD_TO_COMPANIES, [shard_of(organisation_id), 1])
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
        await execute(conn, _ADD_TO_COMPANIES, [shard_of(organisation_id), -1])


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
    # Only filled by a full read (verify): the pace reads the days by range and the
    # live attendance one event's tally.
    by_day: dict[str, int] = field(default_factory=dict)
    admitted_by_event: dict[int, int] = field(default_factory=dict)


def _figures(
    totals: dict[str, int],
    talents_by_day_and_kind: dict[tuple[date, str], int],
    admitted_by_event: dict[int, int] | None = None,
) -> ReachFigures:
    by_month: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    for (day, kind), talents in talents_by_day_and_kind.items():
        by_month[f"{day:%Y-%m}"] += talents
        by_kind[kind] += talents
        by_day[day.isoformat()] += talents
    return ReachFigures(
        total=totals.get("talents", 0),
        by_month=dict(sorted((m, v) for m, v in by_month.items() if v)),
        by_event_kind=dict(sorted((k, v) for k, v in by_kind.items() if v)),
        admissions=totals.get("admissions", 0),
        companies=totals.get("companies", 0),
        by_day=dict(sorted((d, v) for d, v in by_day.items() if v))
        if admitted_by_event is not None
        else {},
        admitted_by_event=dict(sorted((e, v) for e, v in (admitted_by_event or {}).items() if v)),
    )


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


async def read_figures(
    conn: BaseDBAsyncClient | None = None, *, with_days: bool = False
) -> ReachFigures:
    conn = conn or default_connection()
    totals: dict[str, int] = {}
    talents: dict[tuple[date, str], int] = {}
    for row in await fetch_rows(conn, FIGURES_SQL, []):
        if row["day"] is None:
            totals = {name: int(row[name]) for name in ("admissions", "talents", "companies")}
        else:
            talents[(_as_date(row["day"]), row["event_kind"])] = int(row["talents"])
    admitted_by_event = None
    if with_days:
        rows = await fetch_rows(conn, _ADMITTED_BY_EVENT, [])
        admitted_by_event = {row["event_id"]: int(row["admissions"]) for row in rows}
    return _figures(totals, talents, admitted_by_event)


async def reached_since(conn: BaseDBAsyncClient, day: date) -> int:
    """People first reached on `day` or later (at most a few hundred tally rows)."""
    rows = await fetch_rows(conn, REACHED_SINCE_SQL, [day])
    return int(rows[0]["n"])


@dataclass(frozen=True)
class Recount:
    """The tallies recomputed from the admissions themselves, and each person's first."""

    figures: ReachFigures
    first_admitted: dict[int, datetime]
    # Each tally's rows: its keys, then its figures (Tally.keys, Tally.figures).
    rows: dict[Tally, dict[tuple[object, ...], list[int]]] = field(repr=False)
    first_benefitted: dict[int, datetime] = field(default_factory=dict)


async def recount(conn: BaseDBAsyncClient | None = None) -> Recount:
    conn = conn or default_connection()
    first: dict[int, tuple[datetime, str]] = {}
    programme: defaultdict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    events: Counter[tuple[int, int]] = Counter()
    for row in await fetch_rows(conn, _FIRST_ADMISSIONS, []):
        # Ordered: the first row of each person is their first admission.
        person_id = row["person_id"]
        first.setdefault(person_id, (as_datetime(row["admitted_at"]), row["kind"]))
        programme[(shard_of(person_id),)][0] += 1
        events[(row["event_id"], shard_of(person_id))] += 1
    talents: Counter[tuple[date, str, int]] = Counter()
    for person_id, (moment, kind) in first.items():
        programme[(shard_of(person_id),)][1] += 1
        talents[(day_of(moment), kind, shard_of(person_id))] += 1
    benefitted = {
        row["organisation_id"]: as_datetime(row["at"])
        for row in await fetch_rows(conn, _ORGANISATION_BENEFITS, [])
    }
    companies = Counter((shard_of(organisation_id),) for organisation_id in benefitted)
    by_day_and_kind: Counter[tuple[date, str]] = Counter()
    for (day, kind, _), n in talents.items():
        by_day_and_kind[(day, kind)] += n
    admitted_by_event: Counter[int] = Counter()
    for (event_id, _), n in events.items():
        admitted_by_event[event_id] += n
    totals = {
        "admissions": sum(a for a, _ in programme.values()),
        "talents": len(first),
        "companies": len(benefitted),
    }
    return Recount(
        figures=_figures(totals, dict(by_day_and_kind), dict(admitted_by_event)),
        first_admitted={pid: moment for pid, (moment, _) in first.items()},
        rows={
            PROGRAMME: dict(programme),
            EVENTS: {key: [n] for key, n in events.items()},
            TALENTS: {key: [n] for key, n in talents.items()},
            COMPANIES: {key: [n] for key, n in companies.items()},
        },
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


TALLY_TABLES = "programme_tally, company_tally, event_tally, talent_tally"


async def rebuild() -> Drift:
    """Recompute every figure and first_admitted_at from the admissions; the drift repaired."""
    before = await verify()
    async with in_transaction() as conn:
        if engine_of(conn) is Engine.POSTGRES:
            # Admissions wait (they do not fail) while the figures are rewritten.
            await execute(
                conn,
                f"LOCK TABLE admission, person, organisation, entry, {TALLY_TABLES} "
                "IN EXCLUSIVE MODE",
                [],
            )
        actual = await recount(conn)
        for tally, rows in actual.rows.items():
            await execute(conn, f"DELETE FROM {tally.table}", [])  # noqa: S608 - our constant
            placeholders = ", ".join(f"${n}" for n in range(1, len(tally.keys + tally.figures) + 1))
            insert = tally.add(f"VALUES ({placeholders})")
            for key, figures in rows.items():
                await execute(conn, insert, [*key, *figures])
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
