"""Registration throughput: our endpoint against a raw-asyncpg ceiling, same machine, same run.

    python bench/registration.py [--registrations 3000] [--clients 32] [--workers 2]
    python bench/registration.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres):
it creates a fresh database, migrates it with `events-service migrate`, starts
`events-service serve` with granian, and registers distinct people through one link
of one event whose capacity is half the registrations (the rest are waitlisted).
The ceiling runs the very SQL statements of our endpoint (link lookup, duplicate
check, organisation and person upsert, quota + seat + insert) on as many raw
asyncpg connections as there are clients: no HTTP, no ORM, no validation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events_service.registration.service import TAKE_PLACE_PG, TICKET_OF  # noqa: E402
from events_service.registration.upserts import (  # noqa: E402
    FIND_ORGANISATION,
    INSERT_ORGANISATION,
    UPSERT_PERSON,
)
from tests.server import cli_env, run_cli, server_process  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _create_database(base_url: str) -> tuple[str, str]:
    name = f"events_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(base_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return base_url.rsplit("/", 1)[0] + f"/{name}", name


async def _drop_database(base_url: str, name: str) -> None:
    admin = await asyncpg.connect(_dsn(base_url))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def _run_clients(
    total: int, clients: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """`clients` concurrent loops sharing `total` numbered jobs; wall time and latencies."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def client() -> None:
        for n in counter:
            started = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def _report(label: str, total: int, wall: float, latencies: list[float]) -> float:
    rate = total / wall
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(f"  {label:34} {rate:8.0f} registrations/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    return rate


async def _endpoint(base: str, total: int, clients: int, capacity: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": "bench@example.org", "password": "bench-password"}
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        start = datetime.now(UTC) + timedelta(days=7)
        event = (
            await http.post(
                "/api/v1/events",
                json={
                    "kind": "summit",
                    "title": "Benchmark summit",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=8)).isoformat(),
                    "capacity": capacity,
                    "waitlist_enabled": True,
                },
                headers=admin,
            )
        ).json()
        await http.post(f"/api/v1/events/{event['id']}/publish", headers=admin)
        link = (
            await http.post(
                f"/api/v1/events/{event['id']}/links", json={"label": "bench"}, headers=admin
            )
        ).json()
        failures: list[int] = []

        async def one(n: int) -> None:
            response = await http.post(
                f"/api/v1/register/{link['slug']}",
                json={
                    "name": f"Bench Person {n}",
                    "email": f"bench{n}@example.org",
                    "organisation": f"Org {n % 50}",
                    "consent": True,
                },
            )
            if response.status_code != 201:
                failures.append(response.status_code)

        wall, latencies = await _run_clients(total, clients, one)
        if failures:
            raise SystemExit(f"{len(failures)} registrations failed: {set(failures)}")
        rate = _report("endpoint (HTTP, granian, Tortoise)", total, wall, latencies)
        final = (await http.get(f"/api/v1/events/{event['id']}", headers=admin)).json()
    return rate, final["confirmed"]


LINK_SQL = "SELECT l.id, l.event_id FROM registration_link l WHERE l.slug = $1"


async def _ceiling(database_url: str, total: int, clients: int, capacity: int) -> float:
    setup = await asyncpg.connect(_dsn(database_url))
    event_id = await setup.fetchval(
        "INSERT INTO event (kind, title, description, venue, timezone, starts_at, ends_at, "
        "capacity, waitlist_enabled, status, confirmed_count, created_at, updated_at) VALUES "
        "('summit', 'Ceiling', '', '', 'UTC', now() + interval '7 days', "
        "now() + interval '8 days', $1, true, 'published', 0, now(), now()) RETURNING id",
        capacity,
    )
    slug = secrets.token_urlsafe(12)
    await setup.execute(
        "INSERT INTO registration_link (event_id, slug, label, used_count, active, created_at) "
        "VALUES ($1, $2, 'ceiling', 0, true, now())",
        event_id,
        slug,
    )
    pool = await asyncpg.create_pool(_dsn(database_url), min_size=clients, max_size=clients)

    async def one(n: int) -> None:
        # The statements our endpoint runs, verbatim, minus HTTP, ORM and validation.
        email, org = f"ceiling{n}@example.org", f"Org {n % 50}"
        now = datetime.now(UTC)
        async with pool.acquire() as conn:
            link_id, event = await conn.fetchrow(LINK_SQL, slug)
            if await conn.fetchrow(TICKET_OF, email, event):
                return
            async with conn.transaction():
                org_id = await conn.fetchval(FIND_ORGANISATION, org.casefold())
                if org_id is None:
                    org_id = await conn.fetchval(
                        INSERT_ORGANISATION, org, org.casefold(), "unspecified", now
                    ) or await conn.fetchval(FIND_ORGANISATION, org.casefold())
                person_id = await conn.fetchval(
                    UPSERT_PERSON, email, f"Ceiling {n}", None, None, org_id, "en", now
                )
                row = await conn.fetchrow(
                    TAKE_PLACE_PG, person_id, event, link_id, secrets.token_urlsafe(24), "en",
                    now, True,
                )  # fmt: skip
                if row["id"] is None:
                    raise RuntimeError("no place")

    wall, latencies = await _run_clients(total, clients, one)
    await pool.close()
    confirmed = await setup.fetchval("SELECT confirmed_count FROM event WHERE id = $1", event_id)
    await setup.close()
    if confirmed != capacity:
        raise SystemExit(f"ceiling oversold or undersold: {confirmed} != {capacity}")
    return _report("ceiling (raw asyncpg, no HTTP)", total, wall, latencies)


async def _database_confirmed(database_url: str) -> int:
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM registration r JOIN event e ON e.id = r.event_id "
            "WHERE e.title = 'Benchmark summit' AND r.status = 'confirmed'"
        )
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="200 registrations, 8 clients")
    args = parser.parse_args()
    if args.smoke:
        args.registrations, args.clients = 200, 8
    capacity = args.registrations // 2
    base_url = os.environ.get("EVENTS_BENCH_POSTGRES_URL", DEFAULT_URL)

    database_url, name = asyncio.run(_create_database(base_url))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            env = cli_env(
                database_url.replace("postgres://", "postgres://", 1)
                + f"?maxsize={max(4, args.clients // args.workers)}",
                work,
                EVENTS_REGISTRATIONS_PER_MINUTE="100000000",
            )
            for command in (
                ["migrate"],
                ["users", "create", "--email", "bench@example.org", "--password",
                 "bench-password", "--role", "admin"],
            ):  # fmt: skip
                done = run_cli(*command, env=env, cwd=work)
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
            print(
                f"{args.registrations} registrations of distinct people, {args.clients} "
                f"concurrent clients, capacity {capacity} + waitlist, {args.workers} workers"
            )
            with server_process(env, work, workers=args.workers) as base:
                rate, confirmed = asyncio.run(
                    _endpoint(base, args.registrations, args.clients, capacity)
                )
            ceiling = asyncio.run(
                _ceiling(database_url, args.registrations, args.clients, capacity)
            )
            in_database = asyncio.run(_database_confirmed(database_url))
    finally:
        asyncio.run(_drop_database(base_url, name))

    oversold = max(0, in_database - capacity)
    print(f"  endpoint / ceiling: {rate / ceiling:.0%}")
    print(f"  confirmed {in_database} of capacity {capacity}: oversold {oversold}")
    if oversold or confirmed != capacity:
        print("FAIL: the capacity was not respected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
