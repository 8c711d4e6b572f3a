"""The console's registrations at scale: one event with 100,000 registrations.

    python bench/console.py [--registrations 100000] [--requests 60]
    python bench/console.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL). People, organisations, links,
registrations (confirmed, waitlisted, cancelled) and admissions are bulk-loaded
with COPY into one event; then the organiser's pages are read over HTTP from a
granian server, one request at a time, `--requests` times each (after a few
unmeasured): the event's registrations page (first page), a search by name, a
filter by status and link, page 400 (50 rows a page), and the console's home with
its figures. Beside each page's p95: the same statements the page runs for its
table (the COUNT and the page, or the figures), run raw on asyncpg in the same
run: the ceiling, no HTTP, no template. Last, the CSV export of every registration
is streamed, and the server's peak resident memory (VmHWM, all its processes) is
read before and after: flat memory means the peak grows by far less than the file.
Target: p95 < 100 ms on every page.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from common import (  # isort: skip
    BENCH_ADMIN,
    dsn,
    percentile,
    run,
    running_service,
    scratch_database,
    service_roots,
    settle,
    _processes,
    _with_descendants,
)
from events_service.events.figures import _in_list
from events_service.events.service import (
    RegistrationFilter,
    registrations_count_sql,
    registrations_page_sql,
)
from events_service.reach.counter import ADMITTED_AT_EVENT_SQL
from models.enums import RegistrationStatus

PAGE_ROWS = 50  # the console's page size (console.registrations.PAGE_ROWS)
TARGET_MS = 100.0
SURNAMES = ["Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jie", "Tao", "Xiu", "Hong"]


async def _make_event(http: httpx.AsyncClient) -> tuple[int, list[str]]:
    """A published event with three links, made through the API; its id and slugs."""
    now = datetime.now(UTC)
    body = {
        "kind": "summit",
        "title": "Benchmark summit",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=8)).isoformat(),
        "timezone": "Asia/Shanghai",
    }
    event = (await http.post("/api/v1/events", json=body)).json()
    await http.post(f"/api/v1/events/{event['id']}/publish")
    slugs = []
    for label in ("WeChat group", "Partners", "Newsletter"):
        link = await http.post(f"/api/v1/events/{event['id']}/links", json={"label": label})
        slugs.append(link.json()["slug"])
    return event["id"], slugs


async def _load(database_url: str, event_id: int, count: int) -> dict[str, int]:
    """`count` people registered at the event (80 % confirmed, 15 % waitlisted, 5 %
    cancelled, over three links), a fifth of the confirmed admitted; with COPY."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        now = datetime.now(UTC)
        tag = secrets.token_hex(3)
        organisations = max(10, count // 200)
        await conn.copy_records_to_table(
            "organisation",
            columns=["name", "name_key", "kind", "created_at"],
            records=[
                (f"Firm {n} Ltd", f"firm {n} ltd {tag}", "company", now)
                for n in range(organisations)
            ],
        )
        org_ids = [r["id"] for r in await conn.fetch("SELECT id FROM organisation ORDER BY id")]
        await conn.copy_records_to_table(
            "person",
            columns=["email", "name", "organisation_id", "locale", "created_at"],
            records=[
                (
                    f"p{n}-{tag}@example.org",
                    f"{SURNAMES[n % 10]} {GIVEN[(n // 10) % 12]} {n}",
                    org_ids[n % organisations],
                    "en",
                    now,
                )
                for n in range(count)
            ],
        )
        people = await conn.fetch(
            "SELECT id FROM person WHERE email LIKE $1 ORDER BY id", f"%-{tag}@example.org"
        )
        links = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM registration_link WHERE event_id = $1 ORDER BY id", event_id
            )
        ]

        def status(n: int) -> str:
            share = n % 20
            return "cancelled" if share == 0 else "waitlisted" if share <= 3 else "confirmed"

        await conn.copy_records_to_table(
            "registration",
            columns=["person_id", "event_id", "link_id", "status", "manage_token", "locale",
                     "created_at", "updated_at"],
            records=[
                (row["id"], event_id, links[n % len(links)], status(n),
                 secrets.token_urlsafe(24), "en", now - timedelta(seconds=count - n), now)
                for n, row in enumerate(people)
            ],
        )  # fmt: skip
        confirmed = await conn.fetch(
            "SELECT id, person_id FROM registration WHERE event_id = $1 AND status = 'confirmed'"
            " ORDER BY id",
            event_id,
        )
        admitted = confirmed[::5]
        await conn.copy_records_to_table(
            "admission",
            columns=["registration_id", "person_id", "event_id", "gate", "admitted_at"],
            records=[
                (r["id"], r["person_id"], event_id, f"gate {n % 4}", now)
                for n, r in enumerate(admitted)
            ],
        )
        await conn.execute(
            "INSERT INTO event_tally (event_id, shard, admissions) VALUES ($1, 0, $2)",
            event_id,
            len(admitted),
        )
        await conn.execute(
            "UPDATE event SET confirmed_count = $2 WHERE id = $1", event_id, len(confirmed)
        )
        return {"registrations": count, "confirmed": len(confirmed), "admitted": len(admitted)}
    finally:
        await conn.close()


