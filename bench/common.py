"""Shared pieces of the benchmarks: a scratch database, concurrent clients, reporting."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import uvloop

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"

# The server runs on uvloop (granian picks it when installed); the load generator and
# the raw-asyncpg ceilings get the same loop, so neither side is handicapped.
run = uvloop.run


async def raw_pool(database_url: str, size: int) -> asyncpg.Pool:
    """The ceiling's pool: raw asyncpg set up as well as the service's own pool."""
    from events_service.db import PooledConnection

    return await asyncpg.create_pool(
        dsn(database_url), min_size=size, max_size=size, connection_class=PooledConnection
    )


def base_url() -> str:
    return os.environ.get("EVENTS_BENCH_POSTGRES_URL", DEFAULT_URL)


def dsn(url: str) -> str:
    """asyncpg's spelling of a postgres:// URL (without our query options)."""
    return "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one benchmark run; dropped afterwards."""
    server = base_url()
    name = f"events_bench_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        admin = await asyncpg.connect(dsn(server))
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def settle(url: str) -> None:
    """Vacuum and analyse after a bulk load, so that autovacuum does not run in the
    middle of a measurement: steady state, as a long-running service sees it."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def run_clients(
    total: int, clients: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """`clients` concurrent loops sharing `total` numbered jobs: wall time and latencies."""
    latencies: list[float] = []
    jobs = iter(range(total))

    async def client() -> None:
        for n in jobs:
            started = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


Job = Callable[[int], Awaitable[None]]


async def measure_in_turns(
    sides: dict[str, Job], warm: int, measured: int, clients: int, rounds: int
) -> tuple[dict[str, tuple[float, list[float]]], list[dict[str, float]]]:
    """Each side's jobs 0..warm-1 unmeasured, then `measured` jobs per side in `rounds`
    turns, the order flipped every round (A B, B A, A B, ...).

    A machine that drifts during a run (a neighbour on the host, a checkpoint)
    then weighs on both sides alike, instead of on whichever ran second: on this
    2-core VM one-shot runs of the same code gave 57 % and 77 %. Returns per side the
    summed wall time and all latencies, and per round each side's rate.
    """
    for one in sides.values():
        await run_clients(warm, clients, one)
    totals: dict[str, tuple[float, list[float]]] = {name: (0.0, []) for name in sides}
    rates: list[dict[str, float]] = []
    bounds = [warm + measured * r // rounds for r in range(rounds + 1)]
    for turn in range(rounds):
        first, stop = bounds[turn], bounds[turn + 1]
        order = list(sides) if turn % 2 == 0 else list(reversed(sides))
        rates.append({})
        for name in order:
            one = sides[name]

            async def job(n: int, one: Job = one, first: int = first) -> None:
                await one(first + n)

            wall, latencies = await run_clients(stop - first, clients, job)
            walls, seen = totals[name]
            totals[name] = (walls + wall, seen + latencies)
            rates[-1][name] = (stop - first) / wall
    return totals, rates


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(label: str, unit: str, total: int, wall: float, latencies: list[float]) -> float:
    rate = total / wall
    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f"  {label:36} {rate:8.0f} {unit}/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    return rate


BENCH_ADMIN = ("bench@example.org", "bench-password")


@contextmanager
def running_service(
    database_url: str, clients: int, workers: int, pool: int | None = None, **settings: str
) -> Iterator[str]:
    """Migrate the database, create an admin, serve it with granian; yield the base URL."""
    import tempfile

    from tests.server import cli_env, run_cli, server_process

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = cli_env(
            f"{database_url}?maxsize={pool or max(4, clients // workers + 2)}",
            work,
            EVENTS_REGISTRATIONS_PER_MINUTE="100000000",
            # E-mail is delivered by separate `events-service worker` processes, as
            # in a deployment sized for bursts; bench/outbox.py measures delivery.
            EVENTS_OUTBOX_WORKER_IN_APP="false",
            **settings,
        )
        email, password = BENCH_ADMIN
        create = ["users", "create", "--email", email, "--password", password, "--role", "admin"]
        for command in (["migrate"], create):
            done = run_cli(*command, env=env, cwd=work)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        with server_process(env, work, workers=workers) as base:
            yield base


async def admin_headers(http: object) -> dict[str, str]:
    email, password = BENCH_ADMIN
    login = await http.post("/api/v1/auth/login", json={"email": email, "password": password})  # type: ignore[attr-defined]
    http.cookies.clear()  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection each.

    The load generator shares the 2-core machine with the server and PostgreSQL;
    httpx spends several times the CPU per request that this does, which would
    be charged to our endpoint and not to the ceiling it is compared with.
    """

    def __init__(self, base: str) -> None:
        host_port = base.split("://", 1)[1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length) if length else b""

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
