"""The event a competition is: looked up, and refused when it is another kind."""

from __future__ import annotations

from events_service.errors import Conflict, NotFound
from models import Event
from models.enums import EventKind


async def competition(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    if event.kind != EventKind.COMPETITION:
        raise Conflict(f"Event {event_id} is a {event.kind}, not a competition.")
    return event
