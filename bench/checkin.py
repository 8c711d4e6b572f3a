"""Door throughput: our scan endpoint against a raw-asyncpg ceiling, same machine, same run.

    python bench/checkin.py [--registrations 100000] [--scans 5000] [--clients 16]
    python bench/checkin.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL). An event happening now gets
`--registrations` confirmed tickets (bulk-loaded); `--clients` concurrent scanners
then admit `--scans` distinct tickets through POST /api/v1/checkins on a granian
server. The ceiling verifies the next `--scans` codes with the same Ed25519 code
and runs the very statements of our scan on raw asyncpg connections:
no HTTP, no ORM. After 500 unmeasured scans each, the two take turns (`--rounds`,
the order flipped each round) so that a machine drifting during the run weighs on
both alike. GET /api/v1/reach is timed at 1,000 admissions (before the scans) and
at all of them (after). Beside each side's rate: the CPU PostgreSQL spent per
admission while that side was measured (all its processes on this machine, read
from /proc), and the service's (the granian processes) or the ceiling's own.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from common import (  # isort: skip
    CpuMeter,
    Job,
    KeepAliveClient,
    admin_headers,
    measure_in_turns,
    dsn,
    percentile,
    raw_pool,
    report,
    run,
    running_service,
    scratch_database,
    settle,
)
from events_service.checkin import statements as sql
from events_service.checkin.codes import issue_code, read_code
from events_service.reach import counter
from events_service.settings import new_signing_key_text


async def _load_tickets(database_url: str, event_id: int, count: int) -> list[int]:
    """`count` people confirmed at the event, loaded with COPY; their registration ids."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        now = datetime.now(UTC)
        tag = secrets.token_hex(3)
        await conn.copy_records_to_table(
            "person",
            columns=["email", "name", "locale", "created_at"],
            records=[(f"p{n}-{tag}@example.org", f"Person {n}", "en", now) for n in range(count)],
        )
        people = await conn.fetch(
            "SELECT id FROM person WHERE email LIKE $1 ORDER BY id", f"%-{tag}@example.org"
        )
        await conn.copy_records_to_table(
            "registration",
            columns=[
                "person_id",
                "event_id",
                "status",
                "manage_token",
                "locale",
                "created_at",
                "updated_at",
            ],
            records=[
                (row["id"], event_id, "confirmed", secrets.token_urlsafe(24), "en", now, now)
                for row in people
            ],
        )
        await conn.execute("UPDATE event SET confirmed_count = $2 WHERE id = $1", event_id, count)
        rows = await conn.fetch(
            "SELECT id FROM registration WHERE event_id = $1 ORDER BY id", event_id
        )
        return [row["id"] for row in rows]
    finally:
        await conn.close()


Close = Callable[[], Awaitable[None]]
ENDPOINT = "endpoint (HTTP, granian, Tortoise)"
CEILING = "ceiling (raw asyncpg, no HTTP)"


async def _endpoint(base: str, event_id: int, codes: list[str], clients: int) -> tuple[Job, Close]:
    """Scan job n: POST codes[n] to our endpoint over a kept-alive connection."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        headers = await admin_headers(http)
    connections = [KeepAliveClient(base) for _ in range(clients)]
    free = list(connections)
    wrong: list[bytes] = []

    async def one(n: int) -> None:
        client = free.pop()
        # As the door page sends it: a scan_id makes a retried scan idempotent.
        body = json.dumps({"event_id": event_id, "gate": f"gate {n % 4}", "code": codes[n],
                           "scan_id": str(uuid.uuid4())})  # fmt: skip
        status, answer = await client.request("POST", "/api/v1/checkins", body.encode(), headers)
        free.append(client)
        if status != 200 or b'"verdict":"admitted"' not in answer:
            wrong.append(answer)

    async def close() -> None:
        for client in connections:
            await client.close()
        if wrong:
            raise SystemExit(f"{len(wrong)} scans were not admitted, e.g. {wrong[0]!r}")

    return one, close


async def _ceiling(
    database_url: str, master_key: bytes, event_id: int, codes: list[str], clients: int
) -> tuple[Job, Close]:
    """Scan job n: codes[n] through our scan's statements, verbatim, on raw asyncpg."""
    pool = await raw_pool(database_url, clients)
    staff_id = await pool.fetchval("SELECT id FROM staff_user ORDER BY id LIMIT 1")
    jti = secrets.token_hex(16)

    async def one(n: int) -> None:
        # Minus HTTP, JWT, ORM and request parsing (the staff member is still
        # checked, in the first statement, as ours does).
        claims = read_code(master_key, codes[n])
        now = datetime.now(UTC)
        scan_id = str(uuid.uuid4())
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                sql.SCAN_CONTEXT, event_id, claims.registration_id, scan_id, staff_id, jti
            )
            assert row["staff_active_"] and not row["staff_revoked_"] and not row["logged_"]
            assert row["event_id"] == event_id and row["status"] == "confirmed"
            placed = await conn.fetchrow(
                sql.ADMIT_PG.postgres, row["id"], row["person_id"], event_id, "gate", staff_id,
                now, "hash", scan_id, now, now, counter.day_of(now), row["event_kind_"],
                counter.shard_of(row["person_id"]),
            )  # fmt: skip
            assert placed["admission_id"] is not None and placed["first_ever"]

    return one, pool.close


