"""Tortoise configuration, initialisation and schema migrations."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, Capabilities
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError
from tortoise.migrations.api import migrate as tortoise_migrate

from events_service.errors import quiet_outage_tracebacks
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
    config = expand_db_url(database_url)
    if config["engine"] == "tortoise.backends.asyncpg":
        config["credentials"]["connection_class"] = PooledConnection
    return config


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that goes back to the pool without a reset query.

    asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: one more round trip per statement outside a transaction, three
    per door scan. We never take session-level advisory locks, LISTEN, SET or DECLARE
    on pooled connections (live updates go through Litestar channels; transaction-level
    advisory locks end with their transaction), so there is nothing to reset; an open
    transaction is still rolled back by asyncpg before the reset query.
    """

    def get_reset_query(self) -> str:
        return ""


async def init_db(database_url: str) -> None:
    # While the database is away, asyncpg's pool logs a traceback per reconnection try.
    quiet_outage_tracebacks()
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


# Raw SQL for hot paths. The ORM builds each statement anew (a noticeable share of
# a request's CPU); these helpers run fixed SQL on the caller's connection.
#
# The one way the code base tells the engines apart: a statement is a `str` when both
# engines take the same text, or a `Query` holding each engine's form side by side.
# Both forms use PostgreSQL's `$n` placeholders: SQLite reads `$1` as a parameter
# named "1", so its values go as a mapping (a placeholder may repeat, in any order).
# Python that must differ by engine (one statement on PostgreSQL, several steps on
# SQLite) asks `engine_of(conn)`.


class Engine(StrEnum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


@dataclass(frozen=True, slots=True)
class Query:
    """One statement in the form each engine takes; None where an engine never runs it."""

    postgres: str | None
    sqlite: str | None

    def text(self, engine: Engine) -> str:
        text = self.postgres if engine is Engine.POSTGRES else self.sqlite
        if text is None:
            raise RuntimeError(f"This statement has no {engine} form: {self!r:.200}")
        return text

    @classmethod
    def postgres_only(cls, text: str) -> Query:
        return cls(postgres=text, sqlite=None)


def with_row_lock(sql: str, lock: str, rest: str = "") -> Query:
    """`sql`, then the row-lock clause `lock` on PostgreSQL only, then `rest`. SQLite has
    no row locks: its single writer holds the whole database until it commits."""
    return Query(postgres=f"{sql}\n{lock}{rest}", sqlite=f"{sql}{rest}")


Sql = str | Query


def per_engine(build: Callable[[Engine], str]) -> Query:
    """A Query whose forms `build` writes from one description, once, at import."""
    return Query(postgres=build(Engine.POSTGRES), sqlite=build(Engine.SQLITE))


def text_for(engine: Engine, sql: Sql) -> str:
    return sql if isinstance(sql, str) else sql.text(engine)


class Statements(Protocol):
    """What the raw-SQL helpers need of a connection: Tortoise's clients and transactions,
    or a HeldConnection."""

    capabilities: Capabilities

    async def execute_query_dict(self, query: str, values: Any = None) -> list[dict[str, Any]]: ...

    async def execute_query(self, query: str, values: Any = None) -> tuple[int, Sequence[Any]]: ...


def engine_of(conn: Statements) -> Engine:
    return Engine.POSTGRES if conn.capabilities.dialect == "postgres" else Engine.SQLITE


def for_engine(conn: Statements, sql: Sql, values: list[Any]) -> tuple[str, Any]:
    """The statement's text for the connection's engine, and its values as that engine's
    driver binds `$n`: a list for asyncpg, a mapping by number for SQLite."""
    if conn.capabilities.dialect == "postgres":
        return text_for(Engine.POSTGRES, sql), values
    return text_for(Engine.SQLITE, sql), {str(n): value for n, value in enumerate(values, 1)}


async def fetch_rows(conn: Statements, sql: Sql, values: list[Any]) -> list[dict[str, Any]]:
    # execute_query_dict always fetches; execute_query drops RETURNING rows on PostgreSQL.
    return await conn.execute_query_dict(*for_engine(conn, sql, values))


async def execute(conn: Statements, sql: Sql, values: list[Any]) -> int:
    """Run a statement; the number of rows it changed."""
    changed, _ = await conn.execute_query(*for_engine(conn, sql, values))
    return changed


def as_datetime(value: datetime | str) -> datetime:
    """A timestamp of a raw row: SQLite's rows carry the ISO text the ORM wrote."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def default_connection() -> BaseDBAsyncClient:
    """The pooled connection, for raw statements outside a transaction."""
    return connections.get("default")


class HeldConnection:
    """One pooled PostgreSQL connection kept for the few statements of one request.

    Tortoise's pooled client takes a connection from the pool and gives it back for
    every statement; holding one across a door scan's statements saves a pool round
    trip and Tortoise's per-call wrapping (about a twentieth of a scan's CPU).
    Statements autocommit as on the pooled client, and fail with Tortoise's
    exceptions, so callers catch the same errors whichever connection ran them.
    """

    def __init__(self, capabilities: Capabilities, raw: asyncpg.Connection) -> None:
        self.capabilities = capabilities
        self._raw = raw

    async def execute_query_dict(self, query: str, values: Any = None) -> list[dict[str, Any]]:
        try:
            return [dict(row) for row in await self._raw.fetch(query, *(values or ()))]
        except asyncpg.PostgresError as exc:
            _raise_translated(exc)
            raise

    async def execute_query(self, query: str, values: Any = None) -> tuple[int, Sequence[Any]]:
        try:
            status = await self._raw.execute(query, *(values or ()))
        except asyncpg.PostgresError as exc:
            _raise_translated(exc)
            raise
        # The status tag ends with the row count: "UPDATE 1", "INSERT 0 1".
        last = status.rsplit(" ", 1)[-1]
        return (int(last) if last.isdigit() else 0), []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[HeldConnection]:
        """A transaction on this same connection: a request holding one never waits
        for a second (which a full pool might not hand out)."""
        async with self._raw.transaction():
            yield self


def _raise_translated(exc: asyncpg.PostgresError) -> None:
    """Raise Tortoise's exception for `exc` as Tortoise's asyncpg client does; return
    for the errors it lets through unchanged."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        raise IntegrityError(exc) from exc
    if isinstance(exc, asyncpg.SyntaxOrAccessError | asyncpg.exceptions.DataError):
        raise OperationalError(exc) from exc
    if isinstance(exc, asyncpg.InvalidTransactionStateError):
        raise TransactionManagementError(exc) from exc


@asynccontextmanager
async def held_connection() -> AsyncIterator[Statements]:
    """On PostgreSQL, one pooled connection for the statements of the block (a
    HeldConnection); on SQLite, whose client has a single connection, that client."""
    pooled = default_connection()
    if engine_of(pooled) is not Engine.POSTGRES:
        yield pooled
        return
    async with pooled.acquire_connection() as raw:
        yield HeldConnection(pooled.capabilities, raw)
