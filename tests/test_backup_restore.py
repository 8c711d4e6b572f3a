"""Backups that restore (issue 21): a database with registrations, admissions, a
judged round with published winners and queued e-mails is backed up with the real
tools (`pg_dump -Fc` / `pg_restore`; SQLite's online backup API, which is what the
`sqlite3` shell's `.backup` runs), restored into a NEW database, and served by a new
process with the same keys: every table holds the same rows, `reach verify` finds no
drift, the winner chain verifies, old tickets and staff tokens still work, and new
rows do not collide with restored ones.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import httpx
from litestar import Litestar

from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import POSTGRES_URL_VAR, Backend, LoginAs, fresh_postgres_database
from tests.factories import attendee
from tests.judging_helpers import API, closed_final_round, ok
from tests.server import cli_env, run_cli, server_process


def _libpq_url(url: str) -> str:
    """The URL without our own query options (pool sizes), as pg_dump reads it."""
    return url.split("?", 1)[0]


async def _row_counts(url: str) -> dict[str, int]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            tables = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
    conn = await asyncpg.connect("postgresql://" + _libpq_url(url).split("://", 1)[1])
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}  # noqa: S608
    finally:
        await conn.close()


def _pg_backup_and_restore(source: str, target: str, dump: Path) -> None:
    """The documented procedure (README, "Backups"), verbatim."""
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), _libpq_url(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq_url(target), str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _sqlite_backup(source: str, target: str) -> None:
    """The online backup API: consistent while the service keeps running."""
    with sqlite3.connect(source.removeprefix("sqlite://")) as live:
        with sqlite3.connect(target.removeprefix("sqlite://")) as copy:
            live.backup(copy)
        copy.close()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_a_backup_restored_into_a_new_database_keeps_every_invariant(
    app: Litestar, client: httpx.AsyncClient, db: Backend, login_as: LoginAs, tmp_path: Path
) -> None:
    admin = await login_as("admin")
    door = await login_as("staff")
    # Registrations (each queues its ticket e-mail in the outbox) and admissions at
    # two events, one person at both: the reach counts them once.
    summit = await event_now(client, admin, title="Summit")
    salon = await event_now(client, admin, title="Salon", kind="competition")
    summit_slug, salon_slug = (
        await link_for(client, admin, summit),
        await link_for(client, admin, salon),
    )
    tickets = [await ticket_for(app, client, summit, summit_slug, n) for n in range(5)]
    again = await ticket_for(app, client, salon, salon_slug, 0)  # person 0 again
    for ticket, event in [*((t, summit) for t in tickets[:3]), (again, salon)]:
        body = {"event_id": event["id"], "gate": "A", "code": ticket.code}
        scanned = ok(await client.post(f"{API}/checkins", json=body, headers=door))
        assert scanned["verdict"] == "admitted"
    # A judged round with published winners (a hash chain).
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))

    reach_before = ok(await client.get(f"{API}/reach"))
    assert reach_before["talents_reached"] == 3
    chain_before = ok(await client.get(f"{API}/winners/verify"))
    assert chain_before["valid"] is True and chain_before["records"] == 3
    counts_before = await _row_counts(db.database_url)
    assert counts_before["outbox_message"] >= 6 and counts_before["winner_record"] == 3

    async def restored_into(target: str) -> dict[str, int]:
        if db.name == "postgres":
            await asyncio.to_thread(
                _pg_backup_and_restore, db.database_url, target, tmp_path / "events.dump"
            )
        else:
            await asyncio.to_thread(_sqlite_backup, db.database_url, target)
        return await _row_counts(target)

    async def check(target: str) -> None:
        assert await restored_into(target) == counts_before
        settings = app.state.settings
        # The keys are part of the backup: without the same EVENTS_SIGNING_KEY no
        # ticket verifies; without EVENTS_SECRET_KEY every staff token is refused.
        env = cli_env(
            target,
            tmp_path,
            EVENTS_SECRET_KEY=settings.secret_key,
            EVENTS_SIGNING_KEY=_b64(settings.signing_key),
            EVENTS_OUTBOX_WORKER_IN_APP="false",
        )
        verify = await asyncio.to_thread(run_cli, "reach", "verify", env=env, cwd=tmp_path)
        assert verify.returncode == 0 and "no drift" in verify.stdout, verify.stdout
        with server_process(env, tmp_path) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                assert (await http.get("/health/ready")).status_code == 200
                assert ok(await http.get(f"{API}/reach")) == reach_before
                assert ok(await http.get(f"{API}/winners/verify")) == chain_before
                # An old ticket: the signature verifies and the admission is remembered.
                body = {"event_id": summit["id"], "gate": "B", "code": tickets[0].code}
                old = ok(await http.post(f"{API}/checkins", json=body, headers=door))
                assert old["verdict"] == "already_admitted"
                body["code"] = tickets[3].code
                new = ok(await http.post(f"{API}/checkins", json=body, headers=door))
                assert new["verdict"] == "admitted"
                # New rows get new ids (the sequences came along).
                registered = await http.post(
                    f"{API}/register/{summit_slug}", json=attendee("after-restore")
                )
                assert registered.status_code == 201, registered.text
                reach_after = ok(await http.get(f"{API}/reach"))
                assert reach_after["talents_reached"] == 4
                outbox = ok(await http.get(f"{API}/outbox", headers=admin))
                assert len(outbox["items"]) == counts_before["outbox_message"] + 1
        verify = await asyncio.to_thread(run_cli, "reach", "verify", env=env, cwd=tmp_path)
        assert verify.returncode == 0 and "no drift" in verify.stdout, verify.stdout

    if db.name == "postgres":
        async with fresh_postgres_database(os.environ[POSTGRES_URL_VAR]) as target:
            await check(target)
    else:
        await check(f"sqlite://{tmp_path / 'restored.db'}")
