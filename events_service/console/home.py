"""The console's home: today's and the next events with their figures, the outbox's
failures and the talent reach, and the way to everything else."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from tortoise import timezone

from events_service.console.layout import console_page
from events_service.events.figures import event_figures
from events_service.locale import translatable
from events_service.locale.dates import format_when
from events_service.reach.counter import read_figures
from models import Event, OutboxMessage
from models.enums import EventStatus, OutboxStatus

UPCOMING_SHOWN = 8


@get("/", name="console:home")
async def console_home(request: Request[Any, Any, Any]) -> Template:
    now = timezone.now()
    events = (
        await Event.filter(ends_at__gte=now)
        .exclude(status=EventStatus.CANCELLED)
        .order_by("starts_at", "id")
        .limit(UPCOMING_SHOWN)
    )
    figures = await event_figures([event.id for event in events])
    failed = await OutboxMessage.filter(status=OutboxStatus.FAILED).count()
    reach = await read_figures()
    settings = request.app.state.settings
    return console_page(
        request,
        "pages/console/home.html",
        section="home",
        title=translatable("Home"),
        events=events,
        figures=figures,
        now=now,
        failed=failed,
        reach=reach.total,
        reach_target=settings.targets.talents,
        when=format_when,
    )


ROUTES = [console_home]
