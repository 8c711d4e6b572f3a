"""The public talent-reach figure."""

from __future__ import annotations

import msgspec
from litestar import get

from events_service.deps import SettingsDep
from events_service.reach.counter import read_figures


class ReachOut(msgspec.Struct):
    talents_reached: int
    goal: int
    percent: float
    by_event_kind: dict[str, int]
    by_month: dict[str, int]


@get("/api/v1/reach", tags=["reach"], summary="Talents reached so far (public)")
async def reach(settings: SettingsDep) -> ReachOut:
    figures = await read_figures()
    goal = settings.targets.talents
    return ReachOut(
        talents_reached=figures.total,
        goal=goal,
        percent=round(100 * figures.total / goal, 2) if goal else 0.0,
        by_event_kind=figures.by_event_kind,
        by_month=figures.by_month,
    )
