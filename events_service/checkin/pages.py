"""The door page: pick event and gate once, then scan, scan, scan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, get
from litestar.response import Template
from litestar.security.jwt import Token
from tortoise import timezone

from events_service.auth.guards import staff_only
from events_service.web.login import PAGE_EXCEPTION_HANDLERS
from models import Event, StaffUser
from models.enums import EventStatus


@get(
    "/scan",
    guards=[staff_only],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
)
async def scan_page(request: Request[StaffUser, Token, Any]) -> Template:
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
    return Template(
        "pages/scan.html",
        context={
            "user": request.user,
            "events": [
                {"id": e.id, "title": e.title, "starts_at": e.starts_at.isoformat()} for e in events
            ],
        },
    )
