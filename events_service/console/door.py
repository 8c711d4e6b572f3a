"""The door in the console: the events at the door today, and per event the live
figures (admitted of registered, per gate), the arrivals every 5 minutes as a chart,
the latest scans with their verdicts, and the undo of an admission made by mistake.

The figures come from the door's own queries (checkin.attendance, counted by the
database); the page refreshes them with htmx every few seconds (a fragment route),
and is a plain page without script (reload for the latest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from tortoise import timezone

from events_service.checkin import attendance as door_figures
from events_service.checkin.attendance import BUCKET
from events_service.checkin.pages import door_words
from events_service.checkin.schemas import BucketCount
from events_service.checkin.service import undo_admission
from events_service.console.layout import console_page, done
from events_service.errors import NotFound
from events_service.events.figures import event_figures
from events_service.locale import LOCALES, translatable, words
from events_service.locale.dates import format_locale, format_when
from events_service.privacy.display import person_name
from events_service.programme.live import attendance_changed
from events_service.web.login import staff_page_context
from models import Event, Registration
from models.enums import EventStatus, ScanVerdict

EVENTS_SHOWN = 20
SCANS_SHOWN = 20
MAX_BARS = 48
"""The chart's last four hours at most (48 slots of 5 minutes)."""
REFRESH = "every 5s"

_GOOD = {ScanVerdict.ADMITTED.value}
_WARN = {ScanVerdict.ALREADY_ADMITTED.value, ScanVerdict.UNDONE.value}


def verdict_words(locale: str) -> dict[str, str]:
    """Each verdict's word at the door (the scanner's own), in the page's language."""
    w = words(locale)
    return {**door_words(locale)["verdicts"], "undone": w.pgettext("door verdict", "UNDONE")}


def verdict_tone(verdict: str) -> str:
    """The badge's colour: ok (in), warn (look again), bad (refused)."""
    return "ok" if verdict in _GOOD else "warn" if verdict in _WARN else "bad"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    admitted: int
    starts_at: datetime
    label: str
    """The slot's start, HH:mm in the event's timezone."""


@dataclass(frozen=True)
class ArrivalsChart:
    width: int
    height: int
    baseline: float
    top: float
    left: float
    right: float
    max_value: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    """(x, HH:mm) under the first bar and every half hour's."""


def arrivals_chart(
    buckets: list[BucketCount], zone: str, locale: str, now: datetime
) -> ArrivalsChart | None:
    """Admissions per 5 minutes as bars, from the first arrival's slot to the last (or
    to now, while people keep coming), empty slots included; None before anyone came."""
    if not buckets:
        return None
    width, height, left, right, top, bottom = 480, 200, 36, 8, 14, 30
    by_start = {bucket.starts_at: bucket.admitted for bucket in buckets}
    first, last = buckets[0].starts_at, buckets[-1].starts_at
    current = door_figures.bucket_start(now)
    if last < current <= last + timedelta(hours=1):
        last = current
    slots = int((last - first) / BUCKET) + 1
    if slots > MAX_BARS:
        first, slots = last - (MAX_BARS - 1) * BUCKET, MAX_BARS
    peak = max(max(by_start.values()), 1)
    # A slot is at most 24 wide: a few bars stay bars, from the left.
    step = min((width - left - right) / slots, 24)
    baseline = height - bottom
    tz = _zone(zone)
    bars, ticks = [], []
    last_tick = 0
    for index in range(slots):
        start = first + index * BUCKET
        n = by_start.get(start, 0)
        bar_height = (baseline - top) * n / peak
        x = left + index * step
        label = format_time(start, "HH:mm", tzinfo=tz, locale=format_locale(locale))
        bars.append(
            Bar(x + 1, baseline - bar_height, max(step - 2, 1), bar_height, n, start, label)
        )
        # The first slot's time, then every half hour's (not crowding the one before).
        if index == 0 or (start.astimezone(tz).minute % 30 == 0 and index - last_tick >= 3):
            ticks.append((x + step / 2, label))
            last_tick = index
    return ArrivalsChart(width, height, baseline, top, left, right, peak, bars, ticks)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def kept_language(request: Request[Any, Any, Any]) -> str:
    """The page's explicit language switch, kept on the page an action leads back to."""
    lang = request.query_params.get("lang")
    return f"?lang={lang}" if lang in LOCALES else ""


