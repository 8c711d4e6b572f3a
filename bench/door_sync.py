"""The offline door: batch sync throughput beside single scans, and the door bundle's size.

    python bench/door_sync.py [--devices 4] [--scans 2500] [--batch 250]
    python bench/door_sync.py --smoke     # small and quick (< 60 s)

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL). `--devices` doors were offline; each
made `--scans` scans, of which `--duplicates` (10 %) are tickets another device
also admitted offline (at another time). All devices then upload their queues at
once, in batches of `--batch`, to POST /api/v1/checkins/batch on a granian server:
reconciled scans per second, beside the single-scan endpoint's rate measured in the
same run (the same number of scans of fresh tickets, as many concurrent clients).
Exactness is checked: admissions == distinct tickets, conflicts == duplicates, and
the talent reach equals the distinct people admitted.

Then the door bundle (GET /api/v1/events/{id}/door-bundle) for events of 10,000
and 100,000 tickets (half admitted, 2 % cancelled, 1 % waitlisted), without and
with names: its size raw and as sent gzip-compressed, and the time to build and
send it (median of 5).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from checkin import _load_tickets, _make_event  # isort: skip
from common import (  # isort: skip
    KeepAliveClient,
    admin_headers,
    dsn,
    percentile,
    run,
    running_service,
    scratch_database,
    settle,
)
from events_service.checkin.codes import issue_code
from events_service.settings import new_signing_key_text


def _offline_queues(
    codes: list[str], devices: int, scans: int, duplicates: float
) -> tuple[list[list[dict]], int, int]:
    """Each device's queue: its own tickets plus `duplicates` of its scans of tickets
    the next device admitted too. Returns the queues, distinct tickets, duplicates."""
    shared = int(scans * duplicates)
    own = scans - shared
    now = datetime.now(UTC)
    rng = random.Random(19)
    queues = []
    for n in range(devices):
        mine = codes[n * own : (n + 1) * own]
        neighbours = codes[((n + 1) % devices) * own :][:shared]
        queue = [
            {"code": code, "gate": f"G{n}", "scan_id": str(uuid.uuid4()),
             "scanned_at": (now - timedelta(minutes=rng.uniform(5, 170))).isoformat()}
            for code in [*mine, *neighbours]
        ]  # fmt: skip
        rng.shuffle(queue)
        queues.append(queue)
    return queues, devices * own, devices * shared


async def _sync(base: str, event_id: int, queues: list[list[dict]], batch: int) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        headers = await admin_headers(http)

    async def device(queue: list[dict]) -> None:
        client = KeepAliveClient(base)
        try:
            for start in range(0, len(queue), batch):
                body = json.dumps({"event_id": event_id, "scans": queue[start : start + batch]})
                status, answer = await client.request(
                    "POST", "/api/v1/checkins/batch", body.encode(), headers
                )
                if status != 200:
                    raise SystemExit(f"batch refused: {status} {answer[:300]!r}")
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(device(queue) for queue in queues))
    return time.perf_counter() - started


async def _single_scans(base: str, event_id: int, codes: list[str], clients: int) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        headers = await admin_headers(http)
    jobs = iter(range(len(codes)))
    wrong: list[bytes] = []

    async def scanner() -> None:
        client = KeepAliveClient(base)
        try:
            for n in jobs:
                body = json.dumps({"event_id": event_id, "gate": "main", "code": codes[n],
                                   "scan_id": str(uuid.uuid4())})  # fmt: skip
                status, answer = await client.request(
                    "POST", "/api/v1/checkins", body.encode(), headers
                )
                if status != 200 or b'"verdict":"admitted"' not in answer:
                    wrong.append(answer)
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(scanner() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if wrong:
        raise SystemExit(f"{len(wrong)} single scans not admitted, e.g. {wrong[0]!r}")
    return elapsed


async def _exact(database_url: str, base: str, event_id: int, distinct: int, dupes: int) -> bool:
    conn = await asyncpg.connect(dsn(database_url))
    try:
        admitted = await conn.fetchval(
            "SELECT count(*) FROM admission WHERE event_id = $1", event_id
        )
        conflicts = await conn.fetchval(
            "SELECT count(*) FROM checkin_conflict WHERE event_id = $1", event_id
        )
        people = await conn.fetchval("SELECT count(DISTINCT person_id) FROM admission")
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        reach = (await http.get("/api/v1/reach")).json()["talents_reached"]
    ok = admitted == distinct and conflicts == dupes and reach == people
    print(
        f"  exact: admissions {admitted} (distinct tickets {distinct}), conflicts {conflicts} "
        f"(duplicates {dupes}), reach {reach} (distinct people admitted {people}): "
        f"{'OK' if ok else 'FAIL'}"
    )
    return ok


async def _shape_event(database_url: str, event_id: int, ids: list[int], names: bool) -> None:
    """Half admitted (four gates), 2 % cancelled, 1 % waitlisted; names allowed or not."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        await conn.execute(
            """
            INSERT INTO admission (registration_id, person_id, event_id, gate, admitted_at)
            SELECT id, person_id, event_id, 'gate ' || (id % 4),
                   now() - (id % 7200) * interval '1 second'
            FROM registration WHERE event_id = $1 AND id % 2 = 0
            """,
            event_id,
        )
        await conn.execute(
            "UPDATE registration SET status = 'cancelled'"
            " WHERE event_id = $1 AND id % 100 IN (1, 3)",
            event_id,
        )
        await conn.execute(
            "UPDATE registration SET status = 'waitlisted' WHERE event_id = $1 AND id % 100 = 5",
            event_id,
        )
        await conn.execute(
            "UPDATE event SET door_names_offline = $2 WHERE id = $1", event_id, names
        )
    finally:
        await conn.close()


