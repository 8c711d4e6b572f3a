"""Tortoise configuration, initialisation and schema migrations."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from models import MODEL_MODULES

MIGRATIONS_MODULE = "migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for one database: the single `models` app, UTC timestamps."""
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": list(MODEL_MODULES),
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("sqlite://"):
        # WAL lets readers run beside the single writer; the busy timeout makes
        # concurrent writers queue instead of failing with "database is locked".
        path = database_url.removeprefix("sqlite://")
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
                "busy_timeout": 10000,
            },
        }
    return database_url


async def init_db(database_url: str) -> None:
    # The global fallback lets request handlers, which run in tasks other than the
    # lifespan's, find the Tortoise context (see DESIGN.md, known pitfalls).
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    await init_db(database_url)
    try:
        yield
    finally:
        await close_db()


async def migrate(database_url: str) -> None:
    """Apply every pending migration under `migrations/` to the database."""
    await tortoise_migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


# For Tortoise's own CLI (`tortoise makemigrations`), named in pyproject.toml.
TORTOISE_ORM = tortoise_config(os.environ.get("EVENTS_DATABASE_URL", "sqlite://events.db"))
