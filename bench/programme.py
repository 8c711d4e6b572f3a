"""Benchmark: GET /api/v1/programme as history grows, and live fan-out to dashboards.

1. The KPI endpoint's latency with 1,000 and with 200,000 admissions of 50,000
   people (2,000 organisations): the figure must stay flat (within 2x) with p99
   under 20 ms. Beside it, the ceiling: the very statements of the endpoint run
   on raw asyncpg connections, no HTTP.
2. Server-sent events: 500 dashboards connected (2 worker processes, Redis
   channels); one admission through the API; the time until every dashboard has
   the new figures (target: all within 1 s).

    .venv/bin/python bench/programme.py            # full size
    .venv/bin/python bench/programme.py --smoke    # small, for CI

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL) and Redis (EVENTS_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from common import (  # isort: skip
    KeepAliveClient,
    admin_headers,
    dsn,
    percentile,
    raw_pool,
    run,
    running_service,
    scratch_database,
    settle,
)
from events_service.checkin.codes import issue_code
from events_service.programme import kpis
from events_service.reach import counter
from events_service.settings import new_signing_key_text
from tests.server import cli_env, run_cli

REDIS_URL = os.environ.get("EVENTS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
EVENTS = 4


async def seed(url: str, people: int, organisations: int) -> tuple[list[int], int]:
    """People registered at EVENTS events (one happening now); nobody admitted yet.

    Returns the event ids and one spare registration (at the current event) kept
    out of the bulk admissions, for the fan-out test."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            """
            INSERT INTO organisation (name, name_key, kind, created_at)
            SELECT 'Org ' || n, 'org ' || n, 'company', now()
            FROM generate_series(1, $1::int) AS n
            """,
            organisations,
        )
        await conn.execute(
            """
            INSERT INTO person (email, name, locale, organisation_id, created_at)
            SELECT 'p' || n || '@example.org', 'Person ' || n, 'en',
                   CASE WHEN n % 5 = 0 THEN NULL
                        ELSE (SELECT min(id) FROM organisation) + n % $2::int END,
                   now()
            FROM generate_series(1, $1::int) AS n
            """,
            people,
            organisations,
        )
        event_ids = []
        now = datetime.now(UTC)
        for n in range(EVENTS):
            starts = now - timedelta(days=90 * (EVENTS - 1 - n), hours=1)
            event_ids.append(
                await conn.fetchval(
                    """
                    INSERT INTO event (kind, title, description, venue, timezone, starts_at,
                                       ends_at, waitlist_enabled, status, confirmed_count,
                                       created_at, updated_at)
                    VALUES ($1, $2, '', 'Hall', 'Asia/Shanghai', $3, $4, false, 'published', $5,
                            now(), now())
                    RETURNING id
                    """,
                    "summit" if n % 2 == 0 else "competition",
                    f"Event {n}",
                    starts,
                    starts + timedelta(hours=10),
                    people,
                )
            )
        await conn.execute(
            """
            INSERT INTO registration (person_id, event_id, status, manage_token, locale,
                                      created_at, updated_at)
            SELECT p.id, e, 'confirmed', md5(p.id || '-' || e), 'en', now(), now()
            FROM person p CROSS JOIN unnest($1::int[]) AS e
            """,
            event_ids,
        )
        spare = await conn.fetchval(
            "SELECT max(id) FROM registration WHERE event_id = $1", event_ids[-1]
        )
        return event_ids, spare
    finally:
        await conn.close()


async def admit_up_to(url: str, total: int, spare: int) -> int:
    """Admissions by SQL (spread over each event's day) until `total` exist."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            """
            INSERT INTO admission (registration_id, person_id, event_id, gate, admitted_at)
            SELECT r.id, r.person_id, r.event_id, 'bulk',
                   e.starts_at + (r.person_id % 600) * interval '1 minute'
            FROM registration r JOIN event e ON e.id = r.event_id
            WHERE r.id <> $2
              AND NOT EXISTS (SELECT 1 FROM admission a WHERE a.registration_id = r.id)
            ORDER BY r.event_id, r.id
            LIMIT GREATEST($1 - (SELECT count(*) FROM admission), 0)
            """,
            total,
            spare,
        )
        return await conn.fetchval("SELECT count(*) FROM admission")
    finally:
        await conn.close()


def rebuild(url: str, key_text: str) -> None:
    """The counters, first admissions and organisation benefits, from the admissions."""
    with tempfile.TemporaryDirectory() as tmp:
        env = cli_env(url, Path(tmp), EVENTS_SIGNING_KEY=key_text)
        done = run_cli("reach", "rebuild", env=env, cwd=Path(tmp))
        if done.returncode != 0:
            raise SystemExit(done.stdout + done.stderr)


async def endpoint_latency(base: str, requests: int, clients: int) -> list[float]:
    connections = [KeepAliveClient(base) for _ in range(clients)]
    await connections[0].request("GET", "/api/v1/programme")  # warm up
    latencies: list[float] = []

    async def client(connection: KeepAliveClient, count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            status, _ = await connection.request("GET", "/api/v1/programme")
            latencies.append(time.perf_counter() - started)
            assert status == 200

    await asyncio.gather(*(client(c, requests // clients) for c in connections))
    for connection in connections:
        await connection.close()
    return latencies


async def ceiling_latency(url: str, requests: int, clients: int) -> list[float]:
    """The endpoint's statements, verbatim, on raw asyncpg (no HTTP, no ORM, no JSON)."""
    pool = await raw_pool(url, clients)
    since = datetime.now(UTC) - timedelta(days=kpis.PACE_WINDOW_DAYS)
    statements = [
        (counter.FIGURES_SQL, []),
        (counter.REACHED_SINCE_SQL, [counter.day_of(since)]),
        (kpis.SUMMARY, [since, since.date(), 1]),
        (kpis.EVENTS_HELD, [datetime.now(UTC)]),
    ]
    latencies: list[float] = []

    async def client(count: int) -> None:
        async with pool.acquire() as conn:
            for _ in range(count):
                started = time.perf_counter()
                for sql, values in statements:
                    await conn.fetch(sql, *values)
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(requests // clients) for _ in range(clients)))
    await pool.close()
    return latencies


async def fan_out(base: str, listeners: int, event_id: int, code: str) -> list[float]:
    """Seconds from an admission until each connected dashboard has the new figures."""
    host, port = base.split("://", 1)[1].split(":")
    received: list[float] = []
    connected = 0
    all_connected = asyncio.Event()
    sent_at = 0.0

    async def dashboard() -> None:
        nonlocal connected
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /api/v1/reach/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        figures = 0
        while figures < 2:
            line = await reader.readline()
            if not line:
                raise SystemExit("a dashboard's stream ended early")
            if line.startswith(b"event: figures"):
                figures += 1
                if figures == 1:
                    connected += 1
                    if connected == listeners:
                        all_connected.set()
        received.append(time.perf_counter() - sent_at)
        writer.close()

    tasks = [asyncio.create_task(dashboard()) for _ in range(listeners)]
    await asyncio.wait_for(all_connected.wait(), 60)
    await asyncio.sleep(0.5)  # every subscription is registered with the channel
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        headers = await door_headers(http)
        sent_at = time.perf_counter()
        scan = await http.post(
            "/api/v1/checkins",
            json={"event_id": event_id, "gate": "bench", "code": code},
            headers=headers,
        )
        assert scan.json()["verdict"] == "admitted", scan.text
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return received


async def door_headers(http: httpx.AsyncClient) -> dict[str, str]:
    return await admin_headers(http)  # admins pass the door's guard too


def summary(label: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    print(f"  {label:44} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    args = parser.parse_args()
    people, organisations, sizes, listeners, requests = 50_000, 2000, (1000, 200_000), 500, 2000
    if args.smoke:
        people, organisations, sizes, listeners, requests = 2000, 200, (200, 8000), 50, 200
    clients = 4
    key_text = new_signing_key_text()
    master_key = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
    print(
        f"GET /api/v1/programme, {people} people of {organisations} organisations at "
        f"{EVENTS} events, {clients} concurrent clients, 2 workers"
    )
    ok = True
    with scratch_database() as url:
        with running_service(
            url, clients=8, workers=2, EVENTS_SIGNING_KEY=key_text, EVENTS_REDIS_URL=REDIS_URL
        ) as base:
            event_ids, spare = run(seed(url, people, organisations))
            p99s = {}
            for size in sizes:
                admitted = run(admit_up_to(url, size, spare))
                rebuild(url, key_text)
                run(settle(url))
                reached = httpx.get(f"{base}/api/v1/programme").json()["kpis"][0]["value"]
                print(f"at {admitted} admissions ({reached} people reached):")
                _, p99 = summary(
                    "endpoint (HTTP, granian, Tortoise)",
                    run(endpoint_latency(base, requests, clients)),
                )
                summary("ceiling (same statements, raw asyncpg)",
                        run(ceiling_latency(url, requests, clients)))  # fmt: skip
                p99s[size] = p99
            small, large = p99s[sizes[0]], p99s[sizes[1]]
            flat = large <= 2 * max(small, 1.0)
            print(
                f"  p99 {small:.2f} ms -> {large:.2f} ms: "
                f"{'flat (within 2x)' if flat else 'NOT FLAT'}; "
                f"{'under' if large < 20 else 'OVER'} the 20 ms target"
            )
            code = issue_code(master_key, spare, event_ids[-1])
            delays = run(fan_out(base, listeners, event_ids[-1], code))
            worst = max(delays)
            print(
                f"SSE fan-out: {listeners} dashboards, one admission: "
                f"median {statistics.median(delays) * 1000:.0f} ms, "
                f"all within {worst * 1000:.0f} ms ({'OK' if worst < 1 else 'OVER'} the 1 s target)"
            )
            ok = len(delays) == listeners
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
