"""The offline door: the door bundle it judges codes by, the batch sync of what it
scanned meanwhile, and the conflicts that sync finds.

A queued offline scan is a scan like any other: each entry goes through `scan()`
(service.py), the one place that decides an admission, with its own scan_id (so a
retried batch changes nothing) and its original scanned_at. What is offline's own is
what happens when that scan finds the ticket already admitted:

- the entry was scanned *after* the admission: the person (or a copy of the ticket)
  went in a second time at a door that could not know. It is recorded as a
  CheckinConflict, never as a second admission.
- the entry was scanned *before* the admission (its device was offline, a later
  scan reached the server first): the earliest scan is the admission, as the issue
  asks, so that "already in since 09:14" tells the truth. The entry takes the
  admission over (its time, gate and staff member) and the scan it displaces
  becomes the conflict.

Both happen in one transaction that locks the person, then the admission row (the
order undo_admission takes them in, so neither deadlocks against an undo), and
re-reads the admission under the lock: of two concurrent entries the earlier one
always ends up holding the admission, whichever arrived first, and the admission is
only ever updated in place (never a second row), so the event's admissions and the
talent reach are counted once. A takeover moves the person's first admission too when
it was this one (`_count_if_first`), which keeps the reach's per-day and per-kind
figures exact.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from events_service.checkin import service
from events_service.checkin import statements as sql
from events_service.checkin.codes import event_public_key_bytes
from events_service.checkin.service import ScanRequest, ScanResult, _result
from events_service.db import (
    as_datetime,
    default_connection,
    execute,
    fetch_rows,
    held_connection,
)
from events_service.errors import DomainError, NotFound
from events_service.locale import in_language, translatable, words
from models import CheckinConflict, Event
from models.enums import RegistrationStatus, ScanVerdict

# Changes that committed late (a transaction that began before the bundle was read)
# are still sent: a delta reaches this far back before its `since`. Applying a change
# twice is harmless (the door's sets only hold the latest state of each ticket).
DELTA_OVERLAP = timedelta(seconds=60)

# ---- the door bundle ----------------------------------------------------------------


def _epoch(value: datetime | str) -> int:
    return int(as_datetime(value).timestamp())


def _iso(value: datetime | str | None) -> str | None:
    return None if value is None else as_datetime(value).astimezone(UTC).isoformat()


async def door_bundle(event_id: int, master_key: bytes, since: int | None = None) -> dict:
    """What a door needs to judge this event's codes with no network, compact: ticket
    lists are arrays of registration ids (a ticket code carries its registration id),
    admissions are columns (ids, gate index, seconds since the epoch).

    With `since` (a version of an earlier bundle): only what changed since then,
    registrations whose state changed (`confirmed` lists those no longer refused) and
    admissions made, moved or undone (`undone`)."""
    version = int(time.time() * 1000)
    async with held_connection() as conn:
        found = await fetch_rows(conn, sql.BUNDLE_EVENT, [event_id])
        if not found:
            raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))
        event = found[0]
        opens, closes = service._window(event)
        names_allowed = bool(event["door_names_offline"])
        bundle: dict[str, Any] = {
            "event_id": event_id,
            "version": version,
            "since": since,
            "public_key": _b64(event_public_key_bytes(master_key, event_id)),
            "timezone": event["timezone"],
            "status": event["status"],
            "opens_at": _iso(opens),
            "closes_at": _iso(closes),
            "names_included": names_allowed,
        }
        if since is None:
            refused = await fetch_rows(conn, sql.BUNDLE_REFUSED, [event_id])
            admitted = await fetch_rows(conn, sql.BUNDLE_ADMITTED, [event_id])
            confirmed = (
                await fetch_rows(conn, sql.BUNDLE_NAMES, [event_id]) if names_allowed else []
            )
            bundle["confirmed"] = []
            bundle["undone"] = []
        else:
            cutoff = datetime.fromtimestamp(since / 1000, UTC) - DELTA_OVERLAP
            changed = await fetch_rows(conn, sql.BUNDLE_CHANGED_REGISTRATIONS, [event_id, cutoff])
            refused = [r for r in changed if r["status"] != RegistrationStatus.CONFIRMED.value]
            confirmed = [r for r in changed if r["status"] == RegistrationStatus.CONFIRMED.value]
            moved = await fetch_rows(conn, sql.BUNDLE_CHANGED_ADMISSIONS, [event_id, cutoff])
            admitted = [r for r in moved if r["admitted_"] is not None]
            bundle["confirmed"] = [r["id"] for r in confirmed]
            bundle["undone"] = [r["registration_id"] for r in moved if r["admitted_"] is None]
            if not names_allowed:
                confirmed = []
    bundle["cancelled"] = [r["id"] for r in refused if r["status"] == "cancelled"]
    bundle["waitlisted"] = [r["id"] for r in refused if r["status"] == "waitlisted"]
    bundle["admitted"] = _columns_of_admissions(admitted)
    bundle["names"] = _columns_of_names(confirmed) if names_allowed else None
    return bundle


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _columns_of_admissions(rows: list[dict[str, Any]]) -> dict[str, list]:
    gates: dict[str, int] = {}
    return {
        "ids": [r["registration_id"] for r in rows],
        "gate": [gates.setdefault(r["gate"], len(gates)) for r in rows],
        "at": [_epoch(r["admitted_at"]) for r in rows],
        "gates": list(gates),
    }


def _columns_of_names(rows: list[dict[str, Any]]) -> dict[str, list]:
    organisations: dict[str, int] = {}
    return {
        "ids": [r["id"] for r in rows],
        "name": [r["name"] for r in rows],
        # -1: no organisation.
        "organisation": [
            -1
            if r["organisation"] is None
            else organisations.setdefault(r["organisation"], len(organisations))
            for r in rows
        ],
        "organisations": list(organisations),
    }


# ---- the batch sync -----------------------------------------------------------------


@dataclass(frozen=True)
class OfflineScan:
    code: str
    gate: str
    scan_id: str
    scanned_at: datetime


@dataclass(frozen=True)
class SyncedScan:
    scan_id: str
    result: ScanResult | None
    conflict: bool = False
    # A refusal of the entry itself (e.g. a scanned_at more than a day old): its
    # problem's detail; the entry is settled, nothing was recorded.
    refused: str | None = None


async def sync_batch(
    event_id: int,
    scans: list[OfflineScan],
    staff_id: int | None,
    master_key: bytes,
    locale: str,
    allowed_roles: frozenset[str] = frozenset(),
) -> list[SyncedScan]:
    """Settle a device's queued offline scans; the answers in the order sent.

    Entries are settled earliest scanned_at first, so within a batch the earliest
    entry of a ticket admits without a takeover; across batches and devices the
    takeover (see the module's docstring) gives the same outcome."""
    zone = await _zone_of(event_id, locale)
    answers: list[SyncedScan | None] = [None] * len(scans)
    for index in sorted(range(len(scans)), key=lambda i: _sort_key(scans[i])):
        entry = scans[index]
        request = ScanRequest(
            event_id=event_id,
            gate=entry.gate,
            staff_id=staff_id,
            code=entry.code,
            scan_id=entry.scan_id,
            scanned_at=entry.scanned_at,
            locale=locale,
        )
        try:
            answers[index] = await _sync_one(request, master_key, zone)
        except DomainError as refusal:
            # This entry only (a scan_id reused, a scanned_at a day old): the others go on.
            refused = in_language(refusal.detail, locale)
            answers[index] = SyncedScan(entry.scan_id, None, refused=refused)
    return [answer for answer in answers if answer is not None]


def _sort_key(entry: OfflineScan) -> datetime:
    # A time without an offset cannot be ordered against the others; scan() refuses it.
    at = entry.scanned_at
    return at if at.utcoffset() is not None else datetime.min.replace(tzinfo=UTC)


async def _zone_of(event_id: int, locale: str) -> str:
    rows = await fetch_rows(default_connection(), "SELECT timezone FROM event WHERE id = $1",
                            [event_id])  # fmt: skip
    if not rows:
        raise NotFound(words(locale).gettext("No event %(id)s.", id=event_id))
    return rows[0]["timezone"]


async def _sync_one(request: ScanRequest, master_key: bytes, zone: str) -> SyncedScan:
    assert request.scan_id is not None and request.scanned_at is not None
    result = await service.scan(request, master_key)
    # A retried entry that became a conflict (recorded, or displaced by an earlier
    # entry) is answered as one, whatever its scan was told first.
    if await fetch_rows(default_connection(), sql.OFFLINE_CONFLICT_OF_SCAN, [request.scan_id]):
        return SyncedScan(request.scan_id, await _as_already_in(request, result, zone), True)
    if result.verdict is not ScanVerdict.ALREADY_ADMITTED or result.registration_id is None:
        return SyncedScan(request.scan_id, result)
    return await _settle_second_entry(request, result, zone)


async def _as_already_in(request: ScanRequest, result: ScanResult, zone: str) -> ScanResult:
    rows = await fetch_rows(default_connection(), sql.ADMISSION_OF, [result.registration_id])
    if not rows:
        return result
    return _answer(request, zone, result, ScanVerdict.ALREADY_ADMITTED,
                   as_datetime(rows[0]["admitted_at"]), rows[0]["gate"])  # fmt: skip


def _answer(request: ScanRequest, zone: str, result: ScanResult, verdict: ScanVerdict,
            admitted_at: datetime, gate: str) -> ScanResult:  # fmt: skip
    """The answer the sync settled on for `result`'s ticket: its verdict, at the admission
    that now holds (its time and gate)."""
    ticket = {"id": result.registration_id, "name": result.name,
              "organisation": result.organisation}  # fmt: skip
    return _result(request, zone, verdict, ticket, admitted_at=admitted_at, gate=gate)


async def _settle_second_entry(request: ScanRequest, result: ScanResult, zone: str) -> SyncedScan:
    """An offline entry of a ticket already admitted: the earlier of the two is the
    admission, the other a conflict (under the person's and the admission's locks)."""
    assert request.scan_id is not None and request.scanned_at is not None
    registration_id = result.registration_id
    now = timezone.now()
    moment = min(request.scanned_at, now)
    async with in_transaction() as conn:
        (facts,) = await fetch_rows(conn, sql.OFFLINE_TICKET_FACTS, [registration_id])
        person_id = facts["person_id"]
        await fetch_rows(conn, sql.LOCK_PERSON, [person_id])
        rows = await fetch_rows(conn, sql.OFFLINE_LOCK_ADMISSION, [registration_id])
        if not rows:
            # Undone between the scan and now: nothing to conflict with.
            return SyncedScan(request.scan_id, result)
        admission = rows[0]
        admitted_at = as_datetime(admission["admitted_at"])
        if moment >= admitted_at:
            values = [registration_id, request.event_id, request.gate, request.staff_id,
                      request.scanned_at, request.scan_id, admission["gate"], admitted_at,
                      now]  # fmt: skip
            await execute(conn, sql.OFFLINE_INSERT_CONFLICT, values)
            answer = _answer(request, zone, result, ScanVerdict.ALREADY_ADMITTED, admitted_at,
                             admission["gate"])  # fmt: skip
            return SyncedScan(request.scan_id, answer, True)
        # This entry predates the admission: it takes it over.
        (kind,) = await fetch_rows(conn, sql.OFFLINE_KIND, [facts["event_id"]])
        # Before the admission moves: the person's first admission is read at its old time.
        await service._count_if_first(conn, person_id, moment, kind["kind"])
        displaced = await fetch_rows(
            conn, sql.OFFLINE_ADMITTING_SCAN, [registration_id, request.scan_id]
        )
        await execute(
            conn, sql.OFFLINE_TAKE_OVER, [admission["id"], request.gate, request.staff_id, moment]
        )
        await execute(conn, sql.OFFLINE_REPOINT_CONFLICTS, [registration_id, request.gate, moment])
        values = [registration_id, request.event_id, admission["gate"], admission["staff_id"],
                  admitted_at, displaced[0]["scan_id"] if displaced else None, request.gate,
                  moment, now]  # fmt: skip
        await execute(conn, sql.OFFLINE_INSERT_CONFLICT, values)
        await execute(conn, sql.OFFLINE_NOW_ADMITTED, [request.scan_id])
    answer = _answer(request, zone, result, ScanVerdict.ADMITTED, moment, request.gate)
    return SyncedScan(request.scan_id, answer)


# ---- conflicts ------------------------------------------------------------------------


_CONFLICT_FIELDS = (
            "id", "registration_id", "event_id", "gate", "staff_id", "staff__email",
            "scanned_at", "admission_gate", "admission_at", "created_at", "reviewed_at",
            "reviewed_by_id", "registration__person__name",
)  # fmt: skip


async def conflicts(event_id: int, reviewed: bool | None, limit: int = 500) -> list[dict]:
    """The event's conflicts, newest scan first; `reviewed`: only those (not) reviewed."""
    if not await Event.exists(id=event_id):
        raise NotFound(translatable("No event %(event_id)s.", event_id=event_id))
    query = CheckinConflict.filter(event_id=event_id)
    if reviewed is not None:
        query = query.filter(reviewed_at__isnull=not reviewed)
    return await query.order_by("-scanned_at", "-id").limit(limit).values(*_CONFLICT_FIELDS)


async def conflict_row(conflict_id: int) -> dict:
    rows = await CheckinConflict.filter(id=conflict_id).values(*_CONFLICT_FIELDS)
    if not rows:
        raise NotFound(translatable("No check-in conflict %(id)s.", id=conflict_id))
    return rows[0]


async def review_conflict(conflict_id: int, staff_id: int) -> CheckinConflict:
    conflict = await CheckinConflict.get_or_none(id=conflict_id)
    if conflict is None:
        raise NotFound(translatable("No check-in conflict %(id)s.", id=conflict_id))
    if conflict.reviewed_at is None:
        # Conditional: two reviewers at once keep the first one's name.
        await CheckinConflict.filter(id=conflict_id, reviewed_at__isnull=True).update(
            reviewed_at=timezone.now(), reviewed_by_id=staff_id
        )
        await conflict.refresh_from_db()
    return conflict