Step = Callable[[], Awaitable[Any]]


async def _p95(step: Step, requests: int, warm: int = 3) -> tuple[float, float]:
    """p50 and p95 in ms of `requests` calls of `step`, one at a time."""
    for _ in range(warm):
        await step()
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        await step()
        latencies.append(time.perf_counter() - started)
    return percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000


def _table_ceiling(
    pool: asyncpg.Pool, event_id: int, where: RegistrationFilter, offset: int
) -> Step:
    """The table's two statements, verbatim, on raw asyncpg."""
    count_sql, count_values = registrations_count_sql(event_id, where)
    page_sql, page_values = registrations_page_sql(event_id, where, limit=PAGE_ROWS, offset=offset)

    async def step() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval(count_sql, *count_values)
            await conn.fetch(page_sql, *page_values)

    return step


def _figures_ceiling(pool: asyncpg.Pool, event_id: int) -> Step:
    """events.figures.event_figures' two statements for the event."""
    placeholders = _in_list(1, 1)
    by_status = (
        f"SELECT event_id, status, COUNT(*) AS n FROM registration"
        f" WHERE event_id IN ({placeholders}) GROUP BY event_id, status"
    )
    admitted = (
        f"SELECT e.id, {ADMITTED_AT_EVENT_SQL} AS admitted FROM event e"
        f" WHERE e.id IN ({placeholders})"
    )

    async def step() -> None:
        async with pool.acquire() as conn:
            await conn.fetch(by_status, event_id)
            await conn.fetch(admitted, event_id)

    return step


def _page(http: httpx.AsyncClient, path: str, params: dict[str, str], expect: str) -> Step:
    async def step() -> None:
        response = await http.get(path, params=params)
        if response.status_code != 200 or expect not in response.text:
            raise SystemExit(f"GET {path} {params}: {response.status_code} {response.text[:300]}")

    return step


