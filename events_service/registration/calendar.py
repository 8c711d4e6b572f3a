"""An iCalendar (.ics) invite for a ticket, for the ticket page and the ticket e-mail."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from events_service.locale import words
from models import Event


def event_invite(event: Event, *, uid: str, ticket_url: str, locale: str) -> bytes:
    """The invite, its words in `locale` (the registration's)."""
    calendar = Calendar()
    calendar.add("prodid", "-//events-service//tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", uid)
    entry.add("dtstamp", datetime.now(UTC))
    # UTC instants are exact everywhere; calendars show them in the reader's zone.
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", event.title)
    if event.venue:
        entry.add("location", event.venue)
    ticket_line = words(locale).gettext("Your ticket: %(url)s", url=ticket_url)
    entry.add("description", f"{event.description}\n\n{ticket_line}".strip())
    entry.add("url", ticket_url)
    calendar.add_component(entry)
    return calendar.to_ical()
