"""The self check-in kiosk: an unattended tablet at the entrance, locked to one event.

A staff member (door staff or admin) logs in on the tablet, picks the event and
starts the kiosk (`POST /kiosk/start`): their login token is revoked and its cookie
dropped, and the tablet keeps only a kiosk cookie, signed by us, that opens nothing
but the kiosk's own routes (no /scan, no /admin: those ask for a login again).
Leaving (`POST /kiosk/leave`) needs that staff member's password, checked here
with argon2, rate-limited as a login; it hands the login back.

Attendees show their QR to the camera (static/camera.js) or type their e-mail
address and the 6-character code from the ticket e-mail (codes.short_code). Either
way the kiosk admits through the door's own `service.scan`, at gate "kiosk", in the
kiosk staff member's name. Its answers are for attendees, not door staff: a typed
e-mail and code that do not match say only that, never whether the address is known.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.security.jwt import Token
from tortoise import timezone

from events_service.auth.claimed import roles_allow
from events_service.auth.controllers import login_token
from events_service.auth.guards import SESSION_CLAIM, staff_only
from events_service.auth.passwords import verify_password
from events_service.auth.service import revoke_token, user_for_token
from events_service.auth.tokens import AUTH_COOKIE
from events_service.checkin import service
from events_service.checkin.codes import issue_code, normalise_short_code, short_code
from events_service.checkin.schemas import Code, ScanId
from events_service.deps import JWTAuthDep, SettingsDep
from events_service.errors import Forbidden, NotFound
from events_service.identity import normalise_email
from events_service.locale import N_, words
from events_service.programme.live import attendance_changed
from events_service.settings import Settings
from events_service.signed import read_claims, sign_claims
from events_service.web.i18n import pick_locale, remember_switch
from events_service.web.login import PAGE_EXCEPTION_HANDLERS, staff_page_context
from models import Event, Person, Registration, StaffUser
from models.enums import EventStatus, ScanVerdict

KIOSK_COOKIE = "events_kiosk"
KIOSK_GATE = "kiosk"
KIOSK_LIFETIME = timedelta(hours=16)
# A badge may be printed from the kiosk this long after the scan that allowed it.
BADGE_WINDOW = timedelta(minutes=10)
LEAVE_PATH = "/kiosk/leave"
LOOKUP_PATH = "/kiosk/lookup"
KIOSK_WORD = "kiosk"


# ---- the kiosk cookie ----------------------------------------------------------------


@dataclass(frozen=True)
class KioskSession:
    staff_id: int
    event_id: int
    generation: int
    expires: int


# Keys of their own (events_service/signed.py): a kiosk cookie never reads as a badge
# key or an e-mailed link, nor they as it.
SESSION_PURPOSE = b"kiosk-session"
BADGE_PURPOSE = b"kiosk-badge"


def _ints(claims: list[str] | None, count: int) -> list[int] | None:
    if claims is None or len(claims) != count:
        return None
    try:
        return [int(claim) for claim in claims]
    except ValueError:
        return None


def kiosk_token(secret_key: str, session: KioskSession) -> str:
    claims = (session.staff_id, session.event_id, session.generation, session.expires)
    return sign_claims(secret_key, SESSION_PURPOSE, claims)


def read_kiosk_token(secret_key: str, token: str | None) -> KioskSession | None:
    """The session of a kiosk cookie signed here and not expired; None otherwise."""
    claims = _ints(read_claims(secret_key, SESSION_PURPOSE, token or ""), 4)
    if claims is None:
        return None
    session = KioskSession(*claims)
    return session if session.expires >= time.time() else None


def badge_token(secret_key: str, registration_id: int, event_id: int) -> str:
    """What a kiosk scan hands back to print that person's badge: a kiosk cannot print
    (and so read) the badge of anyone it did not just check in."""
    expires = int(time.time() + BADGE_WINDOW.total_seconds())
    return sign_claims(secret_key, BADGE_PURPOSE, (registration_id, event_id, expires))


def badge_token_valid(
    secret_key: str, token: str | None, registration_id: int, event_id: int
) -> bool:
    claims = _ints(read_claims(secret_key, BADGE_PURPOSE, token or ""), 3)
    if claims is None:
        return False
    signed_for, signed_at, expires = claims
    return (signed_for, signed_at) == (registration_id, event_id) and expires >= time.time()


async def kiosk_of(
    request: Request[Any, Any, Any], settings: Settings
) -> tuple[KioskSession, StaffUser] | None:
    """The request's kiosk and the staff member who started it, while that member may
    still run a door (active, same session generation, staff or admin)."""
    session = read_kiosk_token(settings.secret_key, request.cookies.get(KIOSK_COOKIE))
    if session is None:
        return None
    user = await StaffUser.get_or_none(id=session.staff_id)
    if (
        user is None
        or not user.active
        or user.session_generation != session.generation
        or not roles_allow(user.roles, staff_only.allowed)
    ):
        return None
    return session, user


async def staff_of(request: Request[Any, Any, Any], jwt_auth: Any) -> StaffUser | None:
    """The logged-in staff member on a route the login middleware skips (the kiosk's
    routes serve a kiosk or a staff member): the login cookie read as the middleware
    would, with the same standing checks."""
    encoded = request.cookies.get(AUTH_COOKIE)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        encoded = header[7:].strip()
    if not encoded:
        return None
    try:
        token = jwt_auth.token_cls.decode(encoded, jwt_auth.token_secret, jwt_auth.algorithm)
        user_id = int(token.sub)
    except (NotAuthorizedException, ValueError):
        return None
    generation = token.extras.get(SESSION_CLAIM, 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    user = await user_for_token(
        user_id, token.jti if isinstance(token.jti, str) else None, generation
    )
    if user is None or not roles_allow(user.roles, staff_only.allowed):
        return None
    return user


def _kiosk_cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=KIOSK_COOKIE,
        value=value,
        path="/",
        httponly=True,
        max_age=max_age,
        secure=settings.public_base_url.startswith("https://"),
        # Never sent with another site's request: the kiosk's writes need no CSRF token.
        samesite="strict",
    )


def _dropped_login(settings: Settings) -> Cookie:
    secure = settings.public_base_url.startswith("https://")
    return Cookie(
        key=AUTH_COOKIE, value="", path="/", max_age=0, httponly=True, secure=secure, samesite="lax"
    )


NOT_A_KIOSK = N_("This tablet is not running a kiosk: a staff member must start it.")


def _refused(locale: str) -> Forbidden:
    return Forbidden(words(locale).gettext(NOT_A_KIOSK))


# ---- words -----------------------------------------------------------------------------


@functools.cache
def kiosk_words(locale: str) -> dict[str, Any]:
    """Everything kiosk.js shows, for attendees, in the page's language."""
    w = words(locale)
    desk = w.gettext("Please go to the registration desk.")
    return {
        "headlines": {
            "admitted": w.pgettext("kiosk verdict", "WELCOME"),
            "already_admitted": w.pgettext("kiosk verdict", "ALREADY CHECKED IN"),
            "refused": w.pgettext("kiosk verdict", "PLEASE SEE THE DESK"),
            "no_match": w.pgettext("kiosk verdict", "NOT FOUND"),
            "error": w.pgettext("kiosk verdict", "TRY AGAIN"),
        },
        "printing": w.gettext("Your badge is printing."),
        "desk": desk,
        "reprint": w.pgettext("button", "Print my badge again"),
        "too_many": w.gettext("Too many attempts: please wait a minute or go to the desk."),
        "network": w.gettext("No connection. Please try again or go to the desk."),
        "wrong_password": w.gettext("Wrong password."),
    }