def _server_memory_kib() -> tuple[int, int]:
    """The server's processes' resident memory now and at its peak (VmRSS, VmHWM), KiB."""
    processes = _processes() or []
    children: dict[int, list[Any]] = {}
    for p in processes:
        children.setdefault(p.ppid, []).append(p)
    by_pid = {p.pid: p for p in processes}
    roots = [by_pid[pid] for pid in service_roots(processes) if pid in by_pid]
    rss = hwm = 0
    for p in _with_descendants(roots, children):
        try:
            status = Path(f"/proc/{p.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm += int(line.split()[1])
    return rss, hwm


async def _measure(base: str, database_url: str, registrations: int, requests: int) -> bool:
    email, password = BENCH_ADMIN
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
        http.cookies.clear()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        event_id, slugs = await _make_event(http)
        loaded = await _load(database_url, event_id, registrations)
        await settle(database_url)
        print(
            f"{loaded['registrations']:,} registrations in one event ({loaded['confirmed']:,}"
            f" confirmed, {loaded['admitted']:,} admitted); {requests} requests each, one at"
            " a time, after 3 unmeasured"
        )
        path = f"/admin/events/{event_id}/registrations"
        last_page = max(0, (registrations - 1) // PAGE_ROWS)
        page_400 = min(399, last_page) * PAGE_ROWS
        cases: list[tuple[str, Step, Step]] = []
        pool = await asyncpg.create_pool(dsn(database_url), min_size=1, max_size=2)
        searches = [
            ("registrations page (first page)", {}, RegistrationFilter(), 0),
            ("search by name (q=Zhao Jing)", {"q": "Zhao Jing"},
             RegistrationFilter(q="Zhao Jing"), 0),
            (
                "filter: status waitlisted + a link",
                {"status": "waitlisted", "link": slugs[1]},
                RegistrationFilter(status=RegistrationStatus.WAITLISTED, link_slug=slugs[1]),
                0,
            ),
            (f"page {page_400 // PAGE_ROWS + 1} (offset {page_400:,})", {"offset": str(page_400)},
             RegistrationFilter(), page_400),
        ]  # fmt: skip
        for label, params, where, offset in searches:
            cases.append(
                (
                    label,
                    _page(http, path, params, 'id="registration-table"'),
                    _table_ceiling(pool, event_id, where, offset),
                )
            )
        cases.append(
            ("console home with the figures", _page(http, "/admin", {}, 'id="upcoming"'),
             _figures_ceiling(pool, event_id))
        )  # fmt: skip
        ok = True
        print(f"  {'page (HTTP, granian, template)':40} {'p50':>9} {'p95':>9}"
              f"   {'ceiling (raw asyncpg): p50':>26} {'p95':>9}")  # fmt: skip
        for label, page, ceiling in cases:
            p50, p95 = await _p95(page, requests)
            ceiling_p50, ceiling_p95 = await _p95(ceiling, requests)
            verdict = "ok" if p95 < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
            ok = ok and p95 < TARGET_MS
            print(
                f"  {label:40} {p50:6.1f} ms {p95:6.1f} ms   {ceiling_p50:23.1f} ms"
                f" {ceiling_p95:6.1f} ms   {verdict}"
            )
        await pool.close()

        rss_before, peak_before = _server_memory_kib()
        started = time.perf_counter()
        size = lines = 0
        async with http.stream("GET", f"{path}.csv") as response:
            if response.status_code != 200:
                raise SystemExit(f"CSV export: {response.status_code}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
        rss_after, peak_after = _server_memory_kib()
        rows = lines - 1
        growth = max(0, peak_after - peak_before)
        print(
            f"  CSV export of every registration: {rows:,} rows, {size / 1e6:.1f} MB in"
            f" {seconds:.2f} s ({rows / seconds:,.0f} rows/s)"
        )
        print(
            f"    server memory: RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB,"
            f" peak {peak_before / 1024:.0f} -> {peak_after / 1024:.0f} MiB"
            f" (grew {growth / 1024:.1f} MiB for a {size / 1e6:.1f} MB file)"
        )
        if rows != registrations:
            print(f"FAIL: the export has {rows} rows, not {registrations}")
            ok = False
        # Flat: the peak grows by far less than the file (whole in memory it would
        # grow by several times the file's size).
        if growth * 1024 > max(size / 2, 16 * 1024 * 1024):
            print("FAIL: the export's memory grew with the file")
            ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--smoke", action="store_true", help="3,000 registrations, 10 requests")
    args = parser.parse_args()
    if args.smoke:
        args.registrations, args.requests = 3000, 10
    with scratch_database() as database_url:
        with running_service(database_url, clients=2, workers=1) as base:
            ok = run(_measure(base, database_url, args.registrations, args.requests))
    if not ok:
        print("FAIL: a page is over its target")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
