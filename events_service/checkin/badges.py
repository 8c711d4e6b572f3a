"""Badges: name, organisation, event, date and the ticket QR, printed through the browser
(`/kiosk/badge/{id}`, a 90 x 60 mm page) or as an A4 sheet of 8 for pre-printing
(`/admin/events/{id}/badges.pdf`, reportlab).

Printing is separate from admission: every print is logged (BadgePrint), and any
print after a badge's first is a reprint, marked on the badge and in the log.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect, Template
from tortoise.transactions import in_transaction

from events_service.auth.guards import admin_only
from events_service.boundary import RowId
from events_service.checkin.codes import issue_code
from events_service.checkin.kiosk import badge_token_valid, kiosk_of, staff_of
from events_service.deps import JWTAuthDep, SettingsDep
from events_service.errors import Forbidden, NotFound
from events_service.locale import words
from events_service.locale.dates import format_day
from events_service.registration.qr import qr_matrix, qr_svg
from events_service.settings import Settings
from events_service.web.i18n import pick_locale
from events_service.web.login import staff_page_context
from models import BadgePrint, Event, Registration, StaffUser
from models.enums import RegistrationStatus

BADGES_PER_PAGE = 8
SOURCE_KIOSK = "kiosk"
SOURCE_STAFF = "staff"

BadgeKey = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]
PrintId = Annotated[int | None, QueryParameter(name="print", ge=1, le=2**63 - 1)]


@dataclass(frozen=True)
class Badge:
    registration_id: int
    name: str
    organisation: str
    event_title: str
    date: str
    code: str


def event_dates(event: Event, locale: str) -> str:
    """The event's day (or first and last day) on the venue's calendar."""
    zone = ZoneInfo(event.timezone or "UTC")
    first = event.starts_at.astimezone(zone).date()
    last = event.ends_at.astimezone(zone).date()
    if first == last:
        return format_day(first, locale)
    return f"{format_day(first, locale)} \u2013 {format_day(last, locale)}"


def _badge(registration: Registration, master_key: bytes, locale: str) -> Badge:
    person = registration.person
    organisation = person.organisation.name if person.organisation else ""
    event = registration.event
    return Badge(
        registration_id=registration.id,
        name=person.name,
        organisation=organisation,
        event_title=event.title,
        date=event_dates(event, locale),
        code=issue_code(master_key, registration.id, event.id),
    )


async def _confirmed(registration_id: int, locale: str) -> Registration:
    registration = await Registration.get_or_none(id=registration_id).prefetch_related(
        "person__organisation", "event"
    )
    if registration is None or registration.status != RegistrationStatus.CONFIRMED:
        raise NotFound(
            words(locale).gettext("No confirmed registration %(id)s.", id=registration_id)
        )
    return registration


async def _who_prints(
    request: Request[Any, Any, Any],
    settings: Settings,
    jwt_auth: Any,
    registration_id: int,
    event_id: int,
    key: str | None,
) -> tuple[str, int | None]:
    """(source, staff id) of whoever may see and print this badge: a logged-in staff
    member, or the kiosk of the badge's event holding the key its scan gave out."""
    staff = await staff_of(request, jwt_auth)
    if staff is not None:
        return SOURCE_STAFF, staff.id
    kiosk = await kiosk_of(request, settings)
    if (
        kiosk is not None
        and kiosk[0].event_id == event_id
        and badge_token_valid(settings.secret_key, key, registration_id, event_id)
    ):
        return SOURCE_KIOSK, kiosk[0].staff_id
    raise Forbidden(
        words(pick_locale(request, settings.default_locale)).gettext(
            "Badges are for staff and for the kiosk that just checked the person in."
        )
    )


