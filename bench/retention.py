"""Retention: people erased per second while registrations and scans go on elsewhere.

    python bench/retention.py [--people 100000] [--events 50] [--clients 8]
    python bench/retention.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres):
it creates a fresh database, migrates it, loads `people` people registered at `events`
events that ended long ago (a third of them admitted; half with a sent e-mail),
rebuilds the counters, then at an event happening now measures registrations
followed by their scan (the service's own functions, in this process, on the
service's pool) without and then during `run_retention` (the policy's batches, as
`events-service retention run` does). Prints the erasure rate, the p99 of a
registration plus scan with and without the run beside it, and whether `reach
verify` is clean afterwards. Load and run share one event loop here: the p99 during
the run includes waiting for the run's Python, not only for its locks.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from common import dsn, percentile, run, scratch_database  # isort: skip
from events_service.checkin.service import ScanRequest, scan
from events_service.db import database, migrate
from events_service.privacy.keys import use_person_key
from events_service.privacy.service import run_retention
from events_service.reach.counter import rebuild, verify
from events_service.registration.forms import CleanRegistration
from events_service.registration.service import register
from events_service.settings import Settings


async def _load(url: str, people: int, events: int) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        ended = datetime.now(UTC) - timedelta(days=800)
        event_ids = [
            await conn.fetchval(
                "INSERT INTO event (kind, title, description, venue, timezone, starts_at, "
                "ends_at, waitlist_enabled, status, confirmed_count, created_at, updated_at) "
                "VALUES ('summit', $1, '', '', 'UTC', $2, $3, false, 'closed', 0, $3, $3) "
                "RETURNING id",
                f"Past {n}",
                ended - timedelta(hours=6),
                ended,
            )
            for n in range(events)
        ]
        await conn.copy_records_to_table(
            "person",
            columns=["email", "person_key", "name", "phone", "locale", "created_at"],
            records=[
                (
                    f"past{n}@example.org",
                    hashlib.sha256(f"bench{n}".encode()).hexdigest(),
                    f"Past {n}",
                    "+8613800138000",
                    "en",
                    ended,
                )
                for n in range(people)
            ],
        )
        await conn.execute(
            "INSERT INTO registration (person_id, event_id, status, manage_token, locale, "
            "created_at, updated_at) SELECT p.id, ($1::int[])[1 + p.id % $2], 'confirmed', "
            "md5(p.id::text), 'en', $3, $3 FROM person p",
            event_ids,
            len(event_ids),
            ended,
        )
        await conn.execute(
            "INSERT INTO admission (registration_id, person_id, event_id, gate, admitted_at) "
            "SELECT id, person_id, event_id, 'A', $1 FROM registration WHERE id % 3 = 0",
            ended,
        )
        await conn.execute(
            "INSERT INTO outbox_message (kind, dedupe_key, recipient, locale, payload, status, "
            "attempts, redeliveries, due_at, sent_at, created_at) SELECT "
            "'registration.confirmed', 'bench:' || r.id, p.email, 'en', "
            "json_build_object('registration_id', r.id)::jsonb, 'sent', 1, 0, $1, $1, $1 "
            "FROM registration r JOIN person p ON p.id = r.person_id WHERE r.id % 2 = 0",
            ended,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _open_event(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(dsn(url))
    try:
        now = datetime.now(UTC)
        event = await conn.fetchval(
            "INSERT INTO event (kind, title, description, venue, timezone, starts_at, ends_at, "
            "waitlist_enabled, status, confirmed_count, created_at, updated_at) VALUES "
            "('summit', 'Now', '', '', 'UTC', $1, $2, false, 'published', 0, $1, $1) RETURNING id",
            now - timedelta(hours=1),
            now + timedelta(hours=5),
        )
        await conn.execute(
            "INSERT INTO registration_link (event_id, slug, label, active, used_count, "
            "created_at) VALUES ($1, 'bench-now', 'bench', true, 0, $2)",
            event,
            now,
        )
        return event, "bench-now"
    finally:
        await conn.close()


async def _traffic(event: int, slug: str, tag: str, stop: asyncio.Event, clients: int) -> list:
    latencies: list[float] = []
    counter = iter(range(10**9))

    async def client() -> None:
        while not stop.is_set():
            n = next(counter)
            form = CleanRegistration(f"Now {tag}{n}", f"now-{tag}{n}@example.org", None, None,
                                     None, "en")  # fmt: skip
            started = time.perf_counter()
            result = await register(slug, form)
            request = ScanRequest(event_id=event, gate="B", staff_id=None,
                                  registration_id=result.ticket.registration_id)  # fmt: skip
            await scan(request, master_key=b"\0" * 32)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def _bench(url: str, args: argparse.Namespace) -> int:
    await migrate(url)
    await _load(url, args.people, args.events)
    settings = Settings(database_url=url, person_key_secret="bench-person-key-secret")
    use_person_key(settings)
    async with database(f"{url}?minsize={args.clients + 2}&maxsize={args.clients + 2}"):
        await rebuild()
        event, slug = await _open_event(url)
        stop = asyncio.Event()
        alone = asyncio.create_task(_traffic(event, slug, "a", stop, args.clients))
        await asyncio.sleep(args.baseline_seconds)
        stop.set()
        baseline = await alone

        stop = asyncio.Event()
        during_task = asyncio.create_task(_traffic(event, slug, "b", stop, args.clients))
        started = time.perf_counter()
        result = await run_retention(settings, batch_size=args.batch)
        wall = time.perf_counter() - started
        stop.set()
        during = await during_task
        drift = await verify()

    print(f"{args.people} people at {args.events} past events, {args.clients} clients elsewhere")
    print(f"  erased {result.people} people in {wall:.2f} s: {result.people / wall:,.0f} people/s")
    for label, values in (("without the run", baseline), ("during the run", during)):
        if not values:
            continue
        p50 = percentile(values, 0.5) * 1000
        p99 = percentile(values, 0.99) * 1000
        print(f"  register+scan {label:16} n={len(values):5}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"  reach verify: {'no drift' if drift.exact else 'DRIFT'}")
    if result.people != args.people or not drift.exact:
        print("FAIL: not everyone erased, or the counters drifted", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--batch", type=int, default=None, help="people per batch (default: the setting's)"
    )
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="5,000 people, 4 clients")
    args = parser.parse_args()
    if args.smoke:
        args.people, args.clients, args.baseline_seconds = 5_000, 4, 3.0
    with scratch_database() as url:
        return run(_bench(url, args))


if __name__ == "__main__":
    raise SystemExit(main())
