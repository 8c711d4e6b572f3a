"""The console's registrations: choose an event or find a person, an event's
registrations as a filtered, paginated table (and its CSV), and the actions on one
registration: cancel, e-mail the ticket again, undo an admission.

Handlers parse, call the services (events.service, registration.service,
checkin.service) and render; every rule lives there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from tortoise import timezone

from events_service.checkin.service import undo_admission
from events_service.console.layout import Paging, console_page, done
from events_service.errors import DomainError
from events_service.events import service as events
from events_service.events.controllers import CSV_COLUMNS, csv_cells
from events_service.events.figures import admitted_figure, event_figures
from events_service.events.people import find_people
from events_service.locale import N_, translatable
from events_service.locale.dates import format_when, instant_formatter
from events_service.registration import service as registrations
from events_service.web.csv_export import csv_response
from events_service.web.login import staff_page_context
from models import Event, RegistrationLink
from models.enums import EventStatus, RegistrationStatus

PAGE_ROWS = 50
EVENTS_SHOWN = 12
MAX_SEARCH = 200

STATUS_WORDS = {
    "confirmed": N_("confirmed"),
    "waitlisted": N_("waitlisted"),
    "cancelled": N_("cancelled"),
}
STATUS_BADGES = {"confirmed": "ok", "waitlisted": "warn", "cancelled": "bad"}


@dataclass(frozen=True)
class Filters:
    """The table's GET form, read forgivingly: a value that means nothing is no filter."""

    q: str = ""
    status: str = ""
    link: str = ""
    admitted: str = ""
    offset: int = 0

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        status = query.get("status", "")
        admitted = query.get("admitted", "")
        try:
            offset = max(0, min(int(query.get("offset", "0") or 0), 2**31 - 1))
        except ValueError:
            offset = 0
        return cls(
            q=query.get("q", "").strip()[:MAX_SEARCH],
            status=status if status in STATUS_WORDS else "",
            link=query.get("link", "")[:32],
            admitted=admitted if admitted in ("yes", "no") else "",
            offset=offset,
        )

    def service_filter(self) -> events.RegistrationFilter:
        return events.RegistrationFilter(
            q=self.q or None,
            status=RegistrationStatus(self.status) if self.status else None,
            link_slug=self.link or None,
            admitted={"yes": True, "no": False}.get(self.admitted),
        )

    def query(self) -> dict[str, str]:
        kept = {"q": self.q, "status": self.status, "link": self.link, "admitted": self.admitted}
        return {name: value for name, value in kept.items() if value}


def instants(locale: str) -> Callable[[datetime | None, str], str]:
    """`instant(moment, zone)` for a page's tables: format_instant, each zone's
    formatter made once per page."""
    formatters: dict[str, Callable[[datetime | None], str]] = {}

    def instant(moment: datetime | None, zone: str) -> str:
        if zone not in formatters:
            formatters[zone] = instant_formatter(zone, locale)
        return formatters[zone](moment)

    return instant


def _times(locale: str) -> dict[str, Any]:
    return {
        "instant": instants(locale),
        "status_words": STATUS_WORDS,
        "status_badges": STATUS_BADGES,
    }


@get("/registrations", name="console:registrations")
async def registrations_home(request: Request[Any, Any, Any]) -> Template:
    """Pick an event (in progress and next, then the most recent), or find a person."""
    q = request.query_params.get("q", "").strip()[:MAX_SEARCH]
    now = timezone.now()
    upcoming = (
        await Event.filter(ends_at__gte=now)
        .exclude(status=EventStatus.DRAFT)
        .order_by("starts_at", "id")
        .limit(EVENTS_SHOWN)
    )
    recent = (
        await Event.filter(ends_at__lt=now)
        .exclude(status=EventStatus.DRAFT)
        .order_by("-ends_at", "-id")
        .limit(EVENTS_SHOWN)
    )
    figures = await event_figures([event.id for event in (*upcoming, *recent)])
    people, found = await find_people(q) if q else ([], 0)
    page = console_page(
        request,
        "pages/console/registrations/index.html",
        section="registrations",
        title=translatable("Registrations"),
        upcoming=upcoming,
        recent=recent,
        figures=figures,
        q=q,
        people=people,
        found=found,
        when=format_when,
    )
    return page


