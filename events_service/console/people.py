"""A person's page in the console: their details, their registrations at every event
(with the actions on each), their admissions and the e-mails sent to them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from events_service.console.layout import console_page
from events_service.console.outbox import KIND_LABELS
from events_service.console.outbox import STATUS_BADGES as OUTBOX_STATUS_BADGES
from events_service.console.outbox import STATUS_LABELS as OUTBOX_STATUS_LABELS
from events_service.console.registrations import (
    STATUS_BADGES,
    STATUS_WORDS,
    instants,
)
from events_service.events.people import person_record
from events_service.locale import translatable
from events_service.web.login import staff_page_context
from notifications.reasons import reason_in_language


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
        # The outbox's own words for a message's kind and status (one table each).
        message_status_words=OUTBOX_STATUS_LABELS,
        message_status_badges=OUTBOX_STATUS_BADGES,
        reason=reason_in_language,
        kind_words=KIND_LABELS,
        here=request.url.path,
    )
    return page


ROUTES = [person_page]
