"""The lobby dashboard (public). The organisers' programme pages are the console's
(events_service.console.programme)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from tortoise import timezone

from events_service.db import default_connection, fetch_rows
from events_service.locale import other_locale, words
from events_service.programme.chart import reach_chart
from events_service.programme.kpis import programme_status
from events_service.reach.counter import ADMITTED_AT_EVENT_SQL
from events_service.settings import Settings
from events_service.web.i18n import pick_locale

_IN_PROGRESS = f"""
SELECT e.id, e.title, e.kind, e.venue, e.confirmed_count AS registered,
       {ADMITTED_AT_EVENT_SQL} AS admitted
FROM event e
WHERE e.status = 'published' AND e.starts_at <= $1 AND e.ends_at >= $1
ORDER BY e.starts_at
LIMIT 12
"""  # noqa: S608 - only our own constant is formatted in


async def _context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    locale = pick_locale(request, settings.default_locale)
    now = timezone.now()
    status = await programme_status(settings, now)
    talents = status.kpis[0]
    chart = reach_chart(
        status.reach_by_month, status.starts_on, status.ends_on, now.date(), talents.target
    )
    events = await fetch_rows(default_connection(), _IN_PROGRESS, [now])

    return {
        **words(locale).template_context(),
        "locale": locale,
        "other_locale": other_locale(locale),
        "path": request.url.path,
        "status": status,
        "talents": talents,
        "others": status.kpis[1:],
        "chart": chart,
        "events": events,
        "events_held": sum(status.events_held.values()),
    }


@get("/dashboard", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Template:
    return Template("pages/programme/dashboard.html", context=await _context(request))
