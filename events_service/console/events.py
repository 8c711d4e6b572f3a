"""The console's events: the list (filters, a title search, pages), the create and edit
forms (the API's own EventCreate and EventPatch, through the events service), an
event's page with its facts, figures and links, and its status changes (publish,
close, cancel), each after a confirmation saying what will happen."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from tortoise import timezone

from events_service.console.layout import Paging, console_page, done, list_offset
from events_service.errors import DomainError
from events_service.events import service
from events_service.events.figures import event_figures
from events_service.events.schemas import EventCreate, EventPatch, LinkFigures
from events_service.locale import N_, Message, translatable
from events_service.locale.dates import format_instant, format_when
from events_service.web.forms import FormResult, domain_errors, read_form
from models import Event
from models.enums import EventKind, EventStatus

PAGE_SIZE = 20
SEARCH_MAX = 200

BASE_ZONE = "Asia/Shanghai"
"""The date filters of the list are days at the base (an event's own times are always
shown in its own zone)."""

ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)
"""The time zones offered by the form, the base's first."""

KIND_WORDS = {EventKind.SUMMIT: N_("Summit"), EventKind.COMPETITION: N_("Competition")}
STATUS_WORDS = {
    EventStatus.DRAFT: N_("Draft"),
    EventStatus.PUBLISHED: N_("Published"),
    EventStatus.CLOSED: N_("Registration closed"),
    EventStatus.CANCELLED: N_("Cancelled"),
}
STATUS_BADGES = {
    EventStatus.DRAFT: "warn",
    EventStatus.PUBLISHED: "ok",
    EventStatus.CLOSED: "",
    EventStatus.CANCELLED: "bad",
}

TIME_FIELDS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "checkin_opens_at",
    "checkin_closes_at",
)
EDIT_FIELDS = (
    "title",
    "description",
    "venue",
    "timezone",
    "capacity",
    "waitlist_enabled",
    "door_names_offline",
    *TIME_FIELDS,
    "retention_days",
)
"""What the edit form shows (EventPatch's fields but the status, which has its actions)."""
REQUIRED_ON_EDIT = ("title", "timezone", "starts_at", "ends_at")
"""An edit form shows every field: emptying one the event must have is an error, not
"leave it as it was" (which is what an absent field means to EventPatch)."""


