"""The attendee's pages: the registration form behind each link, and the ticket."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from tortoise import timezone

from events_service.boundary import TicketToken
from events_service.checkin.codes import issue_code, short_code
from events_service.deps import SettingsDep
from events_service.errors import DomainError, NotFound
from events_service.locale import N_, in_language, other_locale, translatable, words
from events_service.locale.dates import format_instant, format_when
from events_service.privacy.masks import mask_phone
from events_service.registration import details, service
from events_service.registration.calendar import event_invite
from events_service.registration.controllers import ticket_url
from events_service.registration.forms import (
    DetailsForm,
    InvalidRegistration,
    RegistrationForm,
    clean_details,
    clean_registration,
)
from events_service.registration.qr import qr_png, qr_svg
from events_service.registration.schemas import Email, JobTitle, Name, Organisation, Phone
from events_service.registration.service import LinkState, RegistrationRefused
from events_service.web.i18n import pick_locale, remember_switch
from models import Event, Registration
from models.enums import EventStatus, RegistrationStatus

STATE_STATUS = {
    LinkState.UNKNOWN: 404,
    LinkState.CANCELLED: 410,
    LinkState.NOT_OPEN: 409,
    LinkState.CLOSED: 409,
    LinkState.QUOTA_REACHED: 409,
    LinkState.SOLD_OUT: 409,
}


class FormIn(msgspec.Struct):
    """The HTML form as posted; every field arrives as text and is checked by forms.py."""

    name: Name = ""
    email: Email = ""
    phone: Phone = ""
    organisation: Organisation = ""
    job_title: JobTitle = ""
    consent: Annotated[str, msgspec.Meta(max_length=10)] = ""


class DetailsIn(msgspec.Struct):
    """The ticket page's "Edit my details" form as posted."""

    name: Name = ""
    phone: Phone = ""
    # Absent (None) when the page showed it read-only: then it is not being changed.
    organisation: Organisation | None = None
    job_title: JobTitle = ""


# After a registration whose ticket is not shown (the address was known already),
# the form's page says where the ticket went: ?mailed=again or ?mailed=new.
# The attendee's fields, as the registration form and the ticket page label them.
FIELD_LABELS = {
    "name": N_("Full name"),
    "email": N_("E-mail"),
    "phone": N_("Mobile phone (optional)"),
    "organisation": N_("Organisation (optional)"),
    "job_title": N_("Job title (optional)"),
}
MAILED_NOTICES = {"again": "already_registered", "new": "ticket_mailed"}


