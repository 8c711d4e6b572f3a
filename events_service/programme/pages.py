"""The lobby dashboard (public) and the organisers' programme page (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from tortoise import timezone

from events_service.auth.guards import admin_only
from events_service.db import default_connection, fetch_rows
from events_service.programme.chart import reach_chart
from events_service.programme.kpis import programme_status
from events_service.programme.records import kpi_records
from events_service.reach.counter import ADMITTED_AT_EVENT_SQL
from events_service.settings import Settings
from events_service.web.i18n import other_locale, pick_locale
from events_service.web.login import PAGE_EXCEPTION_HANDLERS

WORDS = {
    "en": {
        "title": "Programme dashboard",
        "talents": "Talents reached",
        "companies": "Companies benefitted",
        "projects": "Technical projects",
        "financed_startups": "Startups financed",
        "firms": "Firms served",
        "of_target": "of {target}",
        "pace": "last 90 days: {recent}/month · needed: {needed}/month",
        "on_track": "on track, reached by {date}",
        "reached": "target reached",
        "not_at_pace": "not at this pace",
        "behind": "behind: at this pace by {date}",
        "in_progress": "Happening now",
        "admitted": "admitted",
        "registered": "registered",
        "none_now": "No event in progress.",
        "chart": "People reached, cumulative by month, against the straight line to the target",
        "admissions": "admissions in total",
        "events_held": "events held",
        "days_left": "{days} days left of the programme",
        "records": "Records",
        "csv": "CSV",
        "language": "中文",
        "live": "live",
    },
    "zh-Hans": {
        "title": "项目数据看板",
        "talents": "覆盖人才",
        "companies": "受益企业",
        "projects": "技术项目",
        "financed_startups": "获得融资的初创企业",
        "firms": "服务企业",
        "of_target": "目标 {target}",
        "pace": "近 90 天：每月 {recent} · 需要：每月 {needed}",
        "on_track": "进度正常，预计 {date} 达成",
        "reached": "已达成目标",
        "not_at_pace": "按当前速度无法达成",
        "behind": "进度落后：按当前速度 {date} 达成",
        "in_progress": "正在进行",
        "admitted": "已入场",
        "registered": "已报名",
        "none_now": "目前没有进行中的活动。",
        "chart": "按月累计覆盖人数，与达成目标的匀速线对比",
        "admissions": "累计入场人次",
        "events_held": "已举办活动",
        "days_left": "项目剩余 {days} 天",
        "records": "明细",
        "csv": "CSV",
        "language": "English",
        "live": "实时",
    },
}

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
    words = WORDS[locale]
    now = timezone.now()
    status = await programme_status(settings, now)
    talents = status.kpis[0]
    chart = reach_chart(
        status.reach_by_month, status.starts_on, status.ends_on, now.date(), talents.target
    )
    events = await fetch_rows(default_connection(), _IN_PROGRESS, [now])

    def t(key: str, **values: object) -> str:
        text = words[key]
        return text.format(**values) if values else text

    return {
        "t": t,
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


@get(
    "/admin/programme",
    guards=[admin_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
)
async def admin_programme(request: Request[Any, Any, Any]) -> Template:
    context = await _context(request)
    settings: Settings = request.app.state.settings
    context["records"] = {
        kpi.name: await kpi_records(kpi.name, settings, limit=20) for kpi in context["status"].kpis
    }
    context["admin"] = True
    return Template("pages/programme/dashboard.html", context=context)