async def _event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(translatable("No event %(id)s.", id=event_id))
    return event


async def _live_context(event: Event, locale: str) -> dict[str, Any]:
    """The figures, the chart and the latest scans: the part of the page that refreshes."""
    figures = await door_figures.attendance(event.id, locale)
    scans = await door_figures.latest_scans(event.id, SCANS_SHOWN)
    # The undo goes on the newest admission of each registration still admitted.
    undoable, seen = set(), set()
    for scan in scans:
        if scan.verdict == ScanVerdict.ADMITTED.value and scan.admitted:
            if scan.registration_id not in seen:
                undoable.add(scan.id)
            seen.add(scan.registration_id)
    tz = _zone(event.timezone)
    return {
        "event": event,
        "figures": figures,
        "chart": arrivals_chart(figures.by_5_minutes, event.timezone, locale, timezone.now()),
        "scans": scans,
        "undoable": undoable,
        "verdicts": verdict_words(locale),
        "tone": verdict_tone,
        "clock": lambda moment: format_time(
            moment, "HH:mm:ss", tzinfo=tz, locale=format_locale(locale)
        ),
        "refresh": REFRESH,
    }


@get("/door", name="console:door-index")
async def door_index(request: Request[Any, Any, Any]) -> Template:
    now = timezone.now()
    events = (
        await Event.filter(status=EventStatus.PUBLISHED, ends_at__gte=now)
        .order_by("starts_at", "id")
        .limit(EVENTS_SHOWN)
    )
    return console_page(
        request,
        "pages/console/door/index.html",
        section="door",
        title=translatable("Door"),
        events=events,
        figures=await event_figures([event.id for event in events]),
        now=now,
        when=format_when,
    )


@get("/events/{event_id:int}/door", name="console:door")
async def door_page(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await _event(event_id)
    live = await _live_context(event, staff_page_context(request)["locale"])
    return console_page(
        request,
        "pages/console/door/event.html",
        section="door",
        title=event.title,
        crumbs=[(translatable("Door"), "/admin/door")],
        when=format_when,
        **live,
    )


@get("/events/{event_id:int}/door/live", name="console:door-live")
async def door_live(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    """The refreshing part of the door page alone (htmx swaps it in)."""
    event = await _event(event_id)
    live = await _live_context(event, staff_page_context(request)["locale"])
    return console_page(
        request, "pages/console/door/live.html", section="door", title=event.title, **live
    )


@post("/events/{event_id:int}/door/undo/{registration_id:int}", name="console:door-undo")
async def door_undo(
    request: Request[Any, Any, Any], event_id: FromPath[int], registration_id: FromPath[int]
) -> Redirect:
    target = f"/admin/events/{event_id}/door{kept_language(request)}"
    registration = await Registration.get_or_none(
        id=registration_id, event_id=event_id
    ).select_related("person")
    if registration is None:
        raise NotFound(
            translatable("No registration %(registration_id)s.", registration_id=registration_id)
        )
    try:
        await undo_admission(registration_id, request.user.id)
    except NotFound as refusal:
        return done(request, target, refusal.detail, "warn")
    attendance_changed(request, event_id)
    return done(
        request,
        target,
        translatable(
            "The admission of %(name)s is undone: the ticket can be scanned again.",
            name=person_name(registration.person.name, staff_page_context(request)["locale"]),
        ),
    )


ROUTES = [door_index, door_page, door_live, door_undo]
