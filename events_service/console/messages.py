"""E-mail the attendees: write a message in English and Chinese, pick who gets it,
see how many people that is and the e-mail each language gets, then send it (through
the outbox, once per person: notifications.announcements). The messages sent for the
event are listed under the form."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.door import kept_language
from events_service.console.layout import console_page, done
from events_service.errors import NotFound, Unprocessable
from events_service.locale import LANGUAGE_NAMES, LOCALES, N_, translatable, words
from events_service.locale.dates import format_instant
from events_service.locale.numbers import format_number
from events_service.web.forms import FORM_ERROR, read_form
from events_service.web.login import staff_page_context
from models import Audience, Event
from notifications.announcements import (
    AnnouncementIn,
    announcements_of,
    count_recipients,
    new_token,
    send_announcement,
    words_for,
)
from notifications.messages import MessageBuilder, announcement_context
from notifications.wording import MANAGE_REGISTRATION

AUDIENCE_LABELS = {
    Audience.CONFIRMED: N_("Everyone confirmed"),
    Audience.WAITLISTED: N_("Everyone on the waitlist"),
    Audience.ADMITTED: N_("Everyone admitted at the door"),
    Audience.NOT_ADMITTED: N_("Confirmed, not yet admitted"),
}
FIELDS = ("audience", "subject_en", "body_en", "subject_zh", "body_zh")
PREVIEW_NAME = N_("(the attendee's name)")


async def _event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(translatable("No event %(id)s.", id=event_id))
    return event


def _crumbs(event: Event) -> list[tuple[str, str | None]]:
    # A message belongs to its event (linked from the event's page), not to the door.
    return [(translatable("Events"), "/admin/events"), (event.title, f"/admin/events/{event.id}")]


async def _form_page(
    request: Request[Any, Any, Any],
    event: Event,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    locale = staff_page_context(request)["locale"]
    w = words(locale)
    counts = await count_recipients(event.id)
    options = [
        (
            audience.value,
            w.gettext(
                "%(group)s (%(n)s)",
                group=w.gettext(label),
                n=format_number(counts[audience], locale),
            ),
        )
        for audience, label in AUDIENCE_LABELS.items()
    ]
    return console_page(
        request,
        "pages/console/messages/form.html",
        section="events",
        title=translatable("E-mail the attendees"),
        crumbs=_crumbs(event),
        status_code=status_code,
        event=event,
        values=values or {},
        errors=errors or {},
        audiences=options,
        audience_labels=AUDIENCE_LABELS,
        sent=await announcements_of(event.id),
        instant=format_instant,
    )


@get("/events/{event_id:int}/message", name="console:message")
async def message_form(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    return await _form_page(request, await _event(event_id))


@post("/events/{event_id:int}/message/edit", name="console:message-edit")
async def message_edit(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    """Back from the preview to the form, with what was written."""
    event = await _event(event_id)
    form = await read_form(request, AnnouncementIn, only=FIELDS)
    return await _form_page(request, event, form.values)


@post("/events/{event_id:int}/message/preview", name="console:message-preview")
async def message_preview(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await _event(event_id)
    form = await read_form(request, AnnouncementIn, only=FIELDS)
    if not form.ok or form.value is None:
        return await _form_page(request, event, form.values, form.errors, 422)
    data = form.value
    builder = MessageBuilder(request.app.state.settings)
    previews = []
    for locale in LOCALES:
        w = words(locale)
        subject, body = words_for(data, locale)
        context = announcement_context(
            name=w.gettext(PREVIEW_NAME),
            body=body,
            link_url="#",
            link_label=w.gettext(MANAGE_REGISTRATION),
        )
        text, html = builder.render("announcement", builder.context(context, subject, locale))
        previews.append(
            {"locale": locale, "language": LANGUAGE_NAMES[locale], "subject": subject,
             "html": html, "text": text}
        )  # fmt: skip
    return console_page(
        request,
        "pages/console/messages/preview.html",
        section="events",
        title=translatable("Check and send"),
        crumbs=[
            *_crumbs(event),
            (translatable("E-mail the attendees"), f"/admin/events/{event.id}/message"),
        ],
        event=event,
        values=form.values,
        audience_label=AUDIENCE_LABELS[data.audience],
        count=(await count_recipients(event.id))[data.audience],
        previews=previews,
        token=new_token(),
    )  # fmt: skip


@post("/events/{event_id:int}/message/send", name="console:message-send")
async def message_send(
    request: Request[Any, Any, Any], event_id: FromPath[int]
) -> Redirect | Template:
    event = await _event(event_id)
    form = await read_form(request, AnnouncementIn, only=(*FIELDS, "token"))
    if not form.ok or form.value is None:
        return await _form_page(request, event, form.values, form.errors, 422)
    try:
        sent = await send_announcement(event.id, form.value, request.user.id)
    except Unprocessable as refusal:
        return await _form_page(request, event, form.values, {FORM_ERROR: refusal.detail}, 422)
    target = f"/admin/events/{event.id}/message{kept_language(request)}"
    w = words(staff_page_context(request)["locale"])
    if sent.repeated:
        text = w.gettext("This message was sent already: nobody was e-mailed twice.")
        return done(request, target, text, "warn")
    text = w.ngettext(
        "The message is on its way to %(count)s person.",
        "The message is on its way to %(count)s people.",
        sent.queued,
        count=format_number(sent.queued, w.locale),
    )
    return done(request, target, text)


ROUTES = [message_form, message_edit, message_preview, message_send]
