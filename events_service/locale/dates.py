"""Event times as people at the venue read them, in the event's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_WEEKDAYS_ZH = "一二三四五六日"


def format_when(starts_at: datetime, ends_at: datetime, zone: str, locale: str) -> str:
    """The event's time as people at the venue read it, with the zone spelled out."""
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    offset = start.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}"
    same_day = start.date() == end.date()
    if locale == "zh-Hans":
        day = f"{start.year}年{start.month}月{start.day}日（周{_WEEKDAYS_ZH[start.weekday()]}）"
        end_text = end.strftime("%H:%M") if same_day else f"{end.month}月{end.day}日 {end:%H:%M}"
        return f"{day} {start:%H:%M}–{end_text}（{zone}，{utc}）"
    end_text = end.strftime("%H:%M") if same_day else end.strftime("%a %d %b %Y, %H:%M")
    return f"{start:%a %d %b %Y, %H:%M}–{end_text} ({zone}, {utc})"


def format_instant(moment: datetime, zone: str, locale: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    if locale == "zh-Hans":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return local.strftime("%d %b %Y, %H:%M")
