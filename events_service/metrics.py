"""Prometheus metrics: every metric object of the service, and GET /metrics.

Request figures come from Litestar's Prometheus plugin (`litestar.plugins.prometheus`):
`events_requests_total`, `events_request_duration_seconds`,
`events_requests_error_total` (5xx) and `events_requests_in_progress`, labelled by
method, route template (`path`: `/t/{token}`, never the path itself, which may
hold a ticket token) and status. `/metrics`, `/health*` and the live stream (whose
"duration" is the connection's life; it has its own gauge) are left out.

The service's own figures, each counted at the one place it happens:
- `events_scans_total{verdict, gate}`: every scan answered (checkin.service.scan);
- `events_registrations_total{outcome}`: confirmed, waitlisted, duplicate, refused
  (registration.service.register, after the commit);
- `events_outbox_delivery_attempts_total` and `events_outbox_delivery_failures_total
  {final}` (notifications.worker, where a message is sent);
- `events_stream_clients`: open live dashboard streams (programme.live);
- `events_db_pool_connections{state}`: asyncpg pool connections in use and idle,
  sampled every few seconds per process and at each scrape (PostgreSQL only);
- `events_outbox_messages{status}` and `events_outbox_oldest_pending_age_seconds`,
  read from the database at scrape time with one query (outbox_figures), and
  `events_database_up` (0 when that query failed: the rest of the scrape still comes).

Several granian workers share the figures through prometheus_client's multiprocess
mode: `events-service serve` empties `PROMETHEUS_MULTIPROC_DIR` before the workers
start (events_service.cli), each worker writes its values to files there, a scrape of
any worker adds them up. A stopping worker removes its live gauges
(`mark_process_dead`); a starting one removes those of workers that died without.

`/metrics` needs `Authorization: Bearer <EVENTS_METRICS_TOKEN>`; without the setting
it does not exist (404) and no request figures are kept.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.plugins.prometheus.middleware import PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from tortoise import connections, timezone

from events_service.db import Engine, as_datetime, default_connection, engine_of, fetch_rows
from events_service.errors import DomainError
from events_service.locale import N_, translatable
from events_service.settings import Settings
from models.enums import OutboxStatus, ScanVerdict

log = logging.getLogger("events_service.metrics")

PREFIX = "events"
METRICS_PATH = "/metrics"
MULTIPROC_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"
# Staff type gate names freely: a label value is cut to this length.
GATE_LABEL_CHARS = 32
# Children cached per (verdict, gate); past this many gates they are looked up afresh.
_MAX_CACHED_GATES = 1024
POOL_SAMPLE_SECONDS = 5.0
# How long a scrape waits for the outbox figures (Prometheus times out at 10 s).
DATABASE_SECONDS = 2.0
# Latency buckets (seconds): fine below 100 ms where a door scan lives, 0.5 s for the
# scan alert's threshold, up to the slow console pages.
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0]


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VAR) or os.environ.get(MULTIPROC_DIR_VAR.lower())


# -- the service's own figures ---------------------------------------------------------

SCANS = Counter(f"{PREFIX}_scans", "Door scans answered, by verdict and gate", ["verdict", "gate"])
REGISTRATIONS = Counter(
    f"{PREFIX}_registrations",
    "Registration requests by outcome: confirmed, waitlisted, duplicate (already "
    "registered: ticket mailed again), refused (closed, sold out, unknown link, ...)",
    ["outcome"],
)
DELIVERY_ATTEMPTS = Counter(
    f"{PREFIX}_outbox_delivery_attempts", "Outbox messages this process tried to send"
)
DELIVERY_FAILURES = Counter(
    f"{PREFIX}_outbox_delivery_failures",
    "Failed send attempts; final=true when the message will not be tried again",
    ["final"],
)
STREAM_CLIENTS = Gauge(
    f"{PREFIX}_stream_clients",
    "Open live dashboard streams (/api/v1/reach/stream)",
    multiprocess_mode="livesum",
)
DB_POOL = Gauge(
    f"{PREFIX}_db_pool_connections",
    "Database pool connections (PostgreSQL), in use and idle, over live processes",
    ["state"],
    multiprocess_mode="livesum",
)

_scan_children: dict[tuple[str, str], Counter] = {}
_registration_children = {outcome: REGISTRATIONS.labels(outcome) for outcome in
                          ("confirmed", "waitlisted", "duplicate", "refused")}  # fmt: skip
_failure_children = {final: DELIVERY_FAILURES.labels(str(final).lower()) for final in (True, False)}
_pool_children = {state: DB_POOL.labels(state) for state in ("in_use", "idle")}


def scanned(verdict: ScanVerdict, gate: str) -> None:
    """Count one answered scan: 1.4 us, 2.5 us in multiprocess mode (the child is cached)."""
    key = (verdict.value, gate)
    child = _scan_children.get(key)
    if child is None:
        child = SCANS.labels(verdict.value, gate[:GATE_LABEL_CHARS])
        if len(_scan_children) < _MAX_CACHED_GATES * len(ScanVerdict):
            _scan_children[key] = child
    child.inc()


def registered(outcome: str) -> None:
    _registration_children[outcome].inc()


def delivery_attempted() -> None:
    DELIVERY_ATTEMPTS.inc()


def delivery_failed(final: bool) -> None:
    _failure_children[final].inc()


def sample_pool() -> None:
    """Set this process's pool gauge from asyncpg's pool (nothing on SQLite)."""
    try:
        pool = getattr(connections.get("default"), "_pool", None)
    except Exception:  # Tortoise not initialised (yet, or any more)
        return
    if pool is None or not hasattr(pool, "get_idle_size"):
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    _pool_children["in_use"].set(size - idle)
    _pool_children["idle"].set(idle)


# -- the figures read from the database at scrape time ---------------------------------

_UNSENT = ("pending", "sending", "failed")
# One pass over the (status, due_at) index; sent rows, the many, are not counted.
# `oldest_due`: of the messages waiting to go out (pending, or sending with a lapsed
# lease), the earliest due time already past: how long the oldest has been kept waiting.
_OUTBOX_FIGURES = """
SELECT status, count(*) AS n, min(CASE WHEN due_at <= $1 THEN due_at END) AS oldest_due
FROM outbox_message WHERE status IN ('pending', 'sending', 'failed') GROUP BY status
"""


async def outbox_figures() -> list[Metric]:
    now = timezone.now()
    conn = default_connection()
    # SQLite compares the ISO text the ORM writes; PostgreSQL a timestamptz.
    rows = await fetch_rows(
        conn, _OUTBOX_FIGURES, [now if engine_of(conn) is Engine.POSTGRES else now.isoformat()]
    )
    counts = dict.fromkeys(_UNSENT, 0)
    oldest: datetime | None = None
    for row in rows:
        counts[row["status"]] = row["n"]
        if row["status"] != OutboxStatus.FAILED and row["oldest_due"] is not None:
            due = as_datetime(row["oldest_due"])
            oldest = due if oldest is None else min(oldest, due)
    messages = GaugeMetricFamily(
        f"{PREFIX}_outbox_messages", "Outbox messages not sent, by status", labels=["status"]
    )
    for status, count in counts.items():
        messages.add_metric([status], count)
    age = GaugeMetricFamily(
        f"{PREFIX}_outbox_oldest_pending_age_seconds",
        "Seconds the oldest message waiting to be sent has been due (0: none waiting)",
        value=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )
    return [messages, age]


async def database_figures() -> list[Metric]:
    """The outbox figures and `events_database_up` 1; while the database does not
    answer (within DATABASE_SECONDS), only `events_database_up` 0: the scrape still
    shows every process figure (the 5xx of an outage above all)."""
    up = GaugeMetricFamily(
        f"{PREFIX}_database_up", "1 when the scrape's database query answered, else 0"
    )
    try:
        figures = await asyncio.wait_for(outbox_figures(), DATABASE_SECONDS)
    except Exception as error:
        log.warning("metrics: the outbox figures could not be read: %s", type(error).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [*figures, up]


class _Scrape:
    """What one scrape shows: the process's (or all workers') figures, then these."""

    def __init__(self, extra: list[Metric]) -> None:
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        if multiprocess_dir():
            yield from multiprocess.MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call]
        else:
            yield from REGISTRY.collect()
        yield from self._extra


# -- the request figures (Litestar's plugin) -------------------------------------------


class RequestMetrics(PrometheusMiddleware):
    """The plugin's middleware, its metrics and labels, with two changes:

    - a request refused by a middleware after this one (the login token's 401) is
      counted with that status, not as the 200 the plugin would assume;
    - the metric children of a (method, route, status) are looked up once, not
      four times per request.
    """

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._in_progress: dict[tuple[str, str], Any] = {}
        # All four families exist from the start (the plugin makes each on first use): a
        # scrape before the first 5xx already names events_requests_error_total.
        labels = self._labels("GET", "/", 200)
        for make in (self.request_count, self.request_time, self.requests_in_progress,
                     self.requests_error_count):  # fmt: skip
            make(labels)

    def _labels(self, method: str, route: str, status: int) -> dict[str, str | int | float]:
        return {"method": method, "path": route, "status_code": status,
                "app_name": self._config.app_name}  # fmt: skip

    def _done(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = self._labels(method, route, status)
            values = list(labels.values())
            errors = self.requests_error_count(labels).labels(*values) if status >= 500 else None
            children = (
                self.request_count(labels).labels(*values),
                self.request_time(labels).labels(*values),
                errors,
            )
            self._children[key] = children
        return children

    def _running(self, method: str, route: str) -> Any:
        key = (method, route)
        child = self._in_progress.get(key)
        if child is None:
            labels = self._labels(method, route, 200)
            child = self.requests_in_progress(labels).labels(*labels.values())
            self._in_progress[key] = child
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        route = scope.get("path_template") or "unmatched"
        status = 500
        started = time.perf_counter()

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        running = self._running(method, route)
        running.inc()
        try:
            await self.app(scope, receive, counting_send)
        except Exception as exc:
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            running.dec()
            count, duration, errors = self._done(method, route, status)
            count.inc()
            duration.observe(time.perf_counter() - started)
            if errors is not None:
                errors.inc()


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="events-service",
        prefix=PREFIX,
        group_path=True,
        buckets=BUCKETS,  # type: ignore[arg-type]
        scopes={"http"},  # type: ignore[arg-type]
        exclude=[f"^{METRICS_PATH}$", "^/health", "^/api/v1/reach/stream$"],
        middleware_class=RequestMetrics,
    )


# -- GET /metrics -----------------------------------------------------------------------


class MetricsTokenRequired(DomainError):
    status_code = 401  # type: ignore[assignment]
    slug = "metrics-token-required"
    title = N_("The metrics token is missing or wrong")
    headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def _presented_token(request: Request[Any, Any, Any]) -> bytes:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" else b""


class MetricsController(PrometheusController):
    """The plugin's controller behind the metrics token, with the database's figures."""

    path = METRICS_PATH
    include_in_schema = False

    @get()
    async def get(self, request: Request[Any, Any, Any]) -> Response:  # type: ignore[override]
        settings: Settings = request.app.state.settings
        if not settings.metrics_token:
            raise NotFoundException()
        if not hmac.compare_digest(_presented_token(request), settings.metrics_token.encode()):
            raise MetricsTokenRequired(
                translatable("Send the metrics token as a bearer token (EVENTS_METRICS_TOKEN).")
            )
        sample_pool()
        body = generate_latest(_Scrape(await database_figures()))  # type: ignore[arg-type]
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# -- the worker processes' lifecycle ----------------------------------------------------

_FILE_PID = re.compile(r"_(\d+)\.db$")


def forget_dead_workers(directory: str) -> None:
    """Remove the live gauges of processes that are gone (a crashed worker's)."""
    pids = {int(m.group(1)) for f in Path(directory).glob("gauge_live*_*.db")
            if (m := _FILE_PID.search(f.name))}  # fmt: skip
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


async def _sample_pool_every(seconds: float) -> None:
    while True:
        sample_pool()
        await asyncio.sleep(seconds)


@asynccontextmanager
async def worker_metrics(settings: Settings) -> AsyncIterator[None]:
    """Inside the database lifespan: sample the pool; tidy the multiprocess files."""
    if not settings.metrics_token:
        yield
        return
    directory = multiprocess_dir()
    if directory:
        forget_dead_workers(directory)
    sampler = asyncio.create_task(_sample_pool_every(POOL_SAMPLE_SECONDS))
    try:
        yield
    finally:
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
        if directory:
            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
