"""What organisers see of the outbox, and putting a failed message back in line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from tortoise import timezone
from tortoise.functions import Count

from events_service.errors import Conflict, NotFound
from events_service.locale import translatable
from events_service.settings import Settings
from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.messages import MessageBuilder, Queued, Undeliverable


class OutboxRow(msgspec.Struct):
    id: int
    kind: str
    recipient: str
    locale: str
    status: str
    attempts: int
    # A lease expired while an attempt was under way (a worker died or lost the
    # database): the recipient may have this message twice, with the same Message-ID.
    redelivered: bool
    redeliveries: int
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    message_id: str | None
    payload: dict[str, Any]


class OutboxPage(msgspec.Struct):
    items: list[OutboxRow]
    total: int
    counts: dict[str, int]
    limit: int
    offset: int


def _row(message: OutboxMessage) -> OutboxRow:
    return OutboxRow(
        id=message.id,
        kind=message.kind,
        recipient=message.recipient,
        locale=message.locale,
        status=message.status.value,
        attempts=message.attempts,
        redelivered=message.redeliveries > 0,
        redeliveries=message.redeliveries,
        due_at=message.due_at,
        created_at=message.created_at,
        sent_at=message.sent_at,
        last_error=message.last_error,
        message_id=message.message_id,
        payload=message.payload,
    )


async def list_messages(
    *, status: OutboxStatus | None, kind: str | None, limit: int, offset: int
) -> OutboxPage:
    query = OutboxMessage.all()
    if status is not None:
        query = query.filter(status=status)
    if kind:
        query = query.filter(kind=kind)
    total = await query.count()
    messages = await query.order_by("-id").offset(offset).limit(limit)
    by_status = dict(
        await OutboxMessage.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    )
    counts = {s.value: by_status.get(s.value, 0) for s in OutboxStatus}
    return OutboxPage(
        items=[_row(m) for m in messages], total=total, counts=counts, limit=limit, offset=offset
    )


async def retry_message(message_id: int) -> OutboxRow:
    """A failed message goes back to pending, due now, with a fresh set of attempts."""
    changed = await OutboxMessage.filter(id=message_id, status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, due_at=timezone.now()
    )
    message = await OutboxMessage.get_or_none(id=message_id)
    if message is None:
        raise NotFound(translatable("No outbox message %(id)s.", id=message_id))
    if not changed:
        raise Conflict(
            translatable(
                "Message %(id)s is %(status)s; only failed messages are retried.",
                id=message_id,
                status=message.status.value,
            )
        )
    return _row(message)


async def get_message(message_id: int) -> OutboxRow:
    message = await OutboxMessage.get_or_none(id=message_id)
    if message is None:
        raise NotFound(translatable("No outbox message %(id)s.", id=message_id))
    return _row(message)


class Preview(msgspec.Struct):
    """What the message's recipient reads, as the worker builds it now; `problem`
    instead when it cannot be built (the reason the worker would give)."""

    subject: str = ""
    text: str = ""
    html: str = ""
    problem: str | None = None


async def preview_message(settings: Settings, row: OutboxRow) -> Preview:
    """The message built by the worker's own builder, in preview mode (a secret it
    carries, such as a set-password link, is left out)."""
    queued = Queued(
        id=row.id,
        kind=row.kind,
        dedupe_key=f"preview:{row.id}",
        recipient=row.recipient,
        locale=row.locale,
        payload=row.payload,
    )
    try:
        message = await MessageBuilder(settings, preview=True).build(queued)
    except Undeliverable as error:
        return Preview(problem=str(error))
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Preview(
        subject=str(message["Subject"]),
        text=text.get_content() if text is not None else "",  # type: ignore[attr-defined]
        html=html.get_content() if html is not None else "",  # type: ignore[attr-defined]
    )
