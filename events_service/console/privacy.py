"""Privacy in the console: the retention policy as it is set, until when each ended
event keeps its attendees' personal data, how many people the next run erases, and
the audit of every erasure (who or which policy, when, how many, which fields; never
whom). Read-only: the policy is set in the environment and per event on its form."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from tortoise import timezone

from events_service.console.layout import Paging, console_page, list_offset
from events_service.console.staff import DISPLAY_ZONE
from events_service.locale import N_, translatable
from events_service.locale.dates import format_instant
from events_service.privacy.overview import erasure_log, retention_overview
from events_service.privacy.service import PERSON, POLICY, STAFF

PAGE_SIZE = 50

FIELD_LABELS = {
    "email": N_("e-mail"),
    "phone": N_("phone"),
    "name": N_("name"),
    "job_title": N_("job title"),
    "organisation": N_("organisation"),
}
ACTOR_LABELS = {
    POLICY: N_("Retention policy"),
    STAFF: N_("Staff"),
    PERSON: N_("The person, on request"),
}
REASON_LABELS = {
    "retention": N_("retention window ended"),
    "request": N_("asked by the person"),
    "admin": N_("erased by an administrator"),
}


@get("/privacy", name="console:privacy")
async def privacy_page(request: Request[Any, Any, Any]) -> Template:
    now = timezone.now()
    offset = list_offset(request.query_params.get("offset"))
    log = await erasure_log(limit=PAGE_SIZE, offset=offset)
    return console_page(
        request,
        "pages/console/privacy/overview.html",
        section="privacy",
        title=translatable("Privacy and data retention"),
        overview=await retention_overview(request.app.state.settings, now),
        log=log,
        paging=Paging("/admin/privacy", {}, offset, PAGE_SIZE, log.total),
        now=now,
        zone=DISPLAY_ZONE,
        instant=format_instant,
        field_labels=FIELD_LABELS,
        actor_labels=ACTOR_LABELS,
        reason_labels=REASON_LABELS,
    )


ROUTES = [privacy_page]
