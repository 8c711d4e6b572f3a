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
    """A look-up result. `email` and `phone` are masked (`z***@x.test`) for door
    staff; organisers (admins) see them in full."""

    registration_id: int
    name: str
    email: str
    phone: str | None
    organisation: str | None
    status: str
    admitted_at: datetime | None
    gate: str | None


class AttendeeLookupOut(msgspec.Struct):
    """One recorded attendee look-up: who searched, how many people it showed, when,
    and a short keyed hash of the text (equal hashes: the same query)."""

    staff_id: int | None
    staff_email: str | None
    results: int
    query_hash: str
    created_at: datetime


# ---- the offline door -------------------------------------------------------------

MAX_BATCH = 500


class OfflineScanIn(msgspec.Struct, forbid_unknown_fields=True):
    """One scan a door made while offline: its own id and the time it was made."""

    code: Code
    gate: Gate
    scan_id: ScanId
    scanned_at: datetime


class CheckinBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    event_id: RowId
    scans: Annotated[list[OfflineScanIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class BatchAnswer(msgspec.Struct, omit_defaults=True):
    """The answer to one entry: the single scan's verdict and message, `conflict` when
    the entry is a second entry of an admitted ticket (recorded, never admitted), or
    `verdict: refused` with the reason when the entry itself is refused."""

    scan_id: str
    verdict: str
    message: str
    conflict: bool = False
    attendee: AttendeeOut | None = None
    registration_id: int | None = None
    admitted_at: datetime | None = None
    gate: str | None = None


class CheckinBatchOut(msgspec.Struct):
    event_id: int
    answers: list[BatchAnswer]
    admitted: int
    conflicts: int


class CheckinConflictOut(msgspec.Struct):
    """A second (offline) entry of an admitted ticket: where and when it was scanned,
    and the admission it conflicts with."""

    id: int
    event_id: int
    registration_id: int
    name: str | None
    gate: str
    staff_id: int | None
    staff_email: str | None
    scanned_at: datetime
    admission_gate: str
    admission_at: datetime
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by_id: int | None
