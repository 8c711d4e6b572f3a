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


@asynccontextmanager
async def delivering(settings: Settings, *, concurrency: int = 4) -> AsyncIterator[DeliveryWorker]:
    """Deliver in the background while the block runs; drain when it ends."""
    sender = sender_from_url(settings.smtp_url, max_connections=concurrency)
    worker = DeliveryWorker(settings, sender, concurrency=concurrency)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="outbox-delivery")
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
                await asyncio.wait_for(task, timeout=30)
            except TimeoutError:
                log.warning("outbox worker did not drain in 30 s; pending rows stay queued")
