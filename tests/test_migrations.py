"""The committed migrations describe exactly the models (every backend is built from them)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import BACKENDS, POSTGRES_URL_VAR, _asyncpg_dsn, fresh_postgres_database

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


def _run_script(script: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter (its own Tortoise) on `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
    env.update({"EVENTS_DATABASE_URL": database_url, "EVENTS_DATA_DIR": str(data_dir)})
    return subprocess.run(
        [sys.executable, "-c", script, database_url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


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
    drift = await verify()  # the counters, against a recount of the admissions
    print(drift.counted.admitted_by_event == drift.actual.admitted_by_event
          == {event_ids[0]: 3, event_ids[1]: 5})
    await Tortoise.close_connections()

asyncio.run(main())
"""


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrading_counts_the_admissions_each_event_already_has(
    backend: str, tmp_path: Path
) -> None:
    """A database with admissions from before per-event counters: after `migrate`, the
    live figures show every event's admissions (the migration backfills them)."""

    if backend == "postgres":
        async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
            result = _run_script(UPGRADE_WITH_ADMISSIONS, url, tmp_path)
    else:
        result = _run_script(
            UPGRADE_WITH_ADMISSIONS, f"sqlite://{tmp_path / 'events.db'}", tmp_path
        )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[3,", "5]", "True"]


FIGURES_UNDER_COLLATION = """
import asyncio, sys
from datetime import date
from tortoise import Tortoise
from events_service.db import default_connection, execute, init_db, migrate
from events_service.reach.counter import read_figures, reached_since

URL = sys.argv[1]

async def main():
    await migrate(URL)
    await init_db(URL)
    conn = default_connection()
    await execute(conn, "INSERT INTO programme_tally (shard, admissions, talents)"
                  " VALUES (0, 9, 7)", [])
    await execute(conn, "INSERT INTO company_tally (shard, companies) VALUES (0, 2)", [])
    for day, kind, n in ((date(2026, 11, 1), "summit", 3), (date(2026, 11, 20), "summit", 4)):
        await execute(conn, "INSERT INTO talent_tally (day, event_kind, shard, talents)"
                      " VALUES ($1, $2, 0, $3)", [day, kind, n])
    for event_id, n in ((1, 5), (2, 4)):
        await execute(conn, "INSERT INTO event_tally (event_id, shard, admissions)"
                      " VALUES ($1, 0, $2)", [event_id, n])
    figures = await read_figures()
    print(figures.total, figures.admissions, figures.companies, figures.by_event_kind,
          figures.by_month, figures.by_day, figures.admitted_by_event)
    print(await reached_since(conn, date(2026, 11, 10)))
    await Tortoise.close_connections()

asyncio.run(main())
"""


async def test_figures_hold_in_a_database_with_a_linguistic_collation(tmp_path: Path) -> None:
    """Production databases are often created with a language's collation, which once
    broke the figures' string-key ranges ('day:…' sorted after 'day;'). The tallies are
    read by typed columns; the figures must hold whatever the default collation."""
    if "postgres" not in BACKENDS:
        pytest.skip(f"needs PostgreSQL ({POSTGRES_URL_VAR})")
    base = os.environ[POSTGRES_URL_VAR]
    admin = await asyncpg.connect(_asyncpg_dsn(base), timeout=10)
    name = f"events_icu_{os.getpid()}_{secrets.token_hex(3)}"
    await admin.execute(
        f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        " LOCALE 'C.UTF-8'"
    )
    try:
        url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
        result = _run_script(FIGURES_UNDER_COLLATION, url, tmp_path)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "7 9 2 {'summit': 7} {'2026-11': 7} {} {}",  # no days or events in the fast read
        "4",  # people first reached on or after 2026-11-10
    ]


UPGRADE_TO_TALLIES = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from events_service.db import default_connection, init_db, tortoise_config
from events_service.reach.counter import reached_since, read_figures, verify
from datetime import date

URL = sys.argv[1]

