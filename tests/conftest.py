"""Test fixtures: the app on SQLite and (when configured) PostgreSQL, real HTTP, real users.

Database tests run once per backend: SQLite always, PostgreSQL when
EVENTS_TEST_POSTGRES_URL names a database on a server where we may create
databases. Under CI=true a missing or unreachable PostgreSQL fails the run
instead of skipping it. Each backend gets a fresh database built by our
migrations (not generate_schemas), so every run exercises the migrations; tables
are emptied between tests.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.contrib.test import truncate_all_models

from events_service.app import create_app
from events_service.auth.service import create_staff_user
from events_service.db import migrate
from events_service.settings import Settings
from models import StaffUser

POSTGRES_URL_VAR = "EVENTS_TEST_POSTGRES_URL"


def _own_redis_database_per_xdist_worker() -> None:
    """Under pytest-xdist (`make test`) each process gets its own Redis database
    number, so two modules running at once never share rate-limit counters, stores
    or live channels."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("EVENTS_TEST_REDIS_URL")
    if not url or not worker.startswith("gw"):
        return
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) + 1 + int(worker[2:])) % 16
    os.environ["EVENTS_TEST_REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))


_own_redis_database_per_xdist_worker()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery"


def _backends() -> list[str]:
    if os.environ.get(POSTGRES_URL_VAR):
        return ["sqlite", "postgres"]
    if IN_CI:
        raise pytest.UsageError(
            f"CI=true but {POSTGRES_URL_VAR} is not set: the PostgreSQL suite must run in CI"
        )
    return ["sqlite"]


BACKENDS = _backends()


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backends: {', '.join(BACKENDS)}"


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_postgres_database(base_url: str) -> AsyncIterator[str]:
    """A new, empty database next to the one `base_url` names; dropped afterwards."""
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(base_url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        # Loud on purpose: a configured PostgreSQL that does not answer is a broken run.
        pytest.fail(f"PostgreSQL at {base_url} is unreachable: {exc}", pytrace=False)
    base_name = urlsplit(base_url).path.lstrip("/") or "events"
    name = f"{base_name}_{os.getpid()}_{secrets.token_hex(3)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(base_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    # Tortoise caches compiled SQL per connection name, not per engine: switching
    # this process from SQLite to PostgreSQL must start with an empty cache.
    EXECUTOR_CACHE.clear()
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'events.db'}"
        await migrate(url)
        yield Backend("sqlite", url)
        return
    async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
        await migrate(url)
        yield Backend("postgres", url)


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "development",
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": secrets.token_urlsafe(48),
        "signing_key": secrets.token_bytes(32),
        "smtp_url": f"file://{data_dir / 'mail'}",
        "public_base_url": "http://testserver",
        # The shared app serves every test from one client address.
        "login_attempts_per_minute": 1_000_000,
        "registrations_per_minute": 1_000_000,
        # Tests drive delivery themselves (tests/test_notifications*.py).
        "outbox_worker_in_app": False,
        # The retention run is scheduled only where a test enables it.
        "retention_scheduled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def app_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the app's real lifespan (startup to shutdown) in a task of its own.

    Litestar's lifespan holds an anyio cancel scope that must be exited by the task
    that entered it; pytest-asyncio sets fixtures up and tears them down in
    different tasks, so the lifespan gets a task that lives across both.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # startup failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app's real lifespan plus an HTTP client speaking ASGI to it, in this loop."""
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest_asyncio.fixture(scope="session")
async def app(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Litestar]:
    application = create_app(make_settings(backend.database_url, tmp_path_factory.mktemp("data")))
    async with app_lifespan(application):
        yield application


@pytest_asyncio.fixture
async def db(app: Litestar, backend: Backend) -> AsyncIterator[Backend]:
    """A database session for one test: Tortoise is live, tables are emptied afterwards."""
    yield backend
    await truncate_all_models()


@pytest_asyncio.fixture
async def client(app: Litestar, db: Backend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


LoginAs = Callable[..., Awaitable[dict[str, str]]]


@pytest_asyncio.fixture
async def login_as(client: httpx.AsyncClient) -> LoginAs:
    """Create a staff user with the given roles, log in over HTTP, return auth headers."""

    async def login(*roles: str, email: str | None = None) -> dict[str, str]:
        address = email or f"{'-'.join(roles) or 'user'}-{secrets.token_hex(4)}@example.org"
        await create_staff_user(address, PASSWORD, roles)
        response = await client.post(
            "/api/v1/auth/login", json={"email": address, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        # The cookie would authenticate later requests on its own; tests say which they use.
        client.cookies.clear()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return login


@pytest_asyncio.fixture
async def admin(login_as: LoginAs) -> dict[str, str]:
    """Bearer headers of a freshly created organiser."""
    return await login_as("admin")


@pytest_asyncio.fixture
async def door(login_as: LoginAs) -> dict[str, str]:
    """Bearer headers of a freshly created door-staff user."""
    return await login_as("staff")


async def staff_count() -> int:
    return await StaffUser.all().count()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest_asyncio.fixture(params=BACKENDS)
async def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database, migrated by the real `events-service migrate`, for child processes."""
    from tests.server import cli_env, run_cli

    async def migrated(url: str) -> str:
        result = await asyncio.to_thread(
            run_cli, "migrate", env=cli_env(url, tmp_path), cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        return url

    if request.param == "sqlite":
        yield await migrated(f"sqlite://{tmp_path / 'server.db'}")
        return
    async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
        yield await migrated(url)
