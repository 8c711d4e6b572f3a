"""The door page: pick event and gate once, then scan, scan, scan."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.security.jwt import Token
from tortoise import timezone

from events_service.auth.guards import staff_only
from events_service.checkin import offline
from events_service.checkin.service import local_date_time, local_time
from events_service.locale import translations, words
from events_service.privacy.display import person_name
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
        # The offline door (scan.js judges by the door bundle; %(...)s filled there).
        "network": {
            "online": w.pgettext("door network", "Online"),
            "offline": w.pgettext("door network", "Offline: scans are checked here and saved"),
        },
        "cancelled_offline": w.gettext("Cancelled ticket: do not admit."),
        "waitlisted_offline": w.gettext("Waitlisted, not confirmed: do not admit."),
        "not_open_offline": w.gettext("The door is not open for this event now."),
        "already_in_offline": raw.gettext(
            "Already in: gate %(gate)s at %(time)s (checked offline)."
        ),
        "admitted_offline": raw.gettext(
            "%(name)s: saved offline, will be checked when the network is back."
        ),
        "changed": {
            "one": raw.ngettext(
                "%(n)s scan changed after sync", "%(n)s scans changed after sync", 1
            ),
            "other": raw.ngettext(
                "%(n)s scan changed after sync", "%(n)s scans changed after sync", 2
            ),
        },
        "changed_item": raw.gettext(
            "%(who)s, gate %(gate)s at %(time)s: shown %(shown)s, now %(now)s. %(message)s"
        ),
        "conflict": w.pgettext("door verdict", "CONFLICT"),
        "admitted_earlier": raw.gettext("Admitted earlier at gate %(gate)s at %(time)s."),
        "someone": w.gettext("A ticket"),
        # The name of a person whose data was erased (the bundle and answers hold none).
        "erased": person_name(None, locale),
        "sync_refused": raw.gettext(
            "The server did not take the queued scans (%(status)s): they stay queued."
        ),
        "refused": w.gettext("The request was refused."),
        # The camera would not start: the browser's own error is English and technical.
        "camera_blocked": w.gettext(
            "The camera is blocked for this page: allow it in the browser, or type the code."
        ),
        "camera_failed": w.gettext(
            "The camera could not start on this device: type the code or use a scanner."
        ),
        "undo": w.pgettext("button", "Undo"),
        # Unfilled: scan.js puts the person's name in %(name)s.
        "last_admitted": raw.gettext("Last admitted: %(name)s"),
        "undone": w.gettext("Admission undone."),
        "undone_word": w.pgettext("door verdict", "UNDONE"),
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
            "conflicts": await _open_conflicts(events, locale),
        },
    )
    remember_switch(request, response, locale)
    return response


async def _open_conflicts(events: list[Event], locale: str) -> list[dict[str, Any]]:
    """The unreviewed conflicts of the events the door may scan for, their times in
    each event's timezone (scan.js shows those of the event being scanned)."""
    zones = {event.id: event.timezone for event in events}
    rows = []
    for event_id, zone in zones.items():
        for row in await offline.conflicts(event_id, reviewed=False, limit=100):
            rows.append(
                {
                    "id": row["id"],
                    "event_id": event_id,
                    "name": row["registration__person__name"],
                    "gate": row["gate"],
                    "scanned_at": local_date_time(row["scanned_at"], zone, locale),
                    "admission_gate": row["admission_gate"],
                    "admission_at": local_time(row["admission_at"], zone, locale),
                }
            )
    return rows


SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "door-sw.js"


@get(
    "/scan-sw.js",
    include_in_schema=False,
    sync_to_thread=False,
    # Static code, no data: the browser checks it for updates logged in or not.
    opt={"exclude_from_auth": True},
)
def door_service_worker() -> Response[bytes]:
    """The door's service worker (static/door-sw.js). Served from here, not /static:
    a worker controls only the pages at or below its own path, and /scan is not
    below /static. no-cache: the browser checks for a new worker on every visit."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/scan"},
    )


@post(
    "/scan/conflicts/{conflict_id:int}/review",
    guards=[staff_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
    status_code=303,
)
async def review_conflict_page(
    conflict_id: FromPath[int], request: Request[StaffUser, Token, Any]
) -> Redirect:
    """The door page's "Mark reviewed" (a form: back to the door's conflicts)."""
    await offline.review_conflict(conflict_id, request.user.id)
    return Redirect("/scan#conflicts", status_code=303)