async def log_print(registration: Registration, source: str, staff_id: int | None) -> BadgePrint:
    """Log a print; a badge printed before is a reprint. The registration's row is
    locked so that two prints at once cannot both be the first (PostgreSQL; SQLite
    writes one at a time anyway)."""
    async with in_transaction() as conn:
        await Registration.filter(id=registration.id).using_db(conn).select_for_update().first()
        before = await BadgePrint.filter(registration_id=registration.id).using_db(conn).exists()
        return await BadgePrint.create(
            registration_id=registration.id,
            event_id=registration.event_id,
            staff_id=staff_id,
            source=source,
            reprint=before,
            using_db=conn,
        )


class PrintIn(msgspec.Struct, forbid_unknown_fields=True):
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class PrintOut(msgspec.Struct):
    print_id: int
    reprint: bool
    url: str


def _badge_url(registration_id: int, print_id: int, key: str | None) -> str:
    url = f"/kiosk/badge/{registration_id}?print={print_id}"
    return f"{url}&key={key}" if key else url


@post(
    "/kiosk/badge/{registration_id:int}/print",
    include_in_schema=False,
    opt={"exclude_from_auth": True},
    status_code=200,
)
async def print_badge(
    registration_id: FromPath[RowId],
    request: Request[Any, Any, Any],
    settings: SettingsDep,
    jwt_auth: JWTAuthDep,
    data: JSONBody[PrintIn],
) -> PrintOut:
    """Log one print of the badge and hand back the page that prints it."""
    locale = pick_locale(request, settings.default_locale)
    registration = await _confirmed(registration_id, locale)
    key = data.key
    source, staff_id = await _who_prints(request, settings, jwt_auth, registration.id,
                                         registration.event_id, key)  # fmt: skip
    logged = await log_print(registration, source, staff_id)
    return PrintOut(print_id=logged.id, reprint=logged.reprint,
                    url=_badge_url(registration.id, logged.id, key))  # fmt: skip


@post(
    "/kiosk/badge/{registration_id:int}",
    include_in_schema=False,
    opt={"exclude_from_auth": True},
    status_code=303,
)
async def print_badge_form(
    registration_id: FromPath[RowId],
    request: Request[Any, Any, Any],
    settings: SettingsDep,
    jwt_auth: JWTAuthDep,
) -> Response[Any]:
    """The badge page's own "Print" button (staff): log, then the page that prints."""
    locale = pick_locale(request, settings.default_locale)
    registration = await _confirmed(registration_id, locale)
    source, staff_id = await _who_prints(request, settings, jwt_auth, registration.id,
                                         registration.event_id, None)  # fmt: skip
    logged = await log_print(registration, source, staff_id)
    return Redirect(_badge_url(registration.id, logged.id, None), status_code=303)


@get("/kiosk/badge/{registration_id:int}", include_in_schema=False, opt={"exclude_from_auth": True})
async def badge_page(
    registration_id: FromPath[RowId],
    request: Request[Any, Any, Any],
    settings: SettingsDep,
    jwt_auth: JWTAuthDep,
    print_id: PrintId = None,
    key: BadgeKey = None,
) -> Template:
    """The badge at badge size. With `print` (a logged print of it) the page prints
    itself and says whether it is a reprint; without, a preview with a Print button."""
    context = staff_page_context(request)
    locale = context["locale"]
    registration = await _confirmed(registration_id, locale)
    source, _ = await _who_prints(request, settings, jwt_auth, registration.id,
                                  registration.event_id, key)  # fmt: skip
    logged = None
    if print_id is not None:
        logged = await BadgePrint.get_or_none(id=print_id, registration_id=registration.id)
        if logged is None:
            raise NotFound(words(locale).gettext("No such print of this badge."))
    badge = _badge(registration, settings.signing_key, locale)
    return Template(
        "pages/badge.html",
        context={
            **context,
            "badge": badge,
            "qr_svg": qr_svg(badge.code),
            "printed": logged,
            "staff": source == SOURCE_STAFF,
        },
    )


# ---- the PDF sheet ---------------------------------------------------------------------

