"""Event times as people at the venue read them: in the event's timezone, in the
reader's language (Babel's CLDR formats: "Sat, 12 Dec 2026" / "2026年12月12日周六")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton, format_time

from events_service.locale import words

# The CLDR locale each of LOCALES formats dates with: British English writes the day
# before the month ("12 Dec"), as most of the base's English readers do.
_FORMAT_LOCALES = {"en": "en_GB", "zh-Hans": "zh_Hans_CN"}


@functools.cache
def format_locale(locale: str) -> Locale:
    return Locale.parse(_FORMAT_LOCALES.get(locale, "en_GB"))


def _utc_offset(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def format_when(starts_at: datetime, ends_at: datetime, zone: str, locale: str) -> str:
    """The event's time as people at the venue read it, with the zone spelled out."""
    tz, cldr, w = ZoneInfo(zone), format_locale(locale), words(locale)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if start.date() == end.date():
        when = w.gettext(
            "%(day)s, %(times)s",
            day=format_skeleton("yMMMEd", start, tzinfo=tz, locale=cldr),
            times=format_interval(start, end, "Hm", tzinfo=tz, locale=cldr),
        )
    else:
        when = w.gettext(
            "%(start)s – %(end)s",
            start=format_instant(start, zone, locale),
            end=format_instant(end, zone, locale),
        )
    return w.gettext(
        "%(when)s (%(zone)s, %(offset)s)", when=when, zone=zone, offset=_utc_offset(start)
    )


def format_instant(moment: datetime, zone: str, locale: str) -> str:
    """A moment as a date and a time at the venue ("12 Dec 2026, 09:30")."""
    tz, cldr = ZoneInfo(zone), format_locale(locale)
    return words(locale).gettext(
        "%(day)s, %(time)s",
        day=format_skeleton("yMMMd", moment, tzinfo=tz, locale=cldr),
        time=format_time(moment, "HH:mm", tzinfo=tz, locale=cldr),
    )


def format_day(day: date, locale: str) -> str:
    """A calendar day, no time ("1 May 2027" / "2027年5月1日")."""
    return format_date(day, "medium", locale=format_locale(locale))


def instant_formatter(zone: str, locale: str) -> Callable[[datetime | None], str]:
    """format_instant for many moments in one zone and language (a table's column):
    the same text, each day's words worked out by Babel once; None gives ""."""
    tz, w = ZoneInfo(zone), words(locale)

    @functools.lru_cache(maxsize=64)
    def day(local_date: date) -> str:
        noon = datetime.combine(local_date, time(12), tz)
        return format_skeleton("yMMMd", noon, tzinfo=tz, locale=format_locale(locale))

    def instant(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(tz)
        # CLDR's "HH:mm" is the 24-hour clock in ASCII digits in both languages.
        return w.gettext("%(day)s, %(time)s", day=day(local.date()), time=f"{local:%H:%M}")

    return instant
