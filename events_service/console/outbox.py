"""The outbox in the console: every message by status and kind, newest first, one
message with its attempts, last error and what its recipient reads, and a retry.

Lists and counts are notifications.admin's (SQL COUNT, LIMIT/OFFSET); the preview is
the worker's own builder (notifications.messages), so it shows what would be sent."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from events_service.console.layout import Paging, console_page, done, list_offset
from events_service.console.staff import DISPLAY_ZONE
from events_service.errors import DomainError
from events_service.locale import N_, translatable
from events_service.locale.dates import format_instant
from models.enums import OutboxStatus
from notifications import admin
from notifications.reasons import reason_in_language
from notifications.wording import KIND_NAMES

PAGE_SIZE = 50

STATUS_LABELS = {
    OutboxStatus.PENDING.value: N_("Pending"),
    OutboxStatus.SENDING.value: N_("Sending"),
    OutboxStatus.SENT.value: N_("Sent"),
    OutboxStatus.FAILED.value: N_("Failed"),
}
STATUS_BADGES = {"pending": "warn", "sending": "warn", "sent": "ok", "failed": "bad"}
# What each kind is called, for organisers (notifications.wording, with the e-mails' words).
KIND_LABELS = {kind.value: name for kind, name in KIND_NAMES.items()}


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "status_badges": STATUS_BADGES,
        "kind_labels": KIND_LABELS,
        "zone": DISPLAY_ZONE,
        "instant": format_instant,
        # A stored failure reason in the reader's language, where the service wrote it.
        "reason": reason_in_language,
    }


@get("/outbox", name="console:outbox")
async def outbox_list(request: Request[Any, Any, Any]) -> Template:
    status_text = request.query_params.get("status") or ""
    status = OutboxStatus(status_text) if status_text in STATUS_LABELS else None
    kind = request.query_params.get("kind") or ""
    kind = kind if kind in KIND_LABELS else ""
    offset = list_offset(request.query_params.get("offset"))
    page = await admin.list_messages(
        status=status, kind=kind or None, limit=PAGE_SIZE, offset=offset
    )
    filters = {"status": status.value if status else "", "kind": kind}
    return console_page(
        request,
        "pages/console/outbox/list.html",
        section="outbox",
        title=translatable("Outbox"),
        page=page,
        filters=filters,
        paging=Paging("/admin/outbox", filters, offset, PAGE_SIZE, page.total),
        **_labels(),
    )


@get("/outbox/{message_id:int}", name="console:outbox-message")
async def outbox_message(request: Request[Any, Any, Any], message_id: FromPath[int]) -> Template:
    row = await admin.get_message(message_id)
    preview = await admin.preview_message(request.app.state.settings, row)
    return console_page(
        request,
        "pages/console/outbox/message.html",
        section="outbox",
        title=translatable("Message %(id)s", id=row.id),
        crumbs=[(translatable("Outbox"), "/admin/outbox")],
        message=row,
        preview=preview,
        **_labels(),
    )


@post("/outbox/{message_id:int}/retry", name="console:outbox-retry", status_code=303)
async def outbox_retry(request: Request[Any, Any, Any], message_id: FromPath[int]) -> Response[Any]:
    target = f"/admin/outbox/{message_id}"
    try:
        await admin.retry_message(message_id)
    except DomainError as refusal:
        if refusal.status_code == 404:
            raise
        return done(request, target, refusal.detail, "bad")
    return done(
        request,
        target,
        translatable("Message %(id)s is back in line: it is sent again shortly.", id=message_id),
    )


ROUTES = [outbox_list, outbox_message, outbox_retry]
