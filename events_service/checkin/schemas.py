"""Request and response bodies of door scanning."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from events_service.boundary import RowId

Gate = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=400)]
ScanId = Annotated[str, msgspec.Meta(min_length=8, max_length=64)]


class CheckinIn(msgspec.Struct, forbid_unknown_fields=True):
    """A scanned `code`, or a `registration_id` picked by name look-up: one of the two."""

    event_id: RowId
    gate: Gate
    code: Code | None = None
    registration_id: RowId | None = None
    scan_id: ScanId | None = None
    scanned_at: datetime | None = None


class AttendeeOut(msgspec.Struct):
    name: str
    organisation: str | None


class CheckinOut(msgspec.Struct, omit_defaults=True):
    verdict: str
    message: str
    attendee: AttendeeOut | None = None
    registration_id: int | None = None
    admitted_at: datetime | None = None
    gate: str | None = None


class GateCount(msgspec.Struct):
    gate: str
    admitted: int


class BucketCount(msgspec.Struct):
    starts_at: datetime
    admitted: int


class AttendanceOut(msgspec.Struct):
    event_id: int
    registered: int
    admitted: int
    not_yet_admitted: int
    waitlisted: int
    by_gate: list[GateCount]
    by_5_minutes: list[BucketCount]


class AttendeeRow(msgspec.Struct):
    registration_id: int
    name: str
    email: str
    phone: str | None
    organisation: str | None
    status: str
    admitted_at: datetime | None
    gate: str | None
