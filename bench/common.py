"""Shared pieces of the benchmarks: a scratch database, concurrent clients, reporting,
and the CPU that PostgreSQL and the service spend per operation."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
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
    sides: dict[str, Job],
    warm: int,
    measured: int,
    clients: int,
    rounds: int,
    cpu: CpuMeter | None = None,
) -> tuple[dict[str, tuple[float, list[float]]], list[dict[str, float]]]:
    """Each side's jobs 0..warm-1 unmeasured, then `measured` jobs per side in `rounds`
    turns, the order flipped every round (A B, B A, A B, ...).

    A machine that drifts during a run (a neighbour on the host, a checkpoint)
    then weighs on both sides alike, instead of on whichever ran second: on this
    2-core VM one-shot runs of the same code gave 57 % and 77 %. Returns per side the
    summed wall time and all latencies, and per round each side's rate. With `cpu`,
    the CPU used during each side's measured turns is added up under its name.
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

            with cpu.measuring(name) if cpu is not None else nullcontext():
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


# --- CPU per operation ------------------------------------------------------------------
#
# PostgreSQL runs on this machine: the CPU its processes use while a side is measured,
# divided by that side's operations, says how much database work one operation costs,
# which a rate on a shared 2-core machine does not. Read from /proc (utime + stime,
# in clock ticks). A process's own time plus its waited-for children's (cutime +
# cstime): a backend that exits during the measurement leaves the sum of the running
# processes, but the postmaster reaps it and its time reappears in the postmaster's.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    comm: str
    ticks: int  # utime + stime + cutime + cstime


def _proc(pid: int) -> Proc | None:
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    # The command name is in parentheses and may hold spaces or parentheses itself.
    comm = raw[raw.index(b"(") + 1 : raw.rindex(b")")].decode(errors="replace")
    fields = raw[raw.rindex(b")") + 2 :].split()
    # fields[0] is field 3 of proc(5) (state): ppid is 4, utime..cstime 14..17.
    return Proc(pid, int(fields[1]), comm, sum(int(f) for f in fields[11:15]))


def _processes() -> list[Proc] | None:
    """Every process /proc shows; None when /proc cannot be read."""
    try:
        pids = [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return None
    return [p for pid in pids if (p := _proc(pid)) is not None]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    # Arguments end in NUL bytes; a title a process set itself (PostgreSQL's) is one
    # argument with spaces, padded with NULs.
    return raw.replace(b"\0", b" ").decode(errors="replace").split()


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far; None where it cannot be seen."""

    postgres: float | None  # every process named postgres
    backends: float | None  # of which the backends connected to the benchmark's database
    service: float | None  # the service's processes (see service_roots) and their children
    own: float  # this process: the load generator, and the ceilings that run in it


def service_roots(processes: list[Proc]) -> list[int]:
    """This process's children that run the service (`events_service.cli serve` or
    `worker`): their trees are the service; an SMTP sink or `python -c` helper is not."""
    me = os.getpid()
    return [p.pid for p in processes if p.ppid == me and "events_service.cli" in _cmdline(p.pid)]


def cpu_sample(database: str | None = None, roots: Iterable[int] | None = None) -> CpuSample:
    """CPU used so far by PostgreSQL's processes (with `database`: also by the backends
    connected to it alone, since others may use the same server meanwhile)
    and by the service's process trees (`roots`, else service_roots())."""
    own = sum(os.times()[:2])
    processes = _processes()
    if processes is None:
        return CpuSample(None, None, None, own)
    postgres = [p for p in processes if p.comm == "postgres"]
    pg = backends = None
    if postgres:
        pg = sum(p.ticks for p in postgres) / CLOCK_TICKS
        if database is not None:
            # A backend's title: "postgres: [cluster: ]user database host(port) state".
            # Only these can be told apart: the postmaster (holding the time of every
            # backend that exited), checkpointer, WAL writer... serve all databases.
            ours = [p for p in postgres if _is_backend(w := _cmdline(p.pid)) and database in w]
            backends = sum(p.ticks for p in ours) / CLOCK_TICKS
    children: dict[int, list[Proc]] = {}
    for p in processes:
        children.setdefault(p.ppid, []).append(p)
    by_pid = {p.pid: p for p in processes}
    tree = [
        by_pid[r] for r in (service_roots(processes) if roots is None else roots) if r in by_pid
    ]
    service = sum(p.ticks for p in _with_descendants(tree, children)) / CLOCK_TICKS
    return CpuSample(pg, backends, service if tree else None, own)


def _with_descendants(roots: list[Proc], children: dict[int, list[Proc]]) -> Iterator[Proc]:
    pending = list(roots)
    while pending:
        p = pending.pop()
        yield p
        pending.extend(children.get(p.pid, []))


def _is_backend(title: list[str]) -> bool:
    """Whether a postgres process's title is a client's backend: it names the client,
    "host(port)" or "[local]"."""
    return any(w == "[local]" or (w.endswith(")") and "(" in w) for w in title[1:])


def database_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


@dataclass
class CpuUse:
    """CPU seconds used while one side was measured, summed over its turns."""

    postgres: float | None = 0.0
    backends: float | None = 0.0
    service: float | None = 0.0
    own: float = 0.0

    def add(self, before: CpuSample, after: CpuSample) -> None:
        def delta(total: float | None, a: float | None, b: float | None) -> float | None:
            return None if total is None or a is None or b is None else total + b - a

        self.postgres = delta(self.postgres, before.postgres, after.postgres)
        self.backends = delta(self.backends, before.backends, after.backends)
        self.service = delta(self.service, before.service, after.service)
        self.own += after.own - before.own


@dataclass
class CpuMeter:
    """Per side, the CPU used while it was measured; printed per operation."""

    database_url: str | None = None
    used: dict[str, CpuUse] = field(default_factory=dict)
    roots: list[int] | None = None

    def sample(self) -> CpuSample:
        database = database_name(self.database_url) if self.database_url else None
        return cpu_sample(database, self.roots)

    @contextmanager
    def measuring(self, side: str) -> Iterator[None]:
        before = self.sample()
        yield
        self.record(side, before, self.sample())

    def record(self, side: str, before: CpuSample, after: CpuSample) -> None:
        self.used.setdefault(side, CpuUse()).add(before, after)

    def report(
        self, side: str, operation: str, count: int, *, service: str = "", own: str = ""
    ) -> None:
        """Print PostgreSQL's CPU per `operation` for `side`, and the service's and this
        process's under the names given, or why a figure is unavailable."""
        use = self.used.get(side, CpuUse(None, None, None))
        print(f"    {cpu_line('PostgreSQL CPU', operation, use.postgres, count)}", end="")
        if use.postgres is not None and use.backends is not None:
            print(f"  ({use.backends / count * 1000:.2f} ms in the benchmark database's backends)")
        else:
            print()
        if service:
            print(f"    {cpu_line(service, operation, use.service, count)}")
        if own:
            print(f"    {cpu_line(own, operation, use.own, count)}")


def cpu_line(what: str, operation: str, seconds: float | None, count: int) -> str:
    if seconds is None:
        return f"{what} per {operation}: unavailable (not visible in /proc on this machine)"
    return f"{what} per {operation}: {seconds / count * 1000:.2f} ms"


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
            # Set, the service keeps its Prometheus metrics as in production (GET /metrics).
            **(
                {"EVENTS_METRICS_TOKEN": token}
                if (token := os.environ.get("EVENTS_METRICS_TOKEN"))
                else {}
            ),
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
