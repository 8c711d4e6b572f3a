"""Registration throughput: our endpoint against a raw-asyncpg ceiling, same machine, same run.

    python bench/registration.py [--registrations 3000] [--clients 32] [--workers 2]
    python bench/registration.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres):
it creates a fresh database, migrates it with `events-service migrate`, starts
`events-service serve` with granian, and registers distinct people through one link
of one event whose capacity is half the registrations (the rest are waitlisted).
The ceiling runs the very SQL statements of our endpoint (the link look-up, then the
one statement that checks for a duplicate, finds or creates the organisation, takes
quota and seat, upserts the person and inserts the registration and the ticket
e-mail's outbox row) on as many raw asyncpg connections as there are clients: no
HTTP, no ORM, no validation. E-mail delivery runs elsewhere (see bench/outbox.py).
Beside each rate: the CPU PostgreSQL spent per registration while it was measured
(all its processes on this machine, read from /proc), and the service's (the
granian processes) or the ceiling's own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from common import (  # isort: skip
    CpuMeter,
    KeepAliveClient,
    admin_headers,
    dsn,
    raw_pool,
    report,
    run_clients,
    run,
    running_service,
    scratch_database,
)
from events_service.identity import organisation_key
from events_service.registration.statements import REGISTER_PG


async def _event_and_link(
    http: httpx.AsyncClient, admin: dict[str, str], title: str, capacity: int | None
) -> tuple[dict, dict]:
    start = datetime.now(UTC) + timedelta(days=7)
    event = (
        await http.post(
            "/api/v1/events",
            json={
                "kind": "summit",
                "title": title,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=8)).isoformat(),
                "capacity": capacity,
                "waitlist_enabled": True,
            },
            headers=admin,
        )
    ).json()
    await http.post(f"/api/v1/events/{event['id']}/publish", headers=admin)
    links = f"/api/v1/events/{event['id']}/links"
    link = (await http.post(links, json={"label": "bench"}, headers=admin)).json()
    return event, link


ENDPOINT = "endpoint (HTTP, granian, Tortoise)"
CEILING = "ceiling (raw asyncpg, no HTTP)"


async def _endpoint(
    base: str, database_url: str, total: int, clients: int, capacity: int, warmup: int
) -> tuple[float, int]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        admin = await admin_headers(http)
        _, warm_link = await _event_and_link(http, admin, "Warm-up", None)
        event, link = await _event_and_link(http, admin, "Benchmark summit", capacity)
    connections = [KeepAliveClient(base) for _ in range(clients)]
    free = list(connections)
    failures: list[int] = []

    def registering(slug: str, who: str) -> Callable[[int], Awaitable[None]]:
        async def one(n: int) -> None:
            client = free.pop()
            body = {
                "name": f"Bench Person {n}",
                "email": f"{who}{n}@example.org",
                "organisation": f"Org {n % 50}",
                "consent": True,
            }
            status, _ = await client.request(
                "POST", f"/api/v1/register/{slug}", json.dumps(body).encode()
            )
            free.append(client)
            if status != 201:
                failures.append(status)

        return one

    # Steady state, as a server that has been up a while: connections open, statements
    # prepared. (A cold start put its first tenth of a second at the top of the p99.)
    await run_clients(warmup, clients, registering(warm_link["slug"], "warm"))
    cpu = CpuMeter(database_url)
    with cpu.measuring(ENDPOINT):
        wall, latencies = await run_clients(total, clients, registering(link["slug"], "bench"))
    for client in connections:
        await client.close()
    if failures:
        raise SystemExit(f"{len(failures)} registrations failed: {set(failures)}")
    rate = report(ENDPOINT, "registrations", total, wall, latencies)
    cpu.report(ENDPOINT, "registration", total, service="service CPU (granian processes)")
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        admin = await admin_headers(http)
        final = (await http.get(f"/api/v1/events/{event['id']}", headers=admin)).json()
    return rate, final["confirmed"]


LINK_SQL = "SELECT l.id, l.event_id FROM registration_link l WHERE l.slug = $1"


async def _raw_event_and_link(setup: asyncpg.Connection, capacity: int | None) -> tuple[int, str]:
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
    return event_id, slug


async def _ceiling(
    database_url: str, total: int, clients: int, capacity: int, connections: int, warmup: int
) -> float:
    setup = await asyncpg.connect(dsn(database_url))
    _, warm_slug = await _raw_event_and_link(setup, None)
    event_id, slug = await _raw_event_and_link(setup, capacity)
    pool = await raw_pool(database_url, connections)

    def registering(slug: str, who: str) -> Callable[[int], Awaitable[None]]:
        async def one(n: int) -> None:
            # The statements our endpoint runs, verbatim, minus HTTP, ORM and validation.
            email, org = f"{who}{n}@example.org", f"Org {n % 50}"
            now = datetime.now(UTC)
            async with pool.acquire() as conn:
                link_id, event = await conn.fetchrow(LINK_SQL, slug)
                row = await conn.fetchrow(
                    REGISTER_PG.postgres, email, f"Ceiling {n}", None, None, org,
                    organisation_key(org), "en", now, event, link_id, secrets.token_urlsafe(24),
                    True, hashlib.sha256(email.encode()).hexdigest(),
                )  # fmt: skip
                if row["id"] is None:
                    raise RuntimeError("no place")

        return one

    await run_clients(warmup, clients, registering(warm_slug, "ceiling-warm"))
    cpu = CpuMeter(database_url)
    with cpu.measuring(CEILING):
        wall, latencies = await run_clients(total, clients, registering(slug, "ceiling"))
    await pool.close()
    confirmed = await setup.fetchval("SELECT confirmed_count FROM event WHERE id = $1", event_id)
    await setup.close()
    if confirmed != capacity:
        raise SystemExit(f"ceiling oversold or undersold: {confirmed} != {capacity}")
    rate = report(CEILING, "registrations", total, wall, latencies)
    cpu.report(CEILING, "registration", total, own="ceiling's own CPU")
    return rate


async def _database_confirmed(database_url: str) -> int:
    conn = await asyncpg.connect(dsn(database_url))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM registration r JOIN event e ON e.id = r.event_id "
            "WHERE e.title = 'Benchmark summit' AND r.status = 'confirmed'"
        )
    finally:
        await conn.close()


async def _history(database_url: str, people: int) -> None:
    """A database that has seen earlier events: `people` people from 500 organisations,
    registered at a past event, analysed. An empty database would have the planner
    choose for empty tables and keep those plans for the whole run."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "organisation",
            columns=["name", "name_key", "kind", "created_at"],
            records=[(f"Past Org {n}", f"past org {n}", "unspecified", now) for n in range(500)],
        )
        orgs = [r["id"] for r in await conn.fetch("SELECT id FROM organisation ORDER BY id")]
        await conn.copy_records_to_table(
            "person",
            columns=["email", "name", "locale", "organisation_id", "created_at"],
            records=[
                (f"past{n}@example.org", f"Past {n}", "en", orgs[n % len(orgs)], now)
                for n in range(people)
            ],
        )
        event = await conn.fetchval(
            "INSERT INTO event (kind, title, description, venue, timezone, starts_at, ends_at, "
            "capacity, waitlist_enabled, status, confirmed_count, created_at, updated_at) VALUES "
            "('summit', 'Past summit', '', '', 'UTC', now() - interval '30 days', "
            "now() - interval '29 days', NULL, false, 'closed', $1, now(), now()) RETURNING id",
            people,
        )
        await conn.execute(
            "INSERT INTO registration (person_id, event_id, status, manage_token, locale, "
            "consent_at, created_at, updated_at) SELECT id, $1, 'confirmed', md5(id::text), "
            "'en', now(), now(), now() FROM person",
            event,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pool", type=int, default=0,
        help="database connections per worker; the ceiling gets as many in all (0: one per client)",
    )  # fmt: skip
    parser.add_argument(
        "--history", type=int, default=20_000, help="people already in the database"
    )
    parser.add_argument("--warmup", type=int, default=500, help="registrations not measured")
    parser.add_argument("--smoke", action="store_true", help="200 registrations, 8 clients")
    args = parser.parse_args()
    if args.smoke:
        args.registrations, args.clients, args.history, args.warmup = 200, 8, 1000, 50
    capacity = args.registrations // 2

    print(
        f"{args.registrations} registrations of distinct people, {args.clients} "
        f"concurrent clients, capacity {capacity} + waitlist, {args.workers} workers, "
        f"{args.history} people in the database before"
    )
    with scratch_database() as database_url:
        pool = args.pool or None
        with running_service(database_url, args.clients, args.workers, pool) as base:
            run(_history(database_url, args.history))
            rate, confirmed = run(
                _endpoint(
                    base, database_url, args.registrations, args.clients, capacity, args.warmup
                )
            )
        connections = args.pool * args.workers if args.pool else args.clients
        ceiling = run(
            _ceiling(
                database_url, args.registrations, args.clients, capacity, connections, args.warmup
            )
        )
        in_database = run(_database_confirmed(database_url))

    oversold = max(0, in_database - capacity)
    print(f"  endpoint / ceiling: {rate / ceiling:.0%}")
    print(f"  confirmed {in_database} of capacity {capacity}: oversold {oversold}")
    if oversold or confirmed != capacity:
        print("FAIL: the capacity was not respected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
