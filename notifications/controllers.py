"""Organiser routes over the outbox: see what was sent, what waits, what failed and why."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from events_service.auth.guards import admin_only
from events_service.boundary import Limit, Offset
from models.enums import OutboxStatus
from notifications import admin
from notifications.admin import OutboxPage, OutboxRow

KindFilter = Annotated[str | None, QueryParameter(max_length=60)]


class OutboxController(Controller):
    path = "/api/v1/outbox"
    tags = ["notifications"]
    guards = [admin_only]

    @get(summary="Queued, sent and failed messages, newest first")
    async def list_messages(
        self,
        status: FromQuery[OutboxStatus | None] = None,
        kind: KindFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> OutboxPage:
        return await admin.list_messages(status=status, kind=kind, limit=limit, offset=offset)

    @post("/{message_id:int}/retry", status_code=200, summary="Send a failed message again")
    async def retry(self, message_id: FromPath[int]) -> OutboxRow:
        return await admin.retry_message(message_id)
