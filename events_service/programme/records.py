"""The records behind each KPI, so that any figure can be audited line by line.

Each query lists exactly what its KPI counts (one row per counted thing), so the
total of a listing equals the KPI's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events_service.db import default_connection, fetch_rows
from events_service.errors import NotFound
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
_FINANCED = """
SELECT o.id AS organisation_id, o.name AS organisation, MIN(f.financed_on) AS first_financed_on,
       COUNT(*) AS financings,
       STRING_AGG_PLACEHOLDER AS partners
FROM financing_record f JOIN organisation o ON o.id = f.organisation_id
GROUP BY o.id, o.name
ORDER BY MIN(f.financed_on), o.id
"""
_FIRMS = """
SELECT o.id AS organisation_id, o.name AS organisation, MIN(s.served_on) AS first_served_on,
       COUNT(*) AS services,
       STRING_AGG_PLACEHOLDER AS service_kinds
FROM service_record s JOIN organisation o ON o.id = s.organisation_id
GROUP BY o.id, o.name
ORDER BY MIN(s.served_on), o.id
"""
# Both engines aggregate text, with different names.
_AGGREGATE = {
    "postgres": {
        "partners": "STRING_AGG(DISTINCT f.partner, '; ')",
        "service_kinds": "STRING_AGG(DISTINCT s.service_kind, '; ')",
    },
    "sqlite": {
        "partners": "GROUP_CONCAT(DISTINCT f.partner)",
        "service_kinds": "GROUP_CONCAT(DISTINCT s.service_kind)",
    },
}


@dataclass(frozen=True)
class RecordPage:
    kpi: str
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


_QUERIES = {
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


def _query(name: str, dialect: str) -> str:
    if name not in _QUERIES:
        raise NotFound(f"No KPI {name!r}; one of {', '.join(_QUERIES)}.")
    aggregate = _AGGREGATE["postgres" if dialect == "postgres" else "sqlite"]
    placeholder = aggregate["partners" if name == "financed_startups" else "service_kinds"]
    return _QUERIES[name].replace("STRING_AGG_PLACEHOLDER", placeholder)


def _values(name: str, settings: Settings) -> list[Any]:
    return [2 if settings.projects_count == "advanced" else 1] if name == "projects" else []


async def kpi_records(
    name: str, settings: Settings, *, limit: int | None, offset: int = 0
) -> RecordPage:
    conn = default_connection()
    sql = _query(name, conn.capabilities.dialect)
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
        items=[dict(row) for row in rows],
    )