def local_input(moment: datetime | None, zone: str) -> str:
    """A moment as a `datetime-local` input shows it: the wall clock in `zone`."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def choices(
    table: Mapping[Any, str], gettext: Callable[[str], str], first: str | None = None
) -> list[tuple[str, str]]:
    """A select's options from a table of words (value -> msgid), in the page's words;
    `first`: an option with no value ("all") before them."""
    options = [(str(value), gettext(msgid)) for value, msgid in table.items()]
    return [("", first), *options] if first is not None else options


def page_helpers() -> dict[str, Any]:
    """What the events' and links' templates use to show an event."""
    return {
        "when": format_when,
        "instant": format_instant,
        "kind_words": KIND_WORDS,
        "status_words": STATUS_WORDS,
        "status_badges": STATUS_BADGES,
        "choices": choices,
    }


# The list


def _choice(enum: type[EventKind] | type[EventStatus], text: str | None) -> Any:
    try:
        return enum(text) if text else None
    except ValueError:
        return None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _at_base(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(BASE_ZONE))


WHEN_WORDS = {
    "upcoming": N_("In progress and coming up (soonest first)"),
    "past": N_("Past (most recent first)"),
    "all": N_("All (latest first)"),
}


@get("/events", name="console:events")
async def events_list(request: Request[Any, Any, Any]) -> Template:
    params = request.query_params
    kind = _choice(EventKind, params.get("kind"))
    status = _choice(EventStatus, params.get("status"))
    first_day, last_day = _day(params.get("from")), _day(params.get("to"))
    q = (params.get("q") or "").strip()[:SEARCH_MAX]
    offset = list_offset(params.get("offset"))
    # What an organiser looks for first: what is on and coming; the past on request.
    when = params.get("when") if params.get("when") in WHEN_WORDS else "upcoming"
    now = timezone.now()
    events, total = await service.list_events(
        q=q or None,
        kind=kind,
        status=status,
        starts_after=_at_base(first_day) if first_day else None,
        starts_before=_at_base(last_day + timedelta(days=1)) if last_day else None,
        ends_after=now if when == "upcoming" else None,
        ends_before=now if when == "past" else None,
        newest_first=when != "upcoming",
        limit=PAGE_SIZE,
        offset=offset,
    )
    filters = {
        "q": q,
        "kind": kind.value if kind else "",
        "status": status.value if status else "",
        "from": first_day.isoformat() if first_day else "",
        "to": last_day.isoformat() if last_day else "",
        "when": "" if when == "upcoming" else when,  # the default stays out of links
    }
    return console_page(
        request,
        "pages/console/events/list.html",
        section="events",
        title=translatable("Events"),
        events=events,
        figures=await event_figures([event.id for event in events]),
        filters=filters,
        filtered=any(filters.values()),
        when_words=WHEN_WORDS,
        paging=Paging("/admin/events", filters, offset, PAGE_SIZE, total),
        base_zone=BASE_ZONE,
        **page_helpers(),
    )


# The forms


async def _event_form(
    request: Request[Any, Any, Any],
    event: Event | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> Template:
    zone = values.get("timezone") or BASE_ZONE
    zones = ZONES if zone in ZONES else (zone, *ZONES)
    if event is None:
        title: str = translatable("Create an event")
        crumbs = [(translatable("Events"), "/admin/events")]
        action = "/admin/events/new"
    else:
        title = translatable("Edit the event")
        crumbs = [
            (translatable("Events"), "/admin/events"),
            (event.title, f"/admin/events/{event.id}"),
        ]
        action = f"/admin/events/{event.id}/edit"
    told = 0
    if event is not None and service.tells_of_changes(event):
        told = await service.attendees_to_tell(event.id)
    return console_page(
        request,
        "pages/console/events/form.html",
        section="events",
        title=title,
        crumbs=crumbs,
        status_code=status_code,
        event=event,
        action=action,
        values=values,
        errors=errors,
        zones=[(name, name) for name in zones],
        told=told,
        **page_helpers(),
    )


def _event_values(event: Event) -> dict[str, str]:
    values = {
        "kind": event.kind.value,
        "title": event.title,
        "description": event.description,
        "venue": event.venue,
        "timezone": event.timezone,
        "capacity": "" if event.capacity is None else str(event.capacity),
        "waitlist_enabled": "on" if event.waitlist_enabled else "",
        "door_names_offline": "on" if event.door_names_offline else "",
        "retention_days": "" if event.retention_days is None else str(event.retention_days),
    }
    for name in TIME_FIELDS:
        values[name] = local_input(getattr(event, name), event.timezone)
    return values


_LOCAL_INPUT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def _form_errors(form: FormResult[Any]) -> dict[str, str]:
    """The form's errors; with a time zone that does not exist, its times are not
    wrong too: they wait to be read on a clock that does."""
    errors = dict(form.errors)
    if "timezone" in errors:
        for name in TIME_FIELDS:
            if name in errors and _LOCAL_INPUT.fullmatch(form.values.get(name, "").strip()):
                del errors[name]
    return errors


async def _posted_zone(request: Request[Any, Any, Any]) -> str | None:
    """The zone the form's `datetime-local` inputs were typed in: the form's own."""
    zone = (await request.form()).get("timezone")
    return zone.strip() if isinstance(zone, str) and zone.strip() else None


WORDS_FOR_REFUSALS = {
    "ends_at": N_("The end must be after the start."),
    "registration_closes_at": N_("Registration must close after it opens."),
    "checkin_closes_at": N_("Check-in must close after it opens."),
    "closes_at": N_("The link must close after it opens."),
}
"""The service's refusal of a pair of times, said next to its field in a form's words."""


_PAIR_REFUSALS = ("%(last)s must be after %(first)s.", "closes_at must be after opens_at.")
"""The services' refusals of a pair of times (events.service._check_times, the links')."""


def form_refusal(error: DomainError) -> dict[str, str]:
    """A service's refusal as the form's errors, on the field it names."""
    errors = domain_errors(error)
    if isinstance(error.detail, Message) and error.detail.msgid in _PAIR_REFUSALS:
        for name in errors:
            if name in WORDS_FOR_REFUSALS:
                errors[name] = translatable(WORDS_FOR_REFUSALS[name])
    return errors


def _only_changed_times(event: Event, patch: EventPatch) -> EventPatch:
    """The patch without the times sent back as the form showed them (to the minute):
    saving a new title must not move the start by its seconds, nor tell everyone
    registered that the event changed."""
    if patch.timezone is not msgspec.UNSET and patch.timezone != event.timezone:
        return patch
    unchanged = {
        name: msgspec.UNSET
        for name in TIME_FIELDS
        if getattr(patch, name) is not msgspec.UNSET
        and local_input(getattr(patch, name), event.timezone)
        == local_input(getattr(event, name), event.timezone)
    }
    return msgspec.structs.replace(patch, **unchanged)


@get("/events/new", name="console:event-new")
async def new_event(request: Request[Any, Any, Any]) -> Template:
    values = {"kind": EventKind.SUMMIT.value, "timezone": BASE_ZONE}
    return await _event_form(request, None, values, {})


@post("/events/new", name="console:event-create")
async def create_event(request: Request[Any, Any, Any]) -> Template | Redirect:
    form = await read_form(request, EventCreate, zone=await _posted_zone(request))
    errors = _form_errors(form)
    if form.ok and form.value is not None:
        try:
            event = await service.create_event(form.value)
        except DomainError as exc:
            errors = form_refusal(exc)
        else:
            return done(
                request,
                f"/admin/events/{event.id}",
                translatable("“%(title)s” was created as a draft.", title=event.title),
            )
    return await _event_form(request, None, form.values, errors, status_code=422)


@get("/events/{event_id:int}/edit", name="console:event-edit-form")
async def edit_event(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await service.get_event(event_id)
    return await _event_form(request, event, _event_values(event), {})


@post("/events/{event_id:int}/edit", name="console:event-edit")
async def save_event(
    request: Request[Any, Any, Any], event_id: FromPath[int]
) -> Template | Redirect:
    event = await service.get_event(event_id)
    form = await read_form(request, EventPatch, zone=await _posted_zone(request), only=EDIT_FIELDS)
    errors = _form_errors(form)
    for name in REQUIRED_ON_EDIT:
        if not form.values.get(name, "").strip():
            errors[name] = translatable("Required.")
    if not errors and form.value is not None:
        try:
            saved = await service.update_event(event.id, _only_changed_times(event, form.value))
        except DomainError as exc:
            errors = form_refusal(exc)
        else:
            return done(
                request,
                f"/admin/events/{saved.id}",
                translatable("Your changes to “%(title)s” were saved.", title=saved.title),
            )
    values = {**form.values, "kind": event.kind.value}
    return await _event_form(request, event, values, errors, status_code=422)


# The event's page and its status


@get("/events/{event_id:int}", name="console:event")
async def event_page(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await service.get_event(event_id)
    figures = (await event_figures([event.id]))[event.id]
    links, by_link = await service.list_links(event.id)
    next_statuses = service.next_statuses(event.status)
    told = 0
    if EventStatus.CANCELLED in next_statuses:
        told = await service.attendees_to_tell(event.id)
    base_url = request.app.state.settings.public_base_url
    return console_page(
        request,
        "pages/console/events/page.html",
        section="events",
        title=event.title,
        crumbs=[(translatable("Events"), "/admin/events")],
        event=event,
        figures=figures,
        links=[
            (link, by_link.get(link.id, LinkFigures()), service.link_url(base_url, link.slug))
            for link in links
        ],
        next_statuses=next_statuses,
        told=told,
        statuses=EventStatus,
        **page_helpers(),
    )


_REFUSED = {
    EventStatus.CANCELLED: N_(
        "This event is cancelled, and cancelling is final: its status cannot change any more."
    ),
    # The one change a draft cannot make: closing.
    EventStatus.DRAFT: N_("This event is a draft: publish it before closing its registration."),
}
"""Why a status change was refused, by the event's status then (the service decides
what is refused; these say it in an organiser's words)."""

