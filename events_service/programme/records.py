"""The records behind each KPI, so that any figure can be audited line by line.

Each query lists exactly what its KPI counts (one row per counted thing), so the
total of a listing equals the KPI's value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events_service.db import (
    Engine,
    Sql,
    default_connection,
    engine_of,
    fetch_rows,
    per_engine,
    text_for,
)
from events_service.errors import NotFound
from events_service.locale import translatable
from events_service.settings import Settings

_TALENTS = """
SELECT p.id AS person_id, p.name, p.email, o.name AS organisation, p.first_admitted_at,
       (SELECT COUNT(*) FROM admission a WHERE a.person_id = p.id) AS admissions
FROM person p LEFT JOIN organisation o ON o.id = p.organisation_id
WHERE p.first_admitted_at IS NOT NULL
ORDER BY p.first_admitted_at, p.id
"""
_COMPANIES = """
SELECT o.id AS organisation_id, o.name, o.kind, o.first_benefitted_at,
       (SELECT COUNT(*) FROM person p
        WHERE p.organisation_id = o.id AND p.first_admitted_at IS NOT NULL) AS people_admitted,
       (SELECT COUNT(*) FROM entry e WHERE e.organisation_id = o.id) AS entries
FROM organisation o
WHERE o.first_benefitted_at IS NOT NULL
ORDER BY o.first_benefitted_at, o.id
"""
_PROJECTS = """
SELECT e.id AS entry_id, e.title, e.team_name, o.name AS organisation, ev.title AS competition,
       MIN(re.created_at) AS admitted_to_round_at, MAX(r.position) AS furthest_round
FROM round_entry re
JOIN round r ON r.id = re.round_id
JOIN entry e ON e.id = re.entry_id
JOIN event ev ON ev.id = e.event_id
LEFT JOIN organisation o ON o.id = e.organisation_id
WHERE r.position >= $1
GROUP BY e.id, e.title, e.team_name, o.name, ev.title
ORDER BY MIN(re.created_at), e.id
"""
# The distinct values of a multi-valued cell, sorted byte by byte and joined by
# SEPARATOR, the same on both engines. SQLite's GROUP_CONCAT takes no separator
# with DISTINCT, hence its subquery; PostgreSQL sorts in "C" (bytewise, as SQLite's
# BINARY) whatever the database's collation.
SEPARATOR = "; "


def _distinct_values(engine: Engine, alias: str, column: str, table: str) -> str:
    if engine is Engine.POSTGRES:
        value = f'{alias}.{column}::text COLLATE "C"'
        return f"STRING_AGG(DISTINCT {value}, '{SEPARATOR}' ORDER BY {value})"
    return f"""(SELECT GROUP_CONCAT({column}, '{SEPARATOR}') FROM (
            SELECT DISTINCT {column} FROM {table}
            WHERE organisation_id = o.id ORDER BY {column}))"""  # noqa: S608 - our constants


def _financed(engine: Engine) -> str:
    return f"""
SELECT o.id AS organisation_id, o.name AS organisation, MIN(f.financed_on) AS first_financed_on,
       COUNT(*) AS financings,
       {_distinct_values(engine, "f", "partner", "financing_record")} AS partners
FROM financing_record f JOIN organisation o ON o.id = f.organisation_id
GROUP BY o.id, o.name
ORDER BY MIN(f.financed_on), o.id
"""  # noqa: S608 - only our own constants are formatted in


def _firms(engine: Engine) -> str:
    return f"""
SELECT o.id AS organisation_id, o.name AS organisation, MIN(s.served_on) AS first_served_on,
       COUNT(*) AS services,
       {_distinct_values(engine, "s", "service_kind", "service_record")} AS service_kinds
FROM service_record s JOIN organisation o ON o.id = s.organisation_id
GROUP BY o.id, o.name
ORDER BY MIN(s.served_on), o.id
"""  # noqa: S608 - only our own constants are formatted in


_FINANCED = per_engine(_financed)
_FIRMS = per_engine(_firms)
# The columns of each listing, in order: the CSV header even when there are no rows.
COLUMNS = {
    "talents": (
        "person_id", "name", "email", "organisation", "first_admitted_at", "admissions",
    ),
    "companies": (
        "organisation_id", "name", "kind", "first_benefitted_at", "people_admitted", "entries",
    ),
    "projects": (
        "entry_id", "title", "team_name", "organisation", "competition",
        "admitted_to_round_at", "furthest_round",
    ),
    "financed_startups": (
        "organisation_id", "organisation", "first_financed_on", "financings", "partners",
    ),
    "firms": ("organisation_id", "organisation", "first_served_on", "services", "service_kinds"),
}  # fmt: skip
# SQLite hands timestamps back as the text it stored; PostgreSQL as datetimes.
_TIMESTAMPS = ("first_admitted_at", "first_benefitted_at", "admitted_to_round_at")
EXPORT_PAGE_ROWS = 1000


@dataclass(frozen=True)
class RecordPage:
    kpi: str
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


_QUERIES: dict[str, Sql] = {
    "talents": _TALENTS,
    "companies": _COMPANIES,
    "projects": _PROJECTS,
    "financed_startups": _FINANCED,
    "firms": _FIRMS,
}
# The two big listings are counted without their per-row subqueries.
_COUNTS = {
    "talents": "SELECT COUNT(*) AS n FROM person WHERE first_admitted_at IS NOT NULL",
    "companies": "SELECT COUNT(*) AS n FROM organisation WHERE first_benefitted_at IS NOT NULL",
}


def _query(name: str, engine: Engine) -> str:
    check_kpi(name)
    return text_for(engine, _QUERIES[name])


def check_kpi(name: str) -> None:
    if name not in _QUERIES:
        raise NotFound(
            translatable("No KPI %(name)r; one of %(kpis)s.", name=name, kpis=", ".join(_QUERIES))
        )


def _record(row: dict[str, Any]) -> dict[str, Any]:
    for column in _TIMESTAMPS:
        if isinstance(row.get(column), str):
            row[column] = datetime.fromisoformat(row[column])
    return row


def _values(name: str, settings: Settings) -> list[Any]:
    return [2 if settings.projects_count == "advanced" else 1] if name == "projects" else []


async def kpi_records(
    name: str, settings: Settings, *, limit: int | None, offset: int = 0
) -> RecordPage:
    conn = default_connection()
    sql = _query(name, engine_of(conn))
    values = _values(name, settings)
    count_sql = _COUNTS.get(name) or f"SELECT COUNT(*) AS n FROM ({sql}) counted"  # noqa: S608
    total_rows = await fetch_rows(conn, count_sql, values)
    page_sql = sql if limit is None else f"{sql} LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = await fetch_rows(conn, page_sql, values)
    return RecordPage(
        kpi=name,
        total=int(total_rows[0]["n"]),
        limit=limit or 0,
        offset=offset,
        items=[_record(dict(row)) for row in rows],
    )


async def kpi_records_for_export(
    name: str, settings: Settings, *, page_rows: int = EXPORT_PAGE_ROWS
) -> AsyncIterator[dict[str, Any]]:
    """Every record of a KPI, a page at a time, for a streamed export. An unknown KPI
    is refused now, before anything is sent."""
    check_kpi(name)

    async def records() -> AsyncIterator[dict[str, Any]]:
        offset = 0
        while True:
            page = await kpi_records(name, settings, limit=page_rows, offset=offset)
            for item in page.items:
                yield item
            if len(page.items) < page_rows:
                return
            offset += page_rows

    return records()