async def _compare(
    base: str, database_url: str, master_key: bytes, event_id: int, codes: list[str],
    clients: int, warm: int, rounds: int,
) -> float:  # fmt: skip
    """Endpoint and ceiling, each on its own half of `codes`, measured in turns;
    prints both and returns endpoint / ceiling."""
    half = len(codes) // 2
    endpoint, close_endpoint = await _endpoint(base, event_id, codes[:half], clients)
    ceiling, close_ceiling = await _ceiling(
        database_url, master_key, event_id, codes[half:], clients
    )
    sides = {ENDPOINT: endpoint, CEILING: ceiling}
    cpu = CpuMeter(database_url)
    totals, turns = await measure_in_turns(sides, warm, half - warm, clients, rounds, cpu)
    await close_endpoint()
    await close_ceiling()
    measured = half - warm
    rate = report(ENDPOINT, "admissions", measured, *totals[ENDPOINT])
    cpu.report(ENDPOINT, "admission", measured, service="service CPU (granian processes)")
    ceiling_rate = report(CEILING, "admissions", measured, *totals[CEILING])
    cpu.report(CEILING, "admission", measured, own="ceiling's own CPU")
    spread = "  ".join(f"{turn[ENDPOINT] / turn[CEILING]:.0%}" for turn in turns)
    print(f"  endpoint / ceiling: {rate / ceiling_rate:.0%}   (each of {rounds} turns: {spread})")
    return rate / ceiling_rate


async def _admit_in_bulk(database_url: str, event_id: int, up_to: int, cli_rebuild) -> int:
    """Admit tickets by SQL until `up_to` admissions exist, then rebuild the reach."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        await conn.execute(
            """
            INSERT INTO admission (registration_id, person_id, event_id, gate, admitted_at)
            SELECT r.id, r.person_id, r.event_id, 'bulk', now() FROM registration r
            WHERE r.event_id = $1 AND NOT EXISTS (
                SELECT 1 FROM admission a WHERE a.registration_id = r.id)
            ORDER BY r.id LIMIT GREATEST($2 - (SELECT count(*) FROM admission), 0)
            """,
            event_id,
            up_to,
        )
        total = await conn.fetchval("SELECT count(*) FROM admission")
    finally:
        await conn.close()
    cli_rebuild()
    return total


async def _reach_latency(base: str, requests: int = 300) -> tuple[float, float, int]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.get("/api/v1/reach")
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            response = await http.get("/api/v1/reach")
            latencies.append(time.perf_counter() - started)
        reached = response.json()["talents_reached"]
    return percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, reached


async def _make_event(base: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        headers = await admin_headers(http)
        now = datetime.now(UTC)
        event = (
            await http.post(
                "/api/v1/events",
                json={
                    "kind": "summit",
                    "title": "Benchmark summit",
                    "starts_at": (now - timedelta(hours=1)).isoformat(),
                    "ends_at": (now + timedelta(hours=8)).isoformat(),
                },
                headers=headers,
            )
        ).json()
        await http.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    return event["id"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns, endpoint and ceiling alternating"
    )
    parser.add_argument("--smoke", action="store_true", help="3,000 tickets, 300 scans")
    args = parser.parse_args()
    if args.smoke:
        args.registrations, args.scans, args.clients, args.rounds = 3000, 300, 4, 2
    key_text = new_signing_key_text()
    master_key = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
    print(
        f"{args.registrations} confirmed tickets, {args.scans} scans of distinct tickets each "
        f"way (after {min(500, args.scans)} unmeasured), {args.clients} concurrent scanners, "
        f"{args.workers} workers"
    )
    with scratch_database() as database_url:
        with running_service(
            database_url, args.clients, args.workers, EVENTS_SIGNING_KEY=key_text
        ) as base:
            from tests.server import cli_env, run_cli

            def rebuild() -> None:
                import tempfile
                from pathlib import Path

                with tempfile.TemporaryDirectory() as tmp:
                    env = cli_env(database_url, Path(tmp), EVENTS_SIGNING_KEY=key_text)
                    done = run_cli("reach", "rebuild", env=env, cwd=Path(tmp))
                    if done.returncode != 0:
                        raise SystemExit(done.stdout + done.stderr)

            event_id = run(_make_event(base))
            ids = run(_load_tickets(database_url, event_id, args.registrations))
            codes = [issue_code(master_key, rid, event_id) for rid in ids]

            def reach_at(target: int) -> bool:
                admitted = run(_admit_in_bulk(database_url, event_id, target, rebuild))
                p50, p99, reached = run(_reach_latency(base))
                print(
                    f"  GET /api/v1/reach at {admitted:>7} admissions: p50 {p50:5.2f} ms  "
                    f"p99 {p99:5.2f} ms  (talents_reached {reached})"
                )
                return reached == admitted

            # The reach is read at 1,000 admissions (the first tickets, admitted in
            # bulk), then the scans admit the next ones, then it is read at all of them.
            warm = min(500, args.scans)
            each = warm + args.scans
            early = max(0, min(1000, args.registrations - 2 * each))
            exact = reach_at(early) if early else True
            run(settle(database_url))
            scans = codes[early : early + 2 * each]
            run(_compare(base, database_url, master_key, event_id, scans, args.clients, warm,
                         args.rounds))  # fmt: skip
            if not (reach_at(args.registrations) and exact):
                print("FAIL: reach differs from the admissions")
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