def _page(
    request: Request,
    template: str,
    settings: Any,
    status_code: int = 200,
    **context: Any,
) -> Template:
    locale = pick_locale(request, settings.default_locale)
    if "errors" in context:  # the fields' problems, in the page's language
        context["errors"] = {
            field: in_language(problem, locale) for field, problem in context["errors"].items()
        }
    response = Template(
        template,
        context={
            **words(locale).template_context(),
            "field_labels": {
                field: words(locale).gettext(label) for field, label in FIELD_LABELS.items()
            },
            "locale": locale,
            "other_locale": other_locale(locale),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    remember_switch(request, response, locale)
    return response


def _event_context(event: Event, locale: str) -> dict[str, Any]:
    return {
        "event": event,
        "when": format_when(event.starts_at, event.ends_at, event.timezone, locale),
    }


async def _form_page(
    request: Request,
    settings: Any,
    slug: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: LinkState | None = None,
    mailed: str | None = None,
) -> Template:
    locale = pick_locale(request, settings.default_locale)
    link = await service.find_link(slug)
    event = link.event if link else None
    state = refusal or service.link_state(link, event, timezone.now())
    if link is None or event is None or state is LinkState.UNKNOWN:
        return _page(request, "pages/register.html", settings, 404, state="unknown", event=None)
    opens, _ = service.registration_window(link, event)
    notice = MAILED_NOTICES.get(mailed or "")
    # After a registration the answer is the notice, whatever the link's state now.
    status_code = 422 if errors else 200 if notice else STATE_STATUS.get(state, 200)
    return _page(
        request,
        "pages/register.html",
        settings,
        status_code,
        state=state.value,
        opens=format_instant(opens, event.timezone, locale) if opens else "",
        seats_left=(
            max(event.capacity - event.confirmed_count, 0) if event.capacity is not None else None
        ),
        values=values or {},
        errors=errors or {},
        mailed=notice,
        **_event_context(event, locale),
    )


@get("/r/{slug:str}", include_in_schema=False)
async def registration_page(
    request: Request, slug: FromPath[str], settings: SettingsDep
) -> Template:
    return await _form_page(request, settings, slug, mailed=request.query_params.get("mailed"))


@post("/r/{slug:str}", include_in_schema=False, status_code=303)
async def registration_form(
    request: Request, slug: FromPath[str], data: URLEncodedBody[FormIn], settings: SettingsDep
) -> Response[Any]:
    values = msgspec.structs.asdict(data)
    try:
        form = clean_registration(
            RegistrationForm(
                name=data.name,
                email=data.email,
                consent=data.consent in ("on", "yes", "true", "1"),
                phone=data.phone,
                organisation=data.organisation,
                job_title=data.job_title,
                locale=pick_locale(request, settings.default_locale),
            ),
            default_locale=settings.default_locale,
        )
        result = await service.register(slug, form)
    except InvalidRegistration as exc:
        return await _form_page(request, settings, slug, values=values, errors=exc.errors)
    except RegistrationRefused as exc:
        return await _form_page(request, settings, slug, values=values, refusal=exc.state)
    if result.ticket_shown:
        return Redirect(f"/t/{result.ticket.manage_token}", status_code=303)
    # The address was known: whoever typed it may not own it. The ticket went to the
    # address (service.register); the page only says so.
    mailed = "new" if result.created else "again"
    return Redirect(f"/r/{slug}?mailed={mailed}", status_code=303)


async def _ticket_or_page(request: Request, settings: Any, token: str) -> Registration | Template:
    try:
        return await service.get_ticket(token)
    except NotFound:
        return _page(request, "pages/message.html", settings, 404, message_key="not_found")


def _ticket_view(
    request: Request,
    settings: Any,
    registration: Registration,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    locale = pick_locale(request, registration.locale)
    event_cancelled = registration.event.status == EventStatus.CANCELLED
    # A cancelled event's ticket admits nobody: no code, no invite, nothing to cancel.
    confirmed = registration.status == RegistrationStatus.CONFIRMED and not event_cancelled
    person = registration.person
    form = details.editable(registration)
    organisation = person.organisation.name if person.organisation else ""
    current = {
        "name": person.name or "",
        # Never written back into the page: whoever holds this link (the first to
        # type an address, before its owner ever registered) sees only a masked
        # number; an empty field keeps the one on file.
        "phone": "",
        "organisation": organisation,
        "job_title": person.job_title or "",
    }
    code = issue_code(settings.signing_key, registration.id, registration.event.id)
    return _page(
        request,
        "pages/ticket.html",
        settings,
        status_code,
        # The ticket's own address, also when answering a post to one of its forms.
        path=f"/t/{registration.manage_token}",
        registration=registration,
        person=person,
        confirmed=confirmed,
        event_cancelled=event_cancelled,
        status=registration.status.value,
        qr_svg=qr_svg(code) if confirmed else "",
        short_code=short_code(code) if confirmed else "",
        cancelled_now=request.query_params.get("cancelled") == "1",
        saved=request.query_params.get("saved") == "1",
        editable=form.editable,
        organisation_locked=form.organisation_locked,
        organisation=organisation,
        phone_on_file=mask_phone(person.phone) if person.phone else "",
        values={**current, **(values or {})},
        errors=errors or {},
        **_event_context(registration.event, locale),
    )


@get("/t/{token:str}", include_in_schema=False)
async def ticket_page(request: Request, token: TicketToken, settings: SettingsDep) -> Template:
    found = await _ticket_or_page(request, settings, token)
    if isinstance(found, Template):
        return found
    return _ticket_view(request, settings, found)


@post("/t/{token:str}/details", include_in_schema=False, status_code=303)
async def ticket_details(
    request: Request, token: TicketToken, data: URLEncodedBody[DetailsIn], settings: SettingsDep
) -> Response[Any]:
    """The attendee's own edit of their details: the only way they change."""
    try:
        edit = clean_details(
            DetailsForm(
                name=data.name,
                phone=data.phone,
                organisation=data.organisation,
                job_title=data.job_title,
            )
        )
        await details.update_details(token, edit)
    except NotFound:
        return _page(request, "pages/message.html", settings, 404, message_key="not_found")
    except details.TicketClosed:
        return _page(request, "pages/message.html", settings, 409, message_key="ticket_closed")
    except InvalidRegistration as exc:
        found = await _ticket_or_page(request, settings, token)
        if isinstance(found, Template):
            return found
        posted = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        return _ticket_view(
            request, settings, found, values=posted, errors=exc.errors, status_code=422
        )
    return Redirect(f"/t/{token}?saved=1", status_code=303)


async def _usable_ticket(token: str) -> Registration:
    """The ticket, unless it will never admit anyone again (410 Gone)."""
    registration = await service.get_ticket(token)
    if registration.event.status == EventStatus.CANCELLED:
        raise TicketGone(
            "The event has been cancelled: this ticket admits nobody.",
            slug="event-cancelled",
        )
    if registration.status == RegistrationStatus.CANCELLED:
        raise TicketGone(
            "This registration is cancelled: its ticket admits nobody.",
            slug="registration-cancelled",
        )
    return registration


async def _confirmed_code(token: str, settings: Any) -> str:
    registration = await _usable_ticket(token)
    if registration.status != RegistrationStatus.CONFIRMED:
        raise TicketNotUsable(
            translatable(
                "This registration is %(registration_status_value)s: no entry code.",
                registration_status_value=registration.status.value,
            )
        )
    return issue_code(settings.signing_key, registration.id, registration.event.id)


class TicketNotUsable(DomainError):
    status_code = 409  # type: ignore[assignment]
    slug = "ticket-not-confirmed"
    title = N_("The ticket has no entry code")


class TicketGone(DomainError):
    """A cancelled event or registration: the code and the invite are gone for good."""

    status_code = 410  # type: ignore[assignment]
    title = N_("The ticket is no longer valid")

    def __init__(self, detail: str, *, slug: str) -> None:
        super().__init__(detail)
        self.slug = slug


@get("/t/{token:str}/qr.png", include_in_schema=False, media_type="image/png")
async def ticket_qr_png(token: TicketToken, settings: SettingsDep) -> Response[bytes]:
    code = await _confirmed_code(token, settings)
    return Response(qr_png(code), media_type="image/png", headers={"Cache-Control": "private"})


@get("/t/{token:str}/qr.svg", include_in_schema=False, media_type="image/svg+xml")
async def ticket_qr_svg(token: TicketToken, settings: SettingsDep) -> Response[str]:
    code = await _confirmed_code(token, settings)
    return Response(qr_svg(code), media_type="image/svg+xml", headers={"Cache-Control": "private"})


@get("/t/{token:str}/calendar.ics", include_in_schema=False, media_type="text/calendar")
async def ticket_calendar(token: TicketToken, settings: SettingsDep) -> Response[bytes]:
    registration = await _usable_ticket(token)
    invite = event_invite(
        registration.event,
        uid=f"registration-{registration.id}@events-service",
        ticket_url=ticket_url(settings.public_base_url, token),
        locale=registration.locale,
    )
    return Response(
        invite,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="event-{registration.event.id}.ics"'
        },
    )


@post("/t/{token:str}/cancel", include_in_schema=False, status_code=303)
async def ticket_cancel(
    request: Request, token: TicketToken, settings: SettingsDep
) -> Response[Any]:
    try:
        await service.cancel(token)
    except NotFound:
        return _page(request, "pages/message.html", settings, 404, message_key="not_found")
    except service.AlreadyAdmitted:
        return _page(request, "pages/message.html", settings, 409, message_key="admitted_no_cancel")
    return Redirect(f"/t/{token}?cancelled=1", status_code=303)
