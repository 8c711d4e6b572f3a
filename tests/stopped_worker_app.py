"""The app, served in a child process, whose in-app outbox worker dies soon after it
starts (as a bug in a pass would end it): tests/test_health.py serves it with granian
to see readiness name the worker while liveness stays up."""

from __future__ import annotations

import asyncio

from litestar import Litestar

from events_service.app import create_app as _create_app
from notifications.worker import DeliveryWorker


class WorkerDied(RuntimeError):
    pass


async def _run_then_die(
    self: DeliveryWorker, stop: asyncio.Event, drain_seconds: float = 0
) -> None:
    await asyncio.sleep(0.5)
    raise WorkerDied("the outbox worker stopped")


def create_app() -> Litestar:
    DeliveryWorker.run = _run_then_die  # type: ignore[method-assign]
    return _create_app()