@get("/events/{event_id:int}/registrations", name="console:event-registrations")
async def event_registrations(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await events.get_event(event_id)
    filters = Filters.of(request.query_params)
    where = filters.service_filter()
    total = await events.count_registrations(event.id, where)
    rows = await events.registrations_page(event.id, where, limit=PAGE_ROWS, offset=filters.offset)
    links = await RegistrationLink.filter(event_id=event.id).order_by("id").values("slug", "label")
    admitted = await admitted_figure(event.id)
    base = f"/admin/events/{event.id}/registrations"
    query = filters.query()
    context = {
        "event": event,
        "admitted": admitted,
        "rows": rows,
        "total": total,
        "filters": filters,
        "links": links,
        "paging": Paging(base, query, filters.offset, PAGE_ROWS, total),
        "csv_href": f"{base}.csv" + _query_string(query),
        "when": format_when,
    }
    # htmx's live search swaps the table alone; a plain GET gets the whole page.
    partial = request.headers.get("hx-request") == "true"
    template = f"pages/console/registrations/{'_table' if partial else 'event'}.html"
    page = console_page(
        request,
        template,
        section="registrations",
        title=event.title,
        crumbs=[(translatable("Registrations"), "/admin/registrations")],
        **context,
        **_times(_locale(request)),
    )
    page.headers["Vary"] = "HX-Request"
    return page


def _locale(request: Request[Any, Any, Any]) -> str:
    return str(staff_page_context(request)["locale"])


def _query_string(query: Mapping[str, str]) -> str:
    return f"?{urlencode(query)}" if query else ""


@get("/events/{event_id:int}/registrations.csv", name="console:event-registrations-csv")
async def event_registrations_csv(
    request: Request[Any, Any, Any], event_id: FromPath[int]
) -> Stream:
    """Exactly the rows the table's filter shows, streamed."""
    where = Filters.of(request.query_params).service_filter()
    rows = await events.registrations_for_export(
        event_id, q=where.q, status=where.status, link_slug=where.link_slug, admitted=where.admitted
    )
    locale = _locale(request)
    return csv_response(
        f"event-{event_id}-registrations.csv",
        CSV_COLUMNS,
        (csv_cells(row, locale) async for row in rows),
    )


def _back(form: Mapping[str, Any], fallback: str) -> str:
    """Where an action returns: the console page it was posted from."""
    target = str(form.get("next") or "")
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


async def _form(request: Request[Any, Any, Any]) -> Mapping[str, Any]:
    return await request.form()


NOT_CONFIRMED = translatable("Nothing was changed: the action was not confirmed.")


def _confirmed(form: Mapping[str, Any]) -> bool:
    """A destructive action posts from its confirmation (confirm_button's "yes")."""
    return form.get("confirm") == "yes"


@post("/registrations/{registration_id:int}/cancel", name="console:registration-cancel")
async def cancel_registration(
    request: Request[Any, Any, Any], registration_id: FromPath[int]
) -> Redirect:
    form = await _form(request)
    back = _back(form, "/admin/registrations")
    if not _confirmed(form):
        return done(request, back, NOT_CONFIRMED, "warn")
    try:
        registration, promoted = await registrations.cancel_registration(registration_id)
    except DomainError as refusal:
        return done(request, back, refusal.detail, "bad")
    if promoted:
        message = translatable(
            "Registration %(id)s is cancelled."
            " Confirmed from the waitlist and told by e-mail: %(n)s.",
            id=registration.id,
            n=len(promoted),
        )
    else:
        message = translatable("Registration %(id)s is cancelled.", id=registration.id)
    return done(request, back, message)


@post("/registrations/{registration_id:int}/resend", name="console:registration-resend")
async def resend_ticket(
    request: Request[Any, Any, Any], registration_id: FromPath[int]
) -> Redirect:
    form = await _form(request)
    back = _back(form, "/admin/registrations")
    try:
        queued = await registrations.resend_ticket_of(registration_id)
    except DomainError as refusal:
        return done(request, back, refusal.detail, "bad")
    if queued:
        return done(request, back, translatable("The ticket e-mail is on its way again."))
    return done(
        request,
        back,
        translatable(
            "No e-mail was queued: the registration is cancelled, or its ticket was sent"
            " again less than 10 minutes ago."
        ),
        "warn",
    )


@post("/registrations/{registration_id:int}/undo-admission", name="console:admission-undo")
async def undo(request: Request[Any, Any, Any], registration_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    back = _back(form, "/admin/registrations")
    if not _confirmed(form):
        return done(request, back, NOT_CONFIRMED, "warn")
    try:
        await undo_admission(registration_id, request.user.id)
    except DomainError as refusal:
        return done(request, back, refusal.detail, "bad")
    return done(
        request,
        back,
        translatable("The admission of registration %(id)s is undone.", id=registration_id),
    )


ROUTES = [
    registrations_home,
    event_registrations,
    event_registrations_csv,
    cancel_registration,
    resend_ticket,
    undo,
]
