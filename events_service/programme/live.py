"""Live figures for dashboards: one publisher per process, any number of listeners.

A scan only marks its event as changed (no extra query on the door's path). A
background task in each process gathers the changes of the last moment, reads the
figures once and publishes them on the "programme" channel: Litestar channels,
in memory by default, through Redis when EVENTS_REDIS_URL is set so that a
dashboard connected to one worker process sees admissions made on another.
Each SSE listener only forwards what the channel carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from events_service import metrics
from events_service.db import default_connection, fetch_rows
from events_service.errors import OutageLog, is_database_unavailable
from events_service.reach.counter import ADMITTED_AT_EVENT_SQL, read_figures
from events_service.settings import Settings

CHANNEL = "programme"
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser's EventSource reconnects (after
# RECONNECT_MS; the first message of the new stream carries the figures again). A
# stopping server finishes the requests in flight before it exits: an endless stream
# would hold every restart until the worker is killed, and its outbox with it.
STREAM_SECONDS = 20.0
RECONNECT_MS = 1000
# Changes within this window go out as one message.
GATHER_SECONDS = 0.1

log = logging.getLogger("events_service.live")

_EVENT_FIGURES = f"""
SELECT e.id, e.confirmed_count AS registered, {ADMITTED_AT_EVENT_SQL} AS admitted
FROM event e WHERE e.id = $1
"""  # noqa: S608 - only our own constant is formatted in


def channels_backend(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url))
    return MemoryChannelsBackend()


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    # A slow dashboard loses old updates, never the newest (each carries the totals).
    return ChannelsPlugin(
        backend=channels_backend(settings),
        channels=[CHANNEL],
        subscriber_max_backlog=100,
        subscriber_backlog_strategy="dropleft",
    )


async def snapshot(settings: Settings, event_ids: set[int]) -> dict[str, Any]:
    figures = await read_figures()
    goal = settings.targets.talents
    events: dict[str, dict[str, int]] = {}
    conn = default_connection()
    for event_id in sorted(event_ids):
        rows = await fetch_rows(conn, _EVENT_FIGURES, [event_id])
        if rows:
            events[str(event_id)] = {
                "admitted": int(rows[0]["admitted"]),
                "registered": int(rows[0]["registered"]),
            }
    return {
        "talents_reached": figures.total,
        "goal": goal,
        "percent": round(100 * figures.total / goal, 2) if goal else 0.0,
        "total_admissions": figures.admissions,
        "companies": figures.companies,
        "events": events,
    }


class LivePublisher:
    def __init__(self, settings: Settings, channels: ChannelsPlugin) -> None:
        self.settings = settings
        self.channels = channels
        self._changed: set[int] = set()
        self._wake = asyncio.Event()
        self._outages = OutageLog(log, "live figures wait")

    def attendance_changed(self, event_id: int) -> None:
        self._changed.add(event_id)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(GATHER_SECONDS)
            self._wake.clear()
            changed, self._changed = self._changed, set()
            try:
                data = await snapshot(self.settings, changed)
                await self.channels.wait_published(msgspec.json.encode(data), CHANNEL)
            except Exception as error:  # a lost update is repaired by the next one
                if is_database_unavailable(error):
                    self._outages.record(error)
                else:
                    log.exception("publishing live figures failed")


@asynccontextmanager
async def live_publishing(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    publisher = LivePublisher(settings, app.plugins.get(ChannelsPlugin))
    app.state.live = publisher
    task = asyncio.create_task(publisher.run(), name="live-figures")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def attendance_changed(request: Request[Any, Any, Any], event_id: int) -> None:
    publisher: LivePublisher | None = getattr(request.app.state, "live", None)
    if publisher is not None:
        publisher.attendance_changed(event_id)


async def _messages(
    channels: ChannelsPlugin, settings: Settings
) -> AsyncGenerator[ServerSentEventMessage, None]:
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=100)
    subscriber = await channels.subscribe(CHANNEL)
    metrics.STREAM_CLIENTS.inc()
    try:
        async with subscriber.run_in_background(_enqueue_latest(queue)):
            first = await snapshot(settings, set())
            yield ServerSentEventMessage(
                data=msgspec.json.encode(first).decode(),
                event="figures",
                retry=RECONNECT_MS,
            )
            ends = time.monotonic() + STREAM_SECONDS
            while (left := ends - time.monotonic()) > 0:
                try:
                    data = await asyncio.wait_for(queue.get(), min(HEARTBEAT_SECONDS, left))
                except TimeoutError:
                    if time.monotonic() >= ends:
                        break
                    yield ServerSentEventMessage(comment="heartbeat", event="heartbeat", data="")
                    continue
                yield ServerSentEventMessage(data=data.decode(), event="figures")
    finally:
        metrics.STREAM_CLIENTS.dec()
        await channels.unsubscribe(subscriber)


def _enqueue_latest(queue: asyncio.Queue[bytes]) -> Any:
    async def put(data: bytes) -> None:
        if queue.full():  # a stalled reader: keep the newest figures
            queue.get_nowait()
        queue.put_nowait(data)

    return put


@get(
    "/api/v1/reach/stream",
    tags=["programme"],
    summary="Live reach and attendance (server-sent events, public)",
    description=(
        "A `figures` event on connect and on every change of the reach or of an event's "
        "attendance; a `heartbeat` every 15 s. The stream ends after 20 s (so that a "
        "restarting server is not held open); EventSource reconnects after 1 s."
    ),
)
async def reach_stream(request: Request[Any, Any, Any]) -> ServerSentEvent:
    channels = request.app.plugins.get(ChannelsPlugin)
    return ServerSentEvent(_messages(channels, request.app.state.settings))
