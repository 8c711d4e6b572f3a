"""Request and response bodies of the organiser's event and link API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from models.enums import EventKind, EventStatus

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=20_000)]
Venue = Annotated[str, msgspec.Meta(max_length=300)]
TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Quota = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
# Days after the end its attendees' personal data is kept (privacy/service.py);
# null: EVENTS_RETENTION_DAYS.
RetentionDays = Annotated[int, msgspec.Meta(ge=0, le=36_500)]


class EventCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: EventKind
    title: Title
    starts_at: datetime
    ends_at: datetime
    timezone: TimeZoneName = "Asia/Shanghai"
    description: Description = ""
    venue: Venue = ""
    capacity: Capacity | None = None
    waitlist_enabled: bool = False
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    checkin_opens_at: datetime | None = None
    checkin_closes_at: datetime | None = None
    # The door bundle carries confirmed people's names and organisations (offline doors).
    door_names_offline: bool = False
    retention_days: RetentionDays | None = None


class EventPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Only the fields present are changed; `null` clears a nullable field."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    venue: Venue | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZoneName | msgspec.UnsetType = msgspec.UNSET
    starts_at: datetime | msgspec.UnsetType = msgspec.UNSET
    ends_at: datetime | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType | None = msgspec.UNSET
    waitlist_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    registration_opens_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    registration_closes_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    checkin_opens_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    checkin_closes_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    door_names_offline: bool | msgspec.UnsetType = msgspec.UNSET
    status: EventStatus | msgspec.UnsetType = msgspec.UNSET
    retention_days: RetentionDays | msgspec.UnsetType | None = msgspec.UNSET


class EventOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    description: str
    venue: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    waitlist_enabled: bool
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    checkin_opens_at: datetime | None
    checkin_closes_at: datetime | None
    door_names_offline: bool
    status: str
    confirmed: int
    seats_left: int | None
    retention_days: int | None = None


class EventPage(msgspec.Struct):
    items: list[EventOut]
    total: int
    limit: int
    offset: int


class LinkCreate(msgspec.Struct, forbid_unknown_fields=True):
    label: Label
    quota: Quota | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    active: bool = True


class LinkPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    label: Label | msgspec.UnsetType = msgspec.UNSET
    quota: Quota | msgspec.UnsetType | None = msgspec.UNSET
    opens_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    closes_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class LinkFigures(msgspec.Struct):
    registrations: int = 0
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    admitted: int = 0


class LinkOut(msgspec.Struct):
    slug: str
    event_id: int
    label: str
    url: str
    quota: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    active: bool
    figures: LinkFigures


class RegistrationRow(msgspec.Struct):
    id: int
    status: str
    name: str
    email: str
    phone: str | None
    organisation: str | None
    job_title: str | None
    link: str | None
    created_at: datetime
    cancelled_at: datetime | None
    admitted_at: datetime | None
    person_id: int | None = None
    gate: str | None = None
    """Where the person was admitted (None: not admitted)."""


class RegistrationPage(msgspec.Struct):
    items: list[RegistrationRow]
    total: int
    limit: int
    offset: int


class TicketKeyOut(msgspec.Struct):
    event_id: int
    algorithm: str
    public_key: str
    code_format: str
