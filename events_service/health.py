"""Liveness and readiness.

- `/health/live`: the process answers (no database, nothing shared): a supervisor
  restarts the process when this fails.
- `/health/ready`: the process can serve: the database answers, every migration in
  `migrations/` is applied (Tortoise records them in `tortoise_migrations`), Redis
  answers when configured, and the in-app outbox worker runs when it should. A load
  balancer sends traffic only while this is 200; a 503 problem document names the
  failing parts (`failing`) and gives each check's state (`checks`).
- `/health`: ready's alias, as it always was.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Awaitable
from functools import cache

import msgspec
from litestar import Request, get
from tortoise import connections

from events_service import __version__
from events_service.db import MIGRATIONS_MODULE
from events_service.errors import DomainError
from events_service.locale import N_, translatable
from events_service.settings import Settings

CHECK_TIMEOUT_SECONDS = 2.0
MIGRATIONS_APP = "models"

OK = "ok"
FAILED = "failed"
NOT_CONFIGURED = "not configured"
NOT_IN_APP = "not in app"


class NotReady(DomainError):
    """503: one or more parts the service needs do not work. The type names the first
    failing part in the order below (database before migrations, which need it)."""

    status_code = 503  # type: ignore[assignment]
    slug = "not-ready"
    title = N_("The service is not ready")


class DatabaseUnavailable(NotReady):
    slug = "database-unavailable"
    title = N_("The database does not answer")


class MigrationsPending(NotReady):
    slug = "migrations-pending"
    title = N_("The database schema is not up to date")


class RedisUnavailable(NotReady):
    slug = "redis-unavailable"
    title = N_("The shared store (Redis) does not answer")


class OutboxWorkerStopped(NotReady):
    slug = "outbox-worker-stopped"
    title = N_("The e-mail delivery worker has stopped")


_PROBLEM_BY_PART: dict[str, type[NotReady]] = {
    "database": DatabaseUnavailable,
    "migrations": MigrationsPending,
    "redis": RedisUnavailable,
    "outbox_worker": OutboxWorkerStopped,
}


class LiveOut(msgspec.Struct):
    status: str
    version: str


class HealthOut(msgspec.Struct):
    status: str
    database: str
    version: str
    checks: dict[str, str]


@cache
def migrations_on_disk() -> frozenset[str]:
    """The names of the migration modules shipped with this code (read once)."""
    package = importlib.import_module(MIGRATIONS_MODULE)
    return frozenset(
        name
        for _, name, is_pkg in pkgutil.iter_modules(package.__path__)
        if not is_pkg and name[0] not in "_~"
    )


async def _within_timeout(check: Awaitable[str]) -> str:
    try:
        return await asyncio.wait_for(check, timeout=CHECK_TIMEOUT_SECONDS)
    except Exception:  # any failure means "not ready"; the reason is not the caller's business
        return FAILED


async def _database() -> str:
    await connections.get("default").execute_query("SELECT 1")
    return OK


async def _migrations() -> str:
    _, rows = await connections.get("default").execute_query(
        "SELECT name FROM tortoise_migrations WHERE app = $1"
        if connections.get("default").capabilities.dialect == "postgres"
        else "SELECT name FROM tortoise_migrations WHERE app = ?",
        [MIGRATIONS_APP],
    )
    applied = {row["name"] for row in rows}
    return OK if migrations_on_disk() <= applied else FAILED


async def _redis(url: str) -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    finally:
        await client.aclose()
    return OK


def _outbox_worker(request: Request, settings: Settings) -> str:
    if not settings.outbox_worker_in_app:
        return NOT_IN_APP
    task: asyncio.Task[None] | None = getattr(request.app.state, "outbox_task", None)
    return OK if task is not None and not task.done() else FAILED


async def readiness(request: Request, settings: Settings) -> dict[str, str]:
    """Every check's state: ok, failed, or why it does not apply."""

    async def database_then_migrations() -> tuple[str, str]:
        database = await _within_timeout(_database())
        if database != OK:
            return database, FAILED  # unknown without a database: not ready either way
        return database, await _within_timeout(_migrations())

    async def redis() -> str:
        if not settings.redis_url:
            return NOT_CONFIGURED
        return await _within_timeout(_redis(settings.redis_url))

    (database, migrations), redis_state = await asyncio.gather(database_then_migrations(), redis())
    return {
        "database": database,
        "migrations": migrations,
        "redis": redis_state,
        "outbox_worker": _outbox_worker(request, settings),
    }


@get("/health/live", tags=["health"], summary="The process answers (no dependencies)")
async def health_live() -> LiveOut:
    return LiveOut(status=OK, version=__version__)


async def _ready(request: Request, settings: Settings) -> HealthOut:
    checks = await readiness(request, settings)
    failing = [part for part, state in checks.items() if state == FAILED]
    if failing:
        raise _PROBLEM_BY_PART[failing[0]](
            translatable("Not ready: %(parts)s.", parts=", ".join(failing)),
            extra={"failing": failing, "checks": checks},
        )
    return HealthOut(status=OK, database=OK, version=__version__, checks=checks)


@get("/health/ready", tags=["health"], summary="Ready to serve: database, migrations, Redis")
async def health_ready(request: Request) -> HealthOut:
    return await _ready(request, request.app.state.settings)


@get("/health", tags=["health"], summary="Service health (the same as /health/ready)")
async def health(request: Request) -> HealthOut:
    return await _ready(request, request.app.state.settings)


ROUTES = [health, health_live, health_ready]
