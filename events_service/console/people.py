"""A person's page in the console: their details, their registrations at every event
(with the actions on each), their admissions and the e-mails sent to them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from events_service.console.layout import console_page
from events_service.console.registrations import (
    STATUS_BADGES,
    STATUS_WORDS,
    instants,
)
from events_service.events.people import person_record
from events_service.locale import N_, translatable
from events_service.web.login import staff_page_context

MESSAGE_STATUS_WORDS = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
}
KIND_WORDS = {
    "registration.confirmed": N_("Ticket (confirmed)"),
    "registration.waitlisted": N_("On the waitlist"),
    "registration.promoted": N_("Confirmed from the waitlist"),
    "registration.cancelled": N_("Registration cancelled"),
    "event.changed": N_("Event changed"),
    "event.cancelled": N_("Event cancelled"),
    "event.reminder": N_("Reminder"),
}
MESSAGE_STATUS_BADGES = {"pending": "warn", "sending": "warn", "sent": "ok", "failed": "bad"}


@get("/people/{person_id:int}", name="console:person")
async def person_page(request: Request[Any, Any, Any], person_id: FromPath[int]) -> Template:
    record = await person_record(person_id)
    locale = staff_page_context(request)["locale"]
    instant = instants(locale)
    # The person's own times are shown in the zone of their latest event, or UTC.
    home_zone = record.registrations[0].timezone if record.registrations else "UTC"

    page = console_page(
        request,
        "pages/console/people/person.html",
        section="registrations",
        title=record.person.name,
        crumbs=[(translatable("Registrations"), "/admin/registrations")],
        record=record,
        person=record.person,
        home_zone=home_zone,
        instant=instant,
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
        message_status_words=MESSAGE_STATUS_WORDS,
        message_status_badges=MESSAGE_STATUS_BADGES,
        kind_words=KIND_WORDS,
        here=request.url.path,
    )
    return page


ROUTES = [person_page]
