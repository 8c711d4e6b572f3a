"""An iCalendar (.ics) invite for a ticket, for the ticket page and the ticket e-mail."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from models import Event


def event_invite(event: Event, *, uid: str, ticket_url: str) -> bytes:
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
    entry.add("description", f"{event.description}\n\nYour ticket: {ticket_url}".strip())
    entry.add("url", ticket_url)
    calendar.add_component(entry)
    return calendar.to_ical()