async def main():
    await migrate(config=tortoise_config(URL), target="models.0005_outbox_redeliveries")
    await Tortoise.close_connections()
    await init_db(URL)
    conn = default_connection()
    q = conn.execute_query
    stamp = "2026-11-30 10:00:00+00:00"
    await q("INSERT INTO organisation (name, name_key, kind, created_at, first_benefitted_at)"
            f" VALUES ('Acme', 'acme', 'company', '{stamp}', '2026-10-02 09:00:00+00:00')")
    (org,) = [r["id"] for r in await conn.execute_query_dict("SELECT id FROM organisation")]
    for n, kind in enumerate(("summit", "competition")):
        await q("INSERT INTO event (kind, title, description, venue, timezone, starts_at,"
                " ends_at, waitlist_enabled, status, confirmed_count, created_at, updated_at)"
                f" VALUES ('{kind}', 'E{n}', '', '', 'UTC', '{stamp}', '{stamp}', false,"
                f" 'published', 0, '{stamp}', '{stamp}')")
    summit, contest = [r["id"] for r in await conn.execute_query_dict(
        "SELECT id FROM event ORDER BY id")]
    # Four people: first at the summit on Oct 2 (two of them, one from Acme), at the
    # competition on Nov 20 (late at night in Shanghai: still Nov 20 in UTC), and one
    # who was at both (first at the competition); one admission per ticket.
    plan = [(1, org, [(summit, "2026-10-02 09:00:00+00:00")]),
            (2, None, [(summit, "2026-10-02 11:00:00+00:00")]),
            (3, None, [(contest, "2026-11-20 15:30:00+00:00")]),
            (4, None, [(contest, "2026-11-21 08:00:00+00:00"),
                       (summit, "2026-11-22 08:00:00+00:00")])]
    for n, organisation, visits in plan:
        org_sql = "NULL" if organisation is None else str(organisation)
        await q("INSERT INTO person (email, name, locale, organisation_id, created_at,"
                f" first_admitted_at) VALUES ('p{n}@example.org', 'P{n}', 'en', {org_sql},"
                f" '{stamp}', '{visits[0][1]}')")
        (person,) = [r["id"] for r in await conn.execute_query_dict(
            f"SELECT id FROM person WHERE email = 'p{n}@example.org'")]
        for event_id, at in visits:
            await q("INSERT INTO registration (person_id, event_id, status, manage_token,"
                    f" locale, created_at, updated_at) VALUES ({person}, {event_id},"
                    f" 'confirmed', 't{event_id}-{person}', 'en', '{stamp}', '{stamp}')")
            await q("INSERT INTO admission (registration_id, person_id, event_id, gate,"
                    f" admitted_at) SELECT id, person_id, event_id, 'A', '{at}'"
                    f" FROM registration WHERE manage_token = 't{event_id}-{person}'")
    # The old counters, as the old code kept them (all on shard 0 here).
    for key, value in (("total", 4), ("admissions", 5), ("companies", 1),
                       ("month:2026-10", 2), ("month:2026-11", 2), ("kind:summit", 2),
                       ("kind:competition", 2), ("day:2026-10-02", 2), ("day:2026-11-20", 1),
                       ("day:2026-11-21", 1), (f"event:{summit}", 3), (f"event:{contest}", 2)):
        await q(f"INSERT INTO reach_counter (key, shard, value) VALUES ('{key}', 0, {value})")
    await Tortoise.close_connections()

    await migrate(config=tortoise_config(URL))
    await Tortoise.close_connections()
    await init_db(URL)
    conn = default_connection()
    figures = await read_figures(with_days=True)
    print(figures.total, figures.admissions, figures.companies)
    print(figures.by_month, figures.by_event_kind)
    print(figures.by_day)
    print(sorted(figures.admitted_by_event.values()))
    print(await reached_since(conn, date(2026, 11, 21)))
    print((await verify()).exact)
    await Tortoise.close_connections()

asyncio.run(main())
"""


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrading_carries_the_counters_over_into_the_tallies(
    backend: str, tmp_path: Path
) -> None:
    """A database with admissions and the old string-keyed counters: after `migrate`,
    every figure reads as before, and the talents by day and kind of event are right."""
    if backend == "postgres":
        async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as url:
            result = _run_script(UPGRADE_TO_TALLIES, url, tmp_path)
    else:
        result = _run_script(UPGRADE_TO_TALLIES, f"sqlite://{tmp_path / 'events.db'}", tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "4 5 1",
        "{'2026-10': 2, '2026-11': 2} {'competition': 2, 'summit': 2}",
        "{'2026-10-02': 2, '2026-11-20': 1, '2026-11-21': 1}",
        "[2, 3]",
        "1",  # first reached on or after Nov 21: person 4
        "True",
    ]
