"""Door routes: scan (or admit by look-up), undo, attendance, attendee look-up."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_204_NO_CONTENT

from events_service.auth.claimed import VERIFIES_STAFF, ClaimedStaff
from events_service.auth.guards import admin_only, staff_only
from events_service.boundary import Limit
from events_service.checkin import attendance as attendance_service
from events_service.checkin import service
from events_service.checkin.schemas import (
    AttendanceOut,
    AttendeeLookupOut,
    AttendeeOut,
    AttendeeRow,
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
    attendee = None
    if result.name is not None:
        attendee = AttendeeOut(name=result.name, organisation=result.organisation)
    return CheckinOut(
        verdict=result.verdict.value,
        message=result.message,
        attendee=attendee,
        registration_id=result.registration_id,
        admitted_at=result.admitted_at,
        gate=result.gate,
    )


@delete(
    "/api/v1/checkins/{registration_id:int}",
    guards=[admin_only],
    status_code=HTTP_204_NO_CONTENT,
    tags=["check-in"],
    summary="Undo an admission made by mistake (logged; the reach stays exact)",
)
async def undo_checkin(
    registration_id: FromPath[int], request: Request[StaffUser, Token, Any]
) -> Response[None]:
    event_id = await service.undo_admission(registration_id, request.user.id)
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
