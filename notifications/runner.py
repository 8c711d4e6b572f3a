"""Running the delivery worker: inside the app's lifespan, or as its own process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from events_service.settings import Settings
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker

log = logging.getLogger("events_service.outbox")


# On shutdown the worker finishes the messages in hand and sends what is already due
# for DRAIN_SECONDS; a worker still busy STOP_SECONDS after the stop (a mail server
# that does not answer) is cancelled and releases what it holds (see
# DeliveryWorker._release). Both stay well inside `serve --graceful-timeout`.
DRAIN_SECONDS = 10.0
STOP_SECONDS = 15.0


@asynccontextmanager
async def delivering(
    settings: Settings, *, concurrency: int = 4, stop_seconds: float = STOP_SECONDS
) -> AsyncIterator[DeliveryWorker]:
    """Deliver in the background while the block runs; drain when it ends."""
    sender = sender_from_url(settings.smtp_url, max_connections=concurrency)
    worker = DeliveryWorker(settings, sender, concurrency=concurrency)
    stop = asyncio.Event()
    drain = min(DRAIN_SECONDS, stop_seconds)
    task = asyncio.create_task(worker.run(stop, drain_seconds=drain), name="outbox-delivery")
    worker.task = task
    try:
        yield worker
    finally:
        stop.set()
        if task.done():  # it ended on its own (readiness has said so): nothing to drain
            if not task.cancelled() and task.exception() is not None:
                log.error("outbox worker had stopped: %r", task.exception())
        else:
            try:
                await asyncio.wait_for(task, timeout=stop_seconds)
            except TimeoutError:
                log.warning(
                    "outbox worker did not drain in %s s; the messages it held are released",
                    stop_seconds,
                )
