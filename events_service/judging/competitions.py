"""The event a competition is: looked up, and refused when it is another kind."""

from __future__ import annotations

from events_service.errors import Conflict, NotFound
from events_service.locale import translatable
from models import Event
from models.enums import EventKind


async def competition(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))
    if event.kind != EventKind.COMPETITION:
        raise Conflict(
            translatable(
                "Event %(event_id)s is a %(event_kind)s, not a competition.",
                event_id=event_id,
                event_kind=event.kind,
            )
        )
    return event