_CHANGED = {
    EventStatus.PUBLISHED: N_("“%(title)s” is published: its links take registrations."),
    EventStatus.CLOSED: N_("Registration for “%(title)s” is closed."),
    EventStatus.CANCELLED: N_("“%(title)s” is cancelled; everyone holding a place is told."),
}


async def _change_status(
    request: Request[Any, Any, Any], event_id: int, wanted: EventStatus
) -> Redirect:
    target = f"/admin/events/{event_id}"
    if (await request.form()).get("confirm") != "yes":
        return done(request, target, translatable("Nothing was changed."), "warn")
    before = await service.get_event(event_id)
    try:
        event = await service.set_status(event_id, wanted)
    except DomainError as exc:
        words = _REFUSED.get(before.status)
        return done(request, target, translatable(words) if words else exc.detail, "bad")
    return done(request, target, translatable(_CHANGED[wanted], title=event.title))


@post("/events/{event_id:int}/publish", name="console:event-publish")
async def publish_event(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Redirect:
    return await _change_status(request, event_id, EventStatus.PUBLISHED)


@post("/events/{event_id:int}/close", name="console:event-close")
async def close_event(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Redirect:
    return await _change_status(request, event_id, EventStatus.CLOSED)


@post("/events/{event_id:int}/cancel", name="console:event-cancel")
async def cancel_event(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Redirect:
    return await _change_status(request, event_id, EventStatus.CANCELLED)


ROUTES = [
    events_list,
    new_event,
    create_event,
    edit_event,
    save_event,
    event_page,
    publish_event,
    close_event,
    cancel_event,
]