_KIOSK_MESSAGES = {
    ScanVerdict.ADMITTED: N_("Welcome, %(name)s!"),
    ScanVerdict.ALREADY_ADMITTED: N_("You are already checked in, %(name)s."),
    ScanVerdict.FORGED: N_("This code is not valid."),
    ScanVerdict.UNKNOWN: N_("This code is not valid."),
    ScanVerdict.WRONG_EVENT: N_("This ticket is for another event."),
    ScanVerdict.CANCELLED: N_("This registration is not confirmed."),
    ScanVerdict.WAITLISTED: N_("This registration is not confirmed."),
    ScanVerdict.NOT_OPEN: N_("Check-in is not open right now."),
}
NO_MATCH = N_("That e-mail address and code do not match a ticket for this event.")


# ---- bodies ----------------------------------------------------------------------------

ShortCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
EmailText = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class KioskScanIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    scan_id: ScanId | None = None


class KioskLookupIn(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    short_code: ShortCode
    scan_id: ScanId | None = None


class KioskLeaveIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class KioskVerdictOut(msgspec.Struct, omit_defaults=True):
    verdict: str
    outcome: str  # admitted, already_admitted, refused or no_match: what the screen shows
    message: str
    name: str | None = None
    registration_id: int | None = None
    badge_token: str | None = None


class StartForm(msgspec.Struct):
    event_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] = 0


