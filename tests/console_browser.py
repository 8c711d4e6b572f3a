"""One server and one logged-in Chromium per console test module.

`console_server()` runs the real `events-service serve` on a fresh database with an
organiser account; `organiser_page()` is a phone-sized Chromium page logged in as
that organiser through the login form. Both are context managers for module-scoped
fixtures, so a module's tests share one server and one browser."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser import chromium_page
from tests.conftest import POSTGRES_URL_VAR, fresh_postgres_database
from tests.server import cli_env, run_cli, server_process

ORGANISER = ("organiser@example.org", "organiser-password")


def server_database(backend: str, tmp: Path) -> Iterator[str]:
    """A database URL for a server process on `backend` ("sqlite": a file in `tmp`;
    "postgres": a fresh database, dropped afterwards). A generator: `for url in ...`."""
    if backend == "sqlite":
        yield f"sqlite://{tmp / 'server.db'}"
        return
    # One loop for the database's creation and its drop (asyncpg stays on its loop), in
    # a thread of its own: Playwright's sync API may already run a loop in this one.
    loop = asyncio.new_event_loop()
    fresh = fresh_postgres_database(os.environ[POSTGRES_URL_VAR])
    with ThreadPoolExecutor(max_workers=1) as thread:
        try:
            yield thread.submit(loop.run_until_complete, fresh.__aenter__()).result()
        finally:
            thread.submit(loop.run_until_complete, fresh.__aexit__(None, None, None)).result()
            loop.close()


@contextmanager
def console_server(data_dir: Path, database_url: str | None = None) -> Iterator[str]:
    """The service on `database_url` (default: a SQLite file in `data_dir`), migrated,
    with the ORGANISER account; yields its base URL."""
    env = cli_env(database_url or f"sqlite://{data_dir / 'console.db'}", data_dir)
    migrated = run_cli("migrate", env=env, cwd=data_dir)
    assert migrated.returncode == 0, migrated.stderr
    created = run_cli(
        "users", "create", "--email", ORGANISER[0], "--password", ORGANISER[1],
        "--role", "admin", "--name", "Olga Organiser", env=env, cwd=data_dir,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    with server_process(env, data_dir) as base:
        yield base


def log_in(page: Any, base: str, email: str, password: str, target: str = "/admin") -> None:
    """Through the login form, as a person does: the page sends them back to `target`."""
    page.goto(f"{base}{target}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


@contextmanager
def organiser_page(base: str) -> Iterator[Any]:
    with chromium_page() as page:
        log_in(page, base, *ORGANISER)
        yield page
