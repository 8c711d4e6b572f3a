"""The door page: pick event and gate once, then scan, scan, scan."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from litestar import Request, get
from litestar.response import Template
from litestar.security.jwt import Token
from tortoise import timezone

from events_service.auth.guards import staff_only
from events_service.locale import translations, words
from events_service.web.i18n import remember_switch
from events_service.web.login import PAGE_EXCEPTION_HANDLERS, staff_page_context
from models import Event, StaffUser
from models.enums import EventStatus


@functools.cache
def door_words(locale: str) -> dict[str, Any]:
    """Everything scan.js shows, in the page's language (it has no words of its own).

    Placeholders stay for scan.js to fill: `%(n)s` in `pending` (its "one" and
    "other" forms, English's plural rule; Chinese has one form for both) and
    `%(status)s` in the look-up's status."""
    w = words(locale)
    raw = translations(locale)
    return {
        "verdicts": {
            "admitted": w.pgettext("door verdict", "ADMITTED"),
            "already_admitted": w.pgettext("door verdict", "ALREADY IN"),
            "forged": w.pgettext("door verdict", "FORGED"),
            "wrong_event": w.pgettext("door verdict", "WRONG EVENT"),
            "cancelled": w.pgettext("door verdict", "CANCELLED"),
            "waitlisted": w.pgettext("door verdict", "WAITLISTED"),
            "not_open": w.pgettext("door verdict", "NOT OPEN"),
            "unknown": w.pgettext("door verdict", "UNKNOWN"),
            "offline": w.pgettext("door verdict", "OK (OFFLINE)"),
            "refused": w.pgettext("door verdict", "NOT CHECKED"),
        },
        "scanned_offline": w.gettext("Already scanned on this device (offline)."),
        "saved_offline": w.gettext(
            "Valid ticket. No network: saved, will be checked when it is back."
        ),
        "forged_offline": w.gettext("Forged code: do not admit."),
        "wrong_event_offline": w.gettext("Not a ticket for this event."),
        "pending": {
            # Unfilled: scan.js puts the count in %(n)s.
            "one": raw.ngettext(
                "%(n)s scan waiting for the network", "%(n)s scans waiting for the network", 1
            ),
            "other": raw.ngettext(
                "%(n)s scan waiting for the network", "%(n)s scans waiting for the network", 2
            ),
        },
        "refused": w.gettext("The request was refused."),
        "too_many_lookups": w.gettext("Too many look-ups from this account: wait a minute."),
        "admit": w.pgettext("button", "Admit"),
        "statuses": {
            "confirmed": w.pgettext("registration status", "confirmed"),
            "waitlisted": w.pgettext("registration status", "waitlisted"),
            "cancelled": w.pgettext("registration status", "cancelled"),
        },
        # Unfilled: scan.js puts the status in %(status)s.
        "status": raw.gettext("(%(status)s)"),
        "status_in": raw.gettext("(%(status)s, already in)"),
    }


@get(
    "/scan",
    guards=[staff_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
)
async def scan_page(request: Request[StaffUser, Token, Any]) -> Template:
    context = staff_page_context(request)
    locale = context["locale"]
    # Today's and the coming week's events: what a door could be scanning for.
    now = timezone.now()
    events = (
        await Event.filter(
            status=EventStatus.PUBLISHED,
            ends_at__gte=now - timedelta(days=1),
            starts_at__lte=now + timedelta(days=7),
        )
        .order_by("starts_at")
        .limit(50)
    )
    response = Template(
        "pages/scan.html",
        context={
            **context,
            "user": request.user,
            "events": [
                {"id": e.id, "title": e.title, "starts_at": e.starts_at.isoformat()} for e in events
            ],
            "door_words": door_words(locale),
        },
    )
    remember_switch(request, response, locale)
    return response
