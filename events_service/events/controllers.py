"""Organiser routes: events, their status, registration links, registrations, ticket key."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from events_service.auth.guards import admin_only
from events_service.boundary import Limit, LinkSlug, LinkSlugQuery, Offset
from events_service.checkin.codes import CODE_VERSION
from events_service.deps import SettingsDep
from events_service.events import service
from events_service.events.schemas import (
    EventCreate,
    EventOut,
    EventPage,
    EventPatch,
    LinkCreate,
    LinkFigures,
    LinkOut,
    LinkPatch,
    RegistrationPage,
    RegistrationRow,
    TicketKeyOut,
)
from events_service.privacy.display import person_name
from events_service.web.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from events_service.web.csv_export import csv_response
from events_service.web.i18n import pick_locale
from models.enums import EventKind, EventStatus, RegistrationStatus

Search = Annotated[str | None, QueryParameter(max_length=200)]

CSV_COLUMNS = (
    "id", "status", "name", "email", "phone", "organisation", "job_title", "link",
    "created_at", "cancelled_at", "admitted_at",
)  # fmt: skip


def csv_cells(row: RegistrationRow, locale: str) -> list[object]:
    """One registration as its CSV row (both exports): an erased person's name is the
    placeholder in `locale`, not an empty cell."""
    return [
        person_name(row.name, locale) if column == "name" else getattr(row, column)
        for column in CSV_COLUMNS
    ]


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]
    guards = [admin_only]

    @post("/", summary="Create an event (draft)")
    async def create_event(self, data: JSONBody[EventCreate]) -> EventOut:
        return service.event_out(await service.create_event(data))

    @get("/", summary="List events")
    async def list_events(
        self,
        q: Search = None,
        kind: FromQuery[EventKind | None] = None,
        status: FromQuery[EventStatus | None] = None,
        starts_after: FromQuery[datetime | None] = None,
        starts_before: FromQuery[datetime | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> EventPage:
        events, total = await service.list_events(
            q=q,
            kind=kind,
            status=status,
            starts_after=starts_after,
            starts_before=starts_before,
            limit=limit,
            offset=offset,
        )
        return EventPage(
            items=[service.event_out(e) for e in events], total=total, limit=limit, offset=offset
        )

    @get("/{event_id:int}", summary="One event")
    async def get_event(self, event_id: FromPath[int]) -> EventOut:
        return service.event_out(await service.get_event(event_id))

    @patch("/{event_id:int}", summary="Change an event (only the fields sent)")
    async def update_event(self, event_id: FromPath[int], data: JSONBody[EventPatch]) -> EventOut:
        return service.event_out(await service.update_event(event_id, data))

    @post("/{event_id:int}/publish", status_code=200, summary="Publish: links start working")
    async def publish(self, event_id: FromPath[int]) -> EventOut:
        return service.event_out(await service.set_status(event_id, EventStatus.PUBLISHED))

    @post("/{event_id:int}/close", status_code=200, summary="Close registration")
    async def close(self, event_id: FromPath[int]) -> EventOut:
        return service.event_out(await service.set_status(event_id, EventStatus.CLOSED))

    @post("/{event_id:int}/cancel", status_code=200, summary="Cancel the event (final)")
    async def cancel(self, event_id: FromPath[int]) -> EventOut:
        return service.event_out(await service.set_status(event_id, EventStatus.CANCELLED))

    @post("/{event_id:int}/links", summary="Create a registration link for a channel")
    async def create_link(
        self, event_id: FromPath[int], data: JSONBody[LinkCreate], settings: SettingsDep
    ) -> LinkOut:
        link = await service.create_link(event_id, data)
        return service.link_out(link, settings.public_base_url, LinkFigures())

    @get("/{event_id:int}/links", summary="Links of an event with their figures")
    async def list_links(self, event_id: FromPath[int], settings: SettingsDep) -> list[LinkOut]:
        links, figures = await service.list_links(event_id)
        return [
            service.link_out(link, settings.public_base_url, figures.get(link.id, LinkFigures()))
            for link in links
        ]

    @get("/{event_id:int}/registrations", summary="Registrations, searchable and paginated")
    async def list_registrations(
        self,
        event_id: FromPath[int],
        q: Search = None,
        status: FromQuery[RegistrationStatus | None] = None,
        link: LinkSlugQuery = None,
        admitted: FromQuery[bool | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> RegistrationPage:
        rows, total = await service.list_registrations(
            event_id,
            q=q,
            status=status,
            link_slug=link,
            admitted=admitted,
            limit=limit,
            offset=offset,
        )
        return RegistrationPage(items=rows, total=total, limit=limit, offset=offset)

    @get(
        "/{event_id:int}/registrations.csv",
        summary="Registrations as CSV (same filters)",
        media_type=CSV_MEDIA_TYPE,
    )
    async def export_registrations(
        self,
        request: Request[Any, Any, Any],
        settings: SettingsDep,
        event_id: FromPath[int],
        q: Search = None,
        status: FromQuery[RegistrationStatus | None] = None,
        link: LinkSlugQuery = None,
        admitted: FromQuery[bool | None] = None,
    ) -> Stream:
        rows = await service.registrations_for_export(
            event_id, q=q, status=status, link_slug=link, admitted=admitted
        )
        locale = pick_locale(request, settings.default_locale)
        return csv_response(
            f"event-{event_id}-registrations.csv",
            CSV_COLUMNS,
            (csv_cells(row, locale) async for row in rows),
        )


class LinkController(Controller):
    path = "/api/v1/links"
    tags = ["events"]
    guards = [admin_only]

    @patch("/{slug:str}", summary="Change a link (label, quota, window, active)")
    async def update_link(
        self, slug: LinkSlug, data: JSONBody[LinkPatch], settings: SettingsDep
    ) -> LinkOut:
        link = await service.update_link(slug, data)
        _, figures = await service.list_links(link.event_id)  # type: ignore[attr-defined]
        return service.link_out(link, settings.public_base_url, figures.get(link.id, LinkFigures()))


@get(
    "/api/v1/events/{event_id:int}/ticket-key",
    tags=["events"],
    summary="The event's public key for verifying ticket codes offline (public)",
)
async def ticket_key(event_id: FromPath[int], settings: SettingsDep) -> TicketKeyOut:
    found_id, key = await service.ticket_key(event_id, settings.signing_key)
    return TicketKeyOut(
        event_id=found_id,
        algorithm="Ed25519",
        public_key=base64.urlsafe_b64encode(key).decode().rstrip("="),
        code_format=(
            f"base32 (no padding) of: version byte ({CODE_VERSION}) | registration id (uint32 BE)"
            " | event id (uint32 BE) | Ed25519 signature over "
            "b'events-service/ticket/v1|' + the first 9 bytes"
        ),
    )
