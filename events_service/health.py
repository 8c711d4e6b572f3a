"""Liveness and readiness: the service answers and its database does too."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import get
from tortoise import connections

from events_service import __version__
from events_service.errors import DomainError
from events_service.locale import N_, translatable

DATABASE_TIMEOUT_SECONDS = 2.0


class DatabaseUnavailable(DomainError):
    status_code = 503  # type: ignore[assignment]
    slug = "database-unavailable"
    title = N_("The database does not answer")


class HealthOut(msgspec.Struct):
    status: str
    database: str
    version: str


async def database_answers() -> bool:
    try:
        connection = connections.get("default")
        await asyncio.wait_for(
            connection.execute_query("SELECT 1"), timeout=DATABASE_TIMEOUT_SECONDS
        )
    except Exception:  # any failure means "not ready"; the reason is not the caller's business
        return False
    return True


@get("/health", tags=["health"], summary="Service and database health")
async def health() -> HealthOut:
    if not await database_answers():
        raise DatabaseUnavailable(
            translatable("The database does not answer; the service cannot work.")
        )
    return HealthOut(status="ok", database="ok", version=__version__)
