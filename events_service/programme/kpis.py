"""The programme's KPIs against their three-year targets, with pace and projection.

Talents and companies come from the sharded counters kept by check-in (O(1) in
the history); the last-90-days pace of each reads an index range of recent first
dates only. Projects, financed startups and firms served are counted from small
tables (entries, financing and service records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise import timezone

from events_service.db import default_connection, fetch_rows
from events_service.reach.counter import ReachFigures, reached_since, read_figures
from events_service.settings import Settings

PACE_WINDOW_DAYS = 90
DAYS_PER_MONTH = 365.25 / 12

# Everything but the counters in one round trip: each KPI's count and how many of
# its records are recent ($1: the start of the pace window; $2: the date of it).
# Projects are entries admitted to a round: any round, or ($3 = 2) one after the first.
SUMMARY = """
SELECT
  (SELECT COUNT(*) FROM organisation WHERE first_benefitted_at >= $1) AS companies_recent,
  (SELECT COUNT(*) FROM (
      SELECT re.entry_id FROM round_entry re JOIN round r ON r.id = re.round_id
      WHERE r.position >= $3 GROUP BY re.entry_id) p) AS projects,
  (SELECT COUNT(*) FROM (
      SELECT re.entry_id FROM round_entry re JOIN round r ON r.id = re.round_id
      WHERE r.position >= $3 GROUP BY re.entry_id HAVING MIN(re.created_at) >= $1) p
  ) AS projects_recent,
  (SELECT COUNT(DISTINCT organisation_id) FROM financing_record) AS financed,
  (SELECT COUNT(*) FROM (
      SELECT organisation_id FROM financing_record GROUP BY organisation_id
      HAVING MIN(financed_on) >= $2) f) AS financed_recent,
  (SELECT COUNT(DISTINCT organisation_id) FROM service_record) AS firms,
  (SELECT COUNT(*) FROM (
      SELECT organisation_id FROM service_record GROUP BY organisation_id
      HAVING MIN(served_on) >= $2) s) AS firms_recent
"""
EVENTS_HELD = """
SELECT kind, COUNT(*) AS n FROM event
WHERE status IN ('published', 'closed') AND starts_at <= $1
GROUP BY kind
"""


@dataclass(frozen=True)
class Kpi:
    name: str
    value: int
    target: int
    percent: float
    days_elapsed: int
    days_left: int
    # Per month: what is still needed to meet the target in time, and what the
    # last 90 days delivered.
    pace_needed_per_month: float | None  # None: no time left and not reached
    pace_last_90_days_per_month: float
    recent_90_days: int
    # When the target is met at the recent pace: None when it never is at that
    # pace; the reached date (today or earlier) when already met.
    projected_date: date | None
    # The projected date falls after the programme's end: shown as words, not a date.
    beyond_programme: bool
    on_track: bool
    reached: bool


@dataclass(frozen=True)
class ProgrammeStatus:
    name: str
    starts_on: date
    ends_on: date
    as_of: datetime
    kpis: list[Kpi]
    events_held: dict[str, int]
    total_admissions: int
    reach_by_month: dict[str, int]


def programme_window(settings: Settings) -> tuple[date, date]:
    start = settings.programme_start
    years = 3
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28)
    return start, end


def measure(
    name: str, value: int, target: int, recent: int, today: date, start: date, end: date
) -> Kpi:
    """One KPI's position and pace (a pure function of its counts and the dates)."""
    days_elapsed = max(0, min((today - start).days, (end - start).days))
    days_left = max(0, (end - today).days)
    remaining = max(0, target - value)
    reached = value >= target
    months_left = days_left / DAYS_PER_MONTH
    if remaining == 0:
        needed = 0.0
    elif months_left > 0:
        needed = remaining / months_left
    else:
        needed = math.inf
    window = min(PACE_WINDOW_DAYS, max(1, days_elapsed))
    pace_per_day = recent / window
    if reached:
        projected: date | None = today
    elif pace_per_day > 0:
        try:
            projected = today + timedelta(days=math.ceil(remaining / pace_per_day))
        except OverflowError:  # past the year 9999 at this pace: past the end, certainly
            projected = date.max
    else:
        projected = None
    beyond_programme = projected is not None and projected > end
    on_track = reached or (projected is not None and not beyond_programme)
    return Kpi(
        name=name,
        value=value,
        target=target,
        percent=round(100 * value / target, 2) if target else 0.0,
        days_elapsed=days_elapsed,
        days_left=days_left,
        pace_needed_per_month=round(needed, 2) if math.isfinite(needed) else None,
        pace_last_90_days_per_month=round(pace_per_day * DAYS_PER_MONTH, 2),
        recent_90_days=recent,
        projected_date=projected,
        beyond_programme=beyond_programme,
        on_track=on_track,
        reached=reached,
    )


async def programme_status(settings: Settings, now: datetime | None = None) -> ProgrammeStatus:
    now = now or timezone.now()
    conn = default_connection()
    today = now.astimezone(UTC).date()
    start, end = programme_window(settings)
    since = now - timedelta(days=PACE_WINDOW_DAYS)
    since_day = today - timedelta(days=PACE_WINDOW_DAYS)
    targets = settings.targets

    figures: ReachFigures = await read_figures(conn)
    first_round = 2 if settings.projects_count == "advanced" else 1
    (row,) = await fetch_rows(conn, SUMMARY, [since, since_day, first_round])
    counts = {key: int(value) for key, value in row.items()}
    counts["talents_recent"] = await reached_since(conn, since_day)

    def kpi(name: str, value: int, target: int, recent: int) -> Kpi:
        return measure(name, value, target, recent, today, start, end)

    kpis = [
        kpi("talents", figures.total, targets.talents, counts["talents_recent"]),
        kpi("companies", figures.companies, targets.companies, counts["companies_recent"]),
        kpi("projects", counts["projects"], targets.projects, counts["projects_recent"]),
        kpi(
            "financed_startups",
            counts["financed"],
            targets.financed_startups,
            counts["financed_recent"],
        ),
        kpi("firms", counts["firms"], targets.firms, counts["firms_recent"]),
    ]
    held = {row["kind"]: int(row["n"]) for row in await fetch_rows(conn, EVENTS_HELD, [now])}
    return ProgrammeStatus(
        name=settings.programme_name,
        starts_on=start,
        ends_on=end,
        as_of=now,
        kpis=kpis,
        events_held=held,
        total_admissions=figures.admissions,
        reach_by_month=figures.by_month,
    )