_CJK_FONT = "STSong-Light"
_LATIN_FONT = "Helvetica"
_LATIN_BOLD = "Helvetica-Bold"


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        # One of reportlab's built-in CID fonts: Chinese names without a font file.
        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))


def _font_for(text: str, bold: bool = False) -> str:
    if any(ord(ch) > 0x24F for ch in text):
        return _CJK_FONT
    return _LATIN_BOLD if bold else _LATIN_FONT


def _fit(text: str, font: str, size: float, width: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 6 and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _draw_qr(pdf: Any, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    """The QR as filled runs of dark modules (one rectangle per run, not per module)."""
    module = size / len(matrix)
    pdf.setFillGray(0)
    for row, cells in enumerate(matrix):
        top = y + size - (row + 1) * module
        start = None
        for col, dark in enumerate([*cells, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                pdf.rect(x + start * module, top, (col - start) * module, module, stroke=0, fill=1)
                start = None


def badge_sheet(badges: list[Badge], title: str) -> bytes:
    """An A4 PDF, 2 x 4 badges of 90 x 60 mm a page, each with its ticket QR."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    _fonts()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    page_w, page_h = A4
    badge_w, badge_h = 90 * mm, 60 * mm
    left = (page_w - 2 * badge_w) / 2
    top = page_h - (page_h - 4 * badge_h) / 2
    qr_size = 34 * mm
    for index, badge in enumerate(badges):
        slot = index % BADGES_PER_PAGE
        if slot == 0 and index:
            pdf.showPage()
        x = left + (slot % 2) * badge_w
        y = top - (slot // 2 + 1) * badge_h
        pdf.setLineWidth(0.3)
        pdf.setDash(2, 2)
        pdf.rect(x, y, badge_w, badge_h)  # the cutting line
        pdf.setDash()
        text_w = badge_w - qr_size - 10 * mm
        font = _font_for(badge.name, bold=True)
        size = _fit(badge.name, font, 18, text_w)
        pdf.setFont(font, size)
        pdf.drawString(x + 5 * mm, y + badge_h - 16 * mm, badge.name)
        for line, (text, base) in enumerate(
            ((badge.organisation, 11), (badge.event_title, 9), (badge.date, 9))
        ):
            if not text:
                continue
            font = _font_for(text)
            pdf.setFont(font, _fit(text, font, base, text_w))
            pdf.drawString(x + 5 * mm, y + badge_h - (26 + 9 * line) * mm, text)
        _draw_qr(pdf, qr_matrix(badge.code), x + badge_w - qr_size - 4 * mm,
                 y + (badge_h - qr_size) / 2, qr_size)  # fmt: skip
    if not badges:
        pdf.setFont(_LATIN_FONT, 12)
        pdf.drawString(20 * mm, page_h - 20 * mm, title)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


async def event_badges(event: Event, master_key: bytes, locale: str) -> list[Badge]:
    registrations = (
        await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED)
        .prefetch_related("person__organisation", "event")
        .order_by("id")
    )
    return [
        _badge(r, master_key, locale) for r in registrations if r.person.name
    ]  # erased people have no name to print


@get("/events/{event_id:int}/badges.pdf", guards=[admin_only], include_in_schema=False)
async def badge_sheet_pdf(
    event_id: FromPath[RowId], request: Request[StaffUser, Any, Any], settings: SettingsDep
) -> Response[bytes]:
    """The event's confirmed people as badges to pre-print (console, under /admin)."""
    locale = pick_locale(request, settings.default_locale)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(words(locale).gettext("No event %(id)s.", id=event_id))
    badges = await event_badges(event, settings.signing_key, locale)
    title = words(locale).gettext("Badges: %(title)s", title=event.title)
    import anyio.to_thread

    pdf = await anyio.to_thread.run_sync(badge_sheet, badges, title)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="badges-event-{event.id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


ROUTES = [badge_page, print_badge, print_badge_form]
CONSOLE_ROUTES = [badge_sheet_pdf]
