"""Door routes: scan (or admit by look-up), undo, attendance, attendee look-up."""

from __future__ import annotations

import gzip
import hashlib
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import MediaType, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_204_NO_CONTENT

from events_service.auth.claimed import VERIFIES_STAFF, ClaimedStaff
from events_service.auth.guards import admin_only, staff_only
from events_service.boundary import Limit
from events_service.checkin import attendance as attendance_service
from events_service.checkin import offline, service
from events_service.checkin.schemas import (
    MAX_BATCH,
    AttendanceOut,
    AttendeeLookupOut,
    AttendeeOut,
    AttendeeRow,
    BatchAnswer,
    CheckinBatchIn,
    CheckinBatchOut,
    CheckinConflictOut,
    CheckinIn,
    CheckinOut,
)
from events_service.deps import SettingsDep
from events_service.errors import Unprocessable
from events_service.locale import words
from events_service.programme.live import attendance_changed
from events_service.web.i18n import pick_locale
from models import StaffUser
from models.enums import Role, ScanVerdict

Query = Annotated[str, QueryParameter(min_length=1, max_length=100)]


@post(
    "/api/v1/checkins",
    guards=[staff_only],
    status_code=200,
    tags=["check-in"],
    summary="Scan a ticket code (or admit a looked-up registration)",
    description="Every outcome is 200 with a verdict; only a malformed request is a 4xx.",
    # The staff member is re-read in the scan's first statement, not in a query of its own.
    opt={VERIFIES_STAFF: True},
)
async def checkin(
    data: JSONBody[CheckinIn],
    request: Request[StaffUser | ClaimedStaff, Token, Any],
    settings: SettingsDep,
) -> CheckinOut:
    user = request.user
    # The message comes in the request's language; the verdict slug never changes.
    locale = pick_locale(request, settings.default_locale)
    if (data.code is None) == (data.registration_id is None):
        raise Unprocessable(
            words(locale).gettext("Send either the scanned code or a registration_id, not both.")
        )
    result = await service.scan(
        service.ScanRequest(
            event_id=data.event_id,
            gate=data.gate.strip(),
            staff_id=user.id,
            code=data.code,
            registration_id=data.registration_id,
            scan_id=data.scan_id,
            scanned_at=data.scanned_at,
            claimed_staff=user if isinstance(user, ClaimedStaff) else None,
            allowed_roles=staff_only.allowed,
            locale=locale,
        ),
        settings.signing_key,
    )
    if result.verdict == ScanVerdict.ADMITTED:
        attendance_changed(request, data.event_id)
    return scan_answer(CheckinOut, result)


# The single scan's answer and a batch entry's: one shape, the batch adding its entry's
# scan_id and conflict flag.
_Answer = TypeVar("_Answer", CheckinOut, BatchAnswer)


def scan_answer(shape: type[_Answer], result: service.ScanResult, **entry: Any) -> _Answer:
    """A scan's verdict as the door is told it: its slug, its message in the request's
    language and, where the scan found a ticket, whose it is and its admission."""
    attendee = None
    if result.name is not None:
        attendee = AttendeeOut(name=result.name, organisation=result.organisation)
    return shape(
        **entry,
        verdict=result.verdict.value,
        message=result.message,
        attendee=attendee,
        registration_id=result.registration_id,
        admitted_at=result.admitted_at,
        gate=result.gate,
    )


@delete(
    "/api/v1/checkins/{registration_id:int}",
    guards=[staff_only],
    status_code=HTTP_204_NO_CONTENT,
    tags=["check-in"],
    summary="Undo an admission made by mistake (logged; the reach stays exact)",
    description="Organisers undo any admission; door staff only their own, within "
    "5 minutes of it (403 otherwise). Every undo is logged with who made it.",
)
async def undo_checkin(
    registration_id: FromPath[int], request: Request[StaffUser, Token, Any]
) -> Response[None]:
    event_id = await service.undo_admission(
        registration_id, request.user.id, only_own=Role.ADMIN.value not in request.user.roles
    )
    attendance_changed(request, event_id)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


@get(
    "/api/v1/events/{event_id:int}/attendance",
    guards=[staff_only],
    tags=["check-in"],
    summary="Registered, admitted, per gate and per 5 minutes",
)
async def event_attendance(
    event_id: FromPath[int], request: Request, settings: SettingsDep
) -> AttendanceOut:
    return await attendance_service.attendance(
        event_id, pick_locale(request, settings.default_locale)
    )


@get(
    "/api/v1/events/{event_id:int}/attendees",
    guards=[staff_only],
    tags=["check-in"],
    summary="Look people up by name, e-mail or phone (for those without their code)",
    description="Door staff see e-mail and phone masked; admins see them in full. "
    "Rate-limited per staff account (EVENTS_LOOKUPS_PER_MINUTE); every look-up is "
    "recorded for organisers.",
)
async def find_attendees(
    event_id: FromPath[int],
    q: Query,
    request: Request[StaffUser, Token, Any],
    settings: SettingsDep,
) -> list[AttendeeRow]:
    # Rate-limited per staff account where the app mounts it (app.lookup_rate_limit).
    return await attendance_service.find_attendees(
        event_id,
        q,
        staff_id=request.user.id,
        show_contacts=Role.ADMIN.value in request.user.roles,
        audit_key=lookup_audit_key(settings.secret_key),
        locale=pick_locale(request, settings.default_locale),
    )