async def _bundle_figures(base: str, event_id: int, label: str) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        headers = await admin_headers(http)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            response = await http.get(
                f"/api/v1/events/{event_id}/door-bundle",
                headers={**headers, "Accept-Encoding": "gzip"},
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        sent = response.num_bytes_downloaded
        raw = len(response.content)
        assert response.headers.get("content-encoding") == "gzip"
        since = response.json()["version"]
        started = time.perf_counter()
        delta = await http.get(
            f"/api/v1/events/{event_id}/door-bundle", params={"since": since}, headers=headers
        )
        delta_time = time.perf_counter() - started
    median = percentile(times, 0.5)
    print(
        f"  bundle {label:<32} raw {raw / 1024:8.1f} KiB  gzip {sent / 1024:7.1f} KiB  "
        f"built and sent in {median * 1000:6.1f} ms (median of 5); "
        f"delta at once {len(delta.content) / 1024:.1f} KiB raw in {delta_time * 1000:.1f} ms "
        "(it repeats the last minute's changes)"
    )
    return sent, median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--scans", type=int, default=2500, help="offline scans per device")
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bundles", default="10000,100000", help="ticket counts")
    parser.add_argument("--smoke", action="store_true", help="4 x 250 scans, bundles of 1k, 10k")
    args = parser.parse_args()
    if args.smoke:
        args.scans, args.batch, args.bundles = 250, 100, "1000,10000"
    key_text = new_signing_key_text()
    master_key = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
    total = args.devices * args.scans
    print(
        f"{args.devices} offline devices x {args.scans} scans ({args.duplicates:.0%} "
        f"duplicates across devices), batches of {args.batch}, {args.workers} workers"
    )
    ok = True
    with scratch_database() as database_url:
        with running_service(
            database_url, args.devices * 2, args.workers, EVENTS_SIGNING_KEY=key_text
        ) as base:
            sync_event = run(_make_event(base))
            ids = run(_load_tickets(database_url, sync_event, total))
            codes = [issue_code(master_key, rid, sync_event) for rid in ids]
            queues, distinct, dupes = _offline_queues(
                codes, args.devices, args.scans, args.duplicates
            )
            single_event = run(_make_event(base))
            single_ids = run(_load_tickets(database_url, single_event, total))
            single_codes = [issue_code(master_key, rid, single_event) for rid in single_ids]
            run(settle(database_url))

            synced = run(_sync(base, sync_event, queues, args.batch))
            single = run(_single_scans(base, single_event, single_codes, args.devices * 2))
            print(
                f"  batch sync:   {total} offline scans reconciled in {synced:6.2f} s: "
                f"{total / synced:7.0f} scans/s"
            )
            print(
                f"  single scans: {total} scans ({args.devices * 2} clients) in {single:6.2f} s: "
                f"{total / single:7.0f} scans/s   (batch / single: {single / synced:.0%})"
            )
            ok &= run(_exact(database_url, base, sync_event, distinct, dupes))

            for count in (int(n) for n in args.bundles.split(",")):
                for names in (False, True):
                    event_id = run(_make_event(base))
                    bundle_ids = run(_load_tickets(database_url, event_id, count))
                    run(_shape_event(database_url, event_id, bundle_ids, names))
                    label = f"{count} tickets, {'with' if names else 'no'} names"
                    sent, _ = run(_bundle_figures(base, event_id, label))
                    if count == 10_000 and sent >= 1024 * 1024:
                        print("FAIL: a 10,000-ticket bundle is not under 1 MB compressed")
                        ok = False
    if not ok:
        print("FAIL")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
