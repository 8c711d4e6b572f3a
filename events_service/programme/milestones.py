"""Milestones: a KPI crossing 25, 50, 75 or 100 % of its target, announced once.

The unique (kpi, percent) row is the gate: however many processes see the line
crossed at the same moment, one INSERT wins, and the organisers' messages are
queued in that same transaction.
"""

from __future__ import annotations

from tortoise import timezone
from tortoise.transactions import in_transaction

from events_service.db import fetch_rows
from events_service.programme.kpis import Kpi, programme_status
from events_service.settings import Settings
from models import StaffUser
from models.enums import Role
from notifications.outbox import Kind, dedupe_key, enqueue

STEPS = (25, 50, 75, 100)
KPI_LABELS = {
    "talents": "talents reached",
    "companies": "companies benefitted",
    "projects": "technical projects",
    "financed_startups": "startups financed",
    "firms": "firms served",
}

_RECORD = """
INSERT INTO milestone (kpi, percent, value, target, reached_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (kpi, percent) DO NOTHING
RETURNING id
"""


def crossed(kpi: Kpi) -> list[int]:
    if kpi.target <= 0:
        return []
    return [step for step in STEPS if kpi.value * 100 >= step * kpi.target]


async def record_milestones(kpis: list[Kpi]) -> list[tuple[str, int]]:
    """Record every step reached and not yet recorded; the (kpi, percent) newly recorded."""
    new: list[tuple[str, int]] = []
    for kpi in kpis:
        for step in crossed(kpi):
            async with in_transaction() as conn:
                values = [kpi.name, step, kpi.value, kpi.target, timezone.now()]
                if not await fetch_rows(conn, _RECORD, values):
                    continue
                organisers = [
                    user
                    for user in await StaffUser.filter(active=True).using_db(conn)
                    if Role.ADMIN.value in user.roles
                ]
                for user in organisers:
                    await enqueue(
                        kind=Kind.REACH_MILESTONE,
                        dedupe_key=dedupe_key(Kind.REACH_MILESTONE, kpi.name, step, user.email),
                        recipient=user.email,
                        payload={
                            "name": user.name or user.email,
                            "kpi": KPI_LABELS.get(kpi.name, kpi.name),
                            "percent": step,
                            "value": kpi.value,
                            "target": kpi.target,
                            "path": "/dashboard",
                        },
                        using_db=conn,
                    )
                new.append((kpi.name, step))
    return new


async def check_milestones(settings: Settings) -> list[tuple[str, int]]:
    return await record_milestones((await programme_status(settings)).kpis)