def lookup_audit_key(secret_key: str) -> bytes:
    # Its own key, derived: the login-token secret is never used as anything else.
    return hashlib.sha256(b"events-service/attendee-lookup|" + secret_key.encode()).digest()


@get(
    "/api/v1/events/{event_id:int}/lookups",
    guards=[admin_only],
    tags=["check-in"],
    summary="Who looked attendees up at this event, and how many people each look-up showed",
)
async def attendee_lookups(
    event_id: FromPath[int], request: Request, settings: SettingsDep, limit: Limit = 100
) -> list[AttendeeLookupOut]:
    return await attendance_service.lookups(
        event_id, limit, pick_locale(request, settings.default_locale)
    )


# ---- the offline door ---------------------------------------------------------------

Since = Annotated[int | None, QueryParameter(ge=0, le=2**53)]


@get(
    "/api/v1/events/{event_id:int}/door-bundle",
    guards=[staff_only],
    tags=["check-in"],
    summary="What a door needs to judge this event's tickets offline",
    description="The event's public key, timezone and admission window; the registration "
    "ids to refuse (`cancelled`, `waitlisted`); the admissions as columns (`ids`, `gate` "
    "index into `gates`, `at` in seconds since the epoch); and, where the event allows "
    "it (`door_names_offline`), confirmed people's names and organisations. `?since=` "
    "an earlier bundle's `version`: only what changed (`confirmed`: no longer refused; "
    "`undone`: admissions taken back). gzip-compressed when the client accepts it.",
    media_type=MediaType.JSON,
)
async def door_bundle(
    event_id: FromPath[int], request: Request, settings: SettingsDep, since: Since = None
) -> Response[bytes]:
    bundle = await offline.door_bundle(event_id, settings.signing_key, since)
    body = msgspec.json.encode(bundle)
    # Compressed here, not by an app-wide CompressionConfig: that middleware would sit
    # on every request, the door's hot scan path too, whose answers are a few hundred
    # bytes; the bundle is the door's one large response.
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-store"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=MediaType.JSON, headers=headers)


@post(
    "/api/v1/checkins/batch",
    guards=[staff_only],
    status_code=200,
    tags=["check-in"],
    summary="Upload the scans a door made offline (idempotent per scan_id)",
    description="Each entry is judged as a single scan with its original `scanned_at`; "
    "a ticket is admitted once, by its earliest scan; every other offline entry of an "
    "admitted ticket is recorded as a conflict (`conflict: true`). Sending the same "
    f"batch again gives the same answers. At most {MAX_BATCH} entries.",
)
async def checkin_batch(
    data: JSONBody[CheckinBatchIn],
    request: Request[StaffUser, Token, Any],
    settings: SettingsDep,
) -> CheckinBatchOut:
    locale = pick_locale(request, settings.default_locale)
    scans = [
        offline.OfflineScan(
            code=entry.code,
            gate=entry.gate.strip() or entry.gate,
            scan_id=entry.scan_id,
            scanned_at=entry.scanned_at,
        )
        for entry in data.scans
    ]
    synced = await offline.sync_batch(
        data.event_id, scans, request.user.id, settings.signing_key, locale
    )
    answers = [_batch_answer(one) for one in synced]
    admitted = sum(1 for a in answers if a.verdict == ScanVerdict.ADMITTED.value)
    if admitted:
        attendance_changed(request, data.event_id)
    return CheckinBatchOut(
        event_id=data.event_id,
        answers=answers,
        admitted=admitted,
        conflicts=sum(1 for a in answers if a.conflict),
    )


def _batch_answer(one: offline.SyncedScan) -> BatchAnswer:
    if one.result is None:
        return BatchAnswer(scan_id=one.scan_id, verdict="refused", message=one.refused or "")
    return scan_answer(BatchAnswer, one.result, scan_id=one.scan_id, conflict=one.conflict)


@get(
    "/api/v1/events/{event_id:int}/checkin-conflicts",
    guards=[staff_only],
    tags=["check-in"],
    summary="Second offline entries of admitted tickets, newest first",
)
async def checkin_conflicts(
    event_id: FromPath[int], reviewed: FromQuery[bool | None] = None, limit: Limit = 100
) -> list[CheckinConflictOut]:
    return [conflict_out(row) for row in await offline.conflicts(event_id, reviewed, limit)]


@post(
    "/api/v1/checkin-conflicts/{conflict_id:int}/review",
    guards=[staff_only],
    status_code=200,
    tags=["check-in"],
    summary="Mark a check-in conflict reviewed (the first reviewer's name is kept)",
)
async def review_checkin_conflict(
    conflict_id: FromPath[int], request: Request[StaffUser, Token, Any]
) -> CheckinConflictOut:
    await offline.review_conflict(conflict_id, request.user.id)
    return conflict_out(await offline.conflict_row(conflict_id))


def conflict_out(row: dict[str, Any]) -> CheckinConflictOut:
    return CheckinConflictOut(
        id=row["id"],
        event_id=row["event_id"],
        registration_id=row["registration_id"],
        name=row["registration__person__name"],
        gate=row["gate"],
        staff_id=row["staff_id"],
        staff_email=row["staff__email"],
        scanned_at=row["scanned_at"],
        admission_gate=row["admission_gate"],
        admission_at=row["admission_at"],
        created_at=row["created_at"],
        reviewed_at=row["reviewed_at"],
        reviewed_by_id=row["reviewed_by_id"],
    )
