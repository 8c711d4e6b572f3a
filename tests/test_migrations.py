"""The committed migrations describe exactly the models (every backend is built from them)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, POSTGRES_URL_VAR, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent

PENDING_CHANGES = """
import asyncio
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from events_service.db import tortoise_config

async def main():
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    for writer in writers:
        print(writer.name if hasattr(writer, "name") else writer)

asyncio.run(main())
"""


def test_models_have_no_changes_missing_from_the_migrations() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PENDING_CHANGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", (
        "models changed without a migration; run `tortoise makemigrations`:\n" + result.stdout
    )


UPGRADE_WITH_ADMISSIONS = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from events_service.db import default_connection, init_db, tortoise_config
from events_service.programme.live import snapshot
from events_service.reach.counter import verify
from events_service.settings import Settings

URL = sys.argv[1]

async def main():
    await migrate(config=tortoise_config(URL), target="models.0002_programme_kpis")
    await Tortoise.close_connections()
    await init_db(URL)
    conn = default_connection()
    now = "2026-11-30 10:00:00+00:00"
    for n in range(2):
        await conn.execute_query(
            "INSERT INTO event (kind, title, description, venue, timezone, starts_at, ends_at,"
            " waitlist_enabled, status, confirmed_count, created_at, updated_at)"
            f" VALUES ('summit', 'E{n}', '', '', 'UTC', '{now}', '{now}', false, 'published',"
            f" 0, '{now}', '{now}')"
        )
    for n in range(5):
        await conn.execute_query(
            "INSERT INTO person (email, name, locale, created_at)"
            f" VALUES ('p{n}@example.org', 'P{n}', 'en', '{now}')"
        )
    event_ids = [r["id"] for r in await conn.execute_query_dict("SELECT id FROM event ORDER BY id")]
    people = [r["id"] for r in await conn.execute_query_dict("SELECT id FROM person ORDER BY id")]
    # Three people at the first event, all five at the second.
    for event_id, attendees in ((event_ids[0], people[:3]), (event_ids[1], people)):
        for person_id in attendees:
            await conn.execute_query(
                "INSERT INTO registration (person_id, event_id, status, manage_token, locale,"
                f" created_at, updated_at) VALUES ({person_id}, {event_id}, 'confirmed',"
                f" 't{event_id}-{person_id}', 'en', '{now}', '{now}')"
            )
    await conn.execute_query(
        "INSERT INTO admission (registration_id, person_id, event_id, gate, admitted_at)"
        f" SELECT id, person_id, event_id, 'A', '{now}' FROM registration"
    )
    await Tortoise.close_connections()

    await migrate(config=tortoise_config(URL))
    await Tortoise.close_connections()
    await init_db(URL)
    figures = await snapshot(Settings.from_env(), set(event_ids))
    print([figures["events"][str(e)]["admitted"] for e in event_ids])
    print((await verify()).actual.admitted_by_event == {event_ids[0]: 3, event_ids[1]: 5})
    await Tortoise.close_connections()

asyncio.run(main())
"""


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrading_counts_the_admissions_each_event_already_has(
    backend: str, tmp_path: Path
) -> None:
    """A database with admissions from before per-event counters: after `migrate`, the
    live figures show every event's admissions (the migration backfills them)."""

    def upgrade(url: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
        env.update({"EVENTS_DATABASE_URL": url, "EVENTS_DATA_DIR": str(tmp_path)})
        return subprocess.run(
            [sys.executable, "-c", UPGRADE_WITH_ADMISSIONS, url],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    if backend == "postgres":
        async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
            result = upgrade(url)
    else:
        result = upgrade(f"sqlite://{tmp_path / 'events.db'}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[3,", "5]", "True"]