# ---- routes ----------------------------------------------------------------------------


async def _kiosk_events() -> list[Event]:
    now = timezone.now()
    return (
        await Event.filter(
            status=EventStatus.PUBLISHED,
            ends_at__gte=now - timedelta(days=1),
            starts_at__lte=now + timedelta(days=7),
        )
        .order_by("starts_at")
        .limit(50)
    )


@get("/kiosk", include_in_schema=False, opt={"exclude_from_auth": True})
async def kiosk_page(request: Request[Any, Any, Any], settings: SettingsDep) -> Response[Any]:
    found = await kiosk_of(request, settings)
    if found is None:
        return Redirect("/kiosk/setup")
    session, _ = found
    event = await Event.get_or_none(id=session.event_id)
    if event is None:
        return Redirect("/kiosk/setup")
    context = staff_page_context(request)
    response = Template(
        "pages/kiosk.html",
        context={**context, "event": event, "kiosk_words": kiosk_words(context["locale"])},
    )
    remember_switch(request, response, context["locale"])
    return response


@get(
    "/kiosk/setup",
    guards=[staff_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
)
async def kiosk_setup(request: Request[StaffUser, Token, Any]) -> Template:
    context = staff_page_context(request)
    response = Template(
        "pages/kiosk_setup.html",
        context={**context, "user": request.user, "events": await _kiosk_events()},
    )
    remember_switch(request, response, context["locale"])
    return response


@post(
    "/kiosk/start",
    guards=[staff_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
    status_code=303,
)
async def kiosk_start(
    request: Request[StaffUser, Token, Any], data: URLEncodedBody[StartForm], settings: SettingsDep
) -> Response[Any]:
    locale = pick_locale(request, settings.default_locale)
    event = await Event.get_or_none(id=data.event_id, status=EventStatus.PUBLISHED)
    if event is None:
        raise NotFound(words(locale).gettext("No event %(id)s.", id=data.event_id))
    user = request.user
    session = KioskSession(user.id, event.id, user.session_generation,
                           int(time.time() + KIOSK_LIFETIME.total_seconds()))  # fmt: skip
    # The tablet keeps no staff login: the kiosk's cookie opens the kiosk and nothing else.
    if request.auth.jti:
        await revoke_token(request.auth.jti, request.auth.exp)
    value = kiosk_token(settings.secret_key, session)
    cookies = [_kiosk_cookie(settings, value, int(KIOSK_LIFETIME.total_seconds())),
               _dropped_login(settings)]  # fmt: skip
    return Redirect("/kiosk", status_code=303, cookies=cookies)


@post(LEAVE_PATH, include_in_schema=False, opt={"exclude_from_auth": True}, status_code=204)
async def kiosk_leave(
    request: Request[Any, Any, Any],
    data: JSONBody[KioskLeaveIn],
    settings: SettingsDep,
    jwt_auth: JWTAuthDep,
) -> Response[None]:
    """Leave the kiosk with the password of the staff member who started it (rate-limited
    as a login); their login comes back, the kiosk cookie goes."""
    locale = pick_locale(request, settings.default_locale)
    found = await kiosk_of(request, settings)
    if found is None:
        raise _refused(locale)
    _, user = found
    if not await verify_password(user.password_hash, data.password):
        raise Forbidden(words(locale).gettext("Wrong password: the kiosk stays locked."))
    _, cookie, _ = login_token(jwt_auth, settings, user)
    return Response(None, status_code=204, cookies=[cookie, _kiosk_cookie(settings, "", 0)])


def _outcome(verdict: ScanVerdict) -> str:
    if verdict in (ScanVerdict.ADMITTED, ScanVerdict.ALREADY_ADMITTED):
        return verdict.value
    return "refused"


async def _admit(
    request: Request[Any, Any, Any],
    settings: Settings,
    session: KioskSession,
    locale: str,
    scan_id: str | None,
    code: str | None = None,
    registration_id: int | None = None,
) -> KioskVerdictOut:
    result = await service.scan(
        service.ScanRequest(
            event_id=session.event_id,
            gate=KIOSK_GATE,
            staff_id=session.staff_id,
            code=code,
            registration_id=registration_id,
            scan_id=scan_id,
            locale=locale,
        ),
        settings.signing_key,
    )
    if result.verdict == ScanVerdict.ADMITTED:
        attendance_changed(request, session.event_id)
    outcome = _outcome(result.verdict)
    w = words(locale)
    message = w.gettext(_KIOSK_MESSAGES.get(result.verdict, _KIOSK_MESSAGES[ScanVerdict.UNKNOWN]),
                        name=result.name or "")  # fmt: skip
    answer = KioskVerdictOut(verdict=result.verdict.value, outcome=outcome, message=message)
    if outcome != "refused" and result.registration_id is not None:
        # Only who is checked in hears their own name back, with their badge's key.
        answer.name = result.name
        answer.registration_id = result.registration_id
        answer.badge_token = badge_token(settings.secret_key, result.registration_id,
                                         session.event_id)  # fmt: skip
    return answer


@post("/kiosk/scan", include_in_schema=False, opt={"exclude_from_auth": True}, status_code=200)
async def kiosk_scan(
    request: Request[Any, Any, Any], data: JSONBody[KioskScanIn], settings: SettingsDep
) -> KioskVerdictOut:
    locale = pick_locale(request, settings.default_locale)
    found = await kiosk_of(request, settings)
    if found is None:
        raise _refused(locale)
    return await _admit(request, settings, found[0], locale, data.scan_id, code=data.code)


@post(LOOKUP_PATH, include_in_schema=False, opt={"exclude_from_auth": True}, status_code=200)
async def kiosk_lookup(
    request: Request[Any, Any, Any], data: JSONBody[KioskLookupIn], settings: SettingsDep
) -> KioskVerdictOut:
    """E-mail address and short code: one answer for every mismatch (an unknown address,
    someone else's code, no registration here), so the kiosk tells nobody who is registered.
    Rate-limited per kiosk (app.py, EVENTS_LOOKUPS_PER_MINUTE)."""
    locale = pick_locale(request, settings.default_locale)
    found = await kiosk_of(request, settings)
    if found is None:
        raise _refused(locale)
    session = found[0]
    registration_id = await registration_for(
        settings.signing_key, session.event_id, data.email, data.short_code
    )
    if registration_id is None:
        return KioskVerdictOut(
            verdict="no_match", outcome="no_match", message=words(locale).gettext(NO_MATCH)
        )
    return await _admit(request, settings, session, locale, data.scan_id,
                        registration_id=registration_id)  # fmt: skip


async def registration_for(
    master_key: bytes, event_id: int, email: str, typed_code: str
) -> int | None:
    """The registration at `event_id` of the person with that e-mail address whose
    ticket's short code is `typed_code`; None for any mismatch."""
    expected = normalise_short_code(typed_code)
    person = await Person.get_or_none(email=normalise_email(email))
    registration = (
        await Registration.get_or_none(person_id=person.id, event_id=event_id) if person else None
    )
    # Compared even when nothing was found, against a code that cannot match.
    registration_id = registration.id if registration else 0
    actual = short_code(issue_code(master_key, registration_id, event_id)) if registration else ""
    same = hmac.compare_digest(expected.encode(), (actual or "!" * len(expected)).encode())
    return registration_id if same and registration else None


def kiosk_identifier(request: Request[Any, Any, Any]) -> str:
    """The rate limit's key for typed look-ups: the kiosk (its cookie's hash), else the
    address."""
    cookie = request.cookies.get(KIOSK_COOKIE)
    if cookie:
        return "kiosk:" + hashlib.sha256(cookie.encode()).hexdigest()[:24]
    client = request.client
    return f"address:{client.host if client else 'unknown'}"


ROUTES = [kiosk_page, kiosk_setup, kiosk_start, kiosk_scan]
RATE_LIMITED_AS_LOGIN = [kiosk_leave]
RATE_LIMITED_AS_LOOKUP = [kiosk_lookup]
