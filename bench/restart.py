"""Rolling restart under load: two web processes behind a proxy, restarted one after
the other while 32 clients register and 16 scan.

    python bench/restart.py [--clients 32] [--scanners 16] [--steady 5]
    python bench/restart.py --smoke     # what CI runs: small and quick

Needs PostgreSQL (EVENTS_BENCH_POSTGRES_URL). Two `events-service serve` processes
(one granian worker each, the in-app outbox worker on, mail to files) listen on two
ports behind a small HTTP relay that does what nginx does with two upstreams: each
request goes to the next upstream in turn on a fresh connection, and a refused
connection is tried on the other one (`proxy_next_upstream error`). Requests already
sent to an upstream are never retried (they are not idempotent). The clients keep
their connections to the relay open, as browsers and door phones keep theirs to the
proxy. After `--steady` seconds, process A gets SIGTERM, is started again and waits
until /health/ready is 200; then the same for B; then `--steady` seconds more.

Printed: the requests made; the ones that failed from the clients' side, with the
reason; the registrations answered 201 against the rows in the database (lost: a 201
without its row); the talent reach against the admissions (`events-service reach
verify`); the outbox rows against the registrations. The ceiling is 0 failed and
0 lost: a client that is told "registered" is registered.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from common import (  # isort: skip
    BENCH_ADMIN,
    KeepAliveClient,
    admin_headers,
    dsn,
    percentile,
    run,
    scratch_database,
)
from checkin import _load_tickets

from events_service.checkin.codes import issue_code
from events_service.settings import new_signing_key_text
from tests.server import cli_env, free_port, run_cli

READY_SECONDS = 60


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _bad_gateway(reason: str) -> bytes:
    body = json.dumps({"status": 502, "title": "Bad gateway", "detail": reason}).encode()
    return (
        f"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class Relay:
    """Round robin over the upstream ports; a refused connection goes to the next."""

    upstreams: list[int]
    port: int = field(default_factory=free_port)
    turn: int = 0
    retried: int = 0  # connections refused by one upstream and sent to the other
    gave_up: Counter[str] = field(default_factory=Counter)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = _content_length(head)
                    body = await reader.readexactly(length) if length else b""
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                writer.write(await self._forward(head + body))
                await writer.drain()
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        first = self.turn
        self.turn = (self.turn + 1) % len(self.upstreams)
        deadline = time.monotonic() + 10
        for attempt in itertools.count():
            port = self.upstreams[(first + attempt) % len(self.upstreams)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                self.retried += 1
                if time.monotonic() > deadline:
                    self.gave_up["every upstream refused for 10 s"] += 1
                    return _bad_gateway("no upstream")
                if attempt % len(self.upstreams) == len(self.upstreams) - 1:
                    await asyncio.sleep(0.05)  # both refused: wait a moment
        try:
            up_writer.write(request)
            await up_writer.drain()
            head = await up_reader.readuntil(b"\r\n\r\n")
            return head + await up_reader.readexactly(_content_length(head))
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            reason = f"upstream closed after the request was sent ({type(error).__name__})"
            self.gave_up[reason] += 1
            return _bad_gateway(reason)
        finally:
            up_writer.close()


@dataclass
class WebProcess:
    env: dict[str, str]
    cwd: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait until ready; seconds it took."""
        started = time.monotonic()
        log = (self.cwd / f"web-{self.port}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "events_service.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"web process exited:\n{self.log()}")
            try:
                ready = httpx.get(f"http://127.0.0.1:{self.port}/health/ready", timeout=1)
                if ready.status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if time.monotonic() - started > READY_SECONDS:
                raise SystemExit(f"web process not ready:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> tuple[int, float]:
        """SIGTERM and wait: exit code and seconds."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        return code, time.monotonic() - started

    def log(self) -> str:
        return (self.cwd / f"web-{self.port}.log").read_text()[-3000:]


@dataclass
class Load:
    made: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    registered: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def _registrant(load: Load, base: str, slug: str, numbers: itertools.count[int]) -> None:
    client = KeepAliveClient(base)
    while not load.done.is_set():
        n = next(numbers)
        body = json.dumps({"name": f"Restart Person {n}", "email": f"restart{n}@example.org",
                           "organisation": f"Org {n % 40}", "consent": True})  # fmt: skip
        load.made["registrations"] += 1
        started = time.perf_counter()
        try:
            status, _ = await client.request("POST", f"/api/v1/register/{slug}", body.encode())
        except (OSError, asyncio.IncompleteReadError) as error:
            reason = f"connection to the proxy failed ({type(error).__name__})"
            load.failed[f"registration: {reason}"] += 1
            client = KeepAliveClient(base)
            continue
        load.latencies.append(time.perf_counter() - started)
        if status == 201:
            load.registered += 1
        else:
            load.failed[f"registration: HTTP {status}"] += 1
    await client.close()


async def _scanner(
    load: Load, base: str, event_id: int, codes: list[str], headers: dict[str, str],
    numbers: itertools.count[int],
) -> None:  # fmt: skip
    client = KeepAliveClient(base)
    while not load.done.is_set():
        n = next(numbers)
        # Past the last ticket the doors scan them again: "already admitted" answers.
        code = codes[n % len(codes)]
        body = json.dumps({"event_id": event_id, "gate": f"gate {n % 4}", "code": code,
                           "scan_id": str(uuid.uuid4())})  # fmt: skip
        load.made["scans"] += 1
        started = time.perf_counter()
        try:
            status, answer = await client.request(
                "POST", "/api/v1/checkins", body.encode(), headers
            )
        except (OSError, asyncio.IncompleteReadError) as error:
            load.failed[f"scan: connection to the proxy failed ({type(error).__name__})"] += 1
            client = KeepAliveClient(base)
            continue
        load.latencies.append(time.perf_counter() - started)
        verdict = json.loads(answer).get("verdict") if status == 200 else None
        if verdict in ("admitted", "already_admitted"):
            load.verdicts[verdict] += 1
        else:
            load.failed[f"scan: HTTP {status}"] += 1
    await client.close()


async def _setup(base: str, database_url: str, tickets: int) -> tuple[str, int, list[int], dict]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        admin = await admin_headers(http)
        now = datetime.now(UTC)
        event = (
            await http.post(
                "/api/v1/events",
                json={"kind": "summit", "title": "Restart summit",
                      "starts_at": (now - timedelta(hours=1)).isoformat(),
                      "ends_at": (now + timedelta(hours=8)).isoformat()},
                headers=admin,
            )
        ).json()  # fmt: skip
        await http.post(f"/api/v1/events/{event['id']}/publish", headers=admin)
        link = (
            await http.post(
                f"/api/v1/events/{event['id']}/links", json={"label": "bench"}, headers=admin
            )
        ).json()
    ids = await _load_tickets(database_url, event["id"], tickets)
    return link["slug"], event["id"], ids, admin


async def _in_database(database_url: str, event_id: int) -> dict[str, object]:
    conn = await asyncpg.connect(dsn(database_url))
    try:
        rows = await conn.fetchval(
            "SELECT count(*) FROM registration r JOIN person p ON p.id = r.person_id "
            "WHERE r.event_id = $1 AND p.email LIKE 'restart%'",
            event_id,
        )
        admissions = await conn.fetchval("SELECT count(*) FROM admission")
        people = await conn.fetchval("SELECT count(DISTINCT person_id) FROM admission")
        outbox = dict(
            await conn.fetch(
                "SELECT kind || ' ' || status, count(*) FROM outbox_message GROUP BY 1 ORDER BY 1"
            )
        )
    finally:
        await conn.close()
    return {"registered": rows, "admissions": admissions, "people": people,
            "outbox": outbox}  # fmt: skip


async def _measure(args: argparse.Namespace, database_url: str, work: Path, env: dict) -> int:
    key = base64.urlsafe_b64decode(env["EVENTS_SIGNING_KEY"] + "==")
    web = [WebProcess(env, work), WebProcess(env, work)]
    await asyncio.gather(*(asyncio.to_thread(process.start) for process in web))
    relay = Relay([process.port for process in web])
    await relay.start()
    base = f"http://127.0.0.1:{relay.port}"
    slug, event_id, ids, admin = await _setup(base, database_url, args.tickets)
    codes = [issue_code(key, rid, event_id) for rid in ids]
    load = Load()
    registrations, scans = itertools.count(), itertools.count()
    clients = [
        *(_registrant(load, base, slug, registrations) for _ in range(args.clients)),
        *(_scanner(load, base, event_id, codes, admin, scans) for _ in range(args.scanners)),
    ]
    print(
        f"2 web processes (1 granian worker each) behind a round-robin relay; "
        f"{args.clients} clients registering, {args.scanners} scanning "
        f"{args.tickets} tickets; {args.steady:g} s before, between and after the restarts"
    )
    running = asyncio.gather(*clients)
    phases: list[tuple[str, float, int]] = []

    async def phase(name: str, seconds: float) -> None:
        before, started = sum(load.made.values()), time.monotonic()
        await asyncio.sleep(seconds)
        phases.append((name, time.monotonic() - started, sum(load.made.values()) - before))

    await phase("steady", args.steady)
    restarts = []
    for name, process in zip("AB", web, strict=True):
        before, started = sum(load.made.values()), time.monotonic()
        code, stop_seconds = await asyncio.to_thread(process.stop)
        ready_seconds = await asyncio.to_thread(process.start)
        phases.append(
            (f"restart {name}", time.monotonic() - started, sum(load.made.values()) - before)
        )
        restarts.append((name, code, stop_seconds, ready_seconds))
        await phase(f"after {name}", args.steady)
    load.done.set()
    await running
    await relay.stop()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web[0].port}") as http:
        reached = (await http.get("/api/v1/reach")).json()["talents_reached"]
    for process in web:
        await asyncio.to_thread(process.stop)
    verify = await asyncio.to_thread(run_cli, "reach", "verify", env=env, cwd=work)
    figures = await _in_database(database_url, event_id)

    for name, code, stop_seconds, ready_seconds in restarts:
        print(
            f"  restart {name}: SIGTERM -> exit {code} in {stop_seconds:.1f} s, "
            f"started again and ready in {ready_seconds:.1f} s"
        )
    for name, seconds, count in phases:
        print(f"  {name:12} {count / seconds:7.0f} requests/s  ({count} in {seconds:.1f} s)")
    made = sum(load.made.values())
    failed = sum(load.failed.values())
    p50, p99 = percentile(load.latencies, 0.5) * 1000, percentile(load.latencies, 0.99) * 1000
    print(
        f"  requests made: {made} ({load.made['registrations']} registrations, "
        f"{load.made['scans']} scans; p50 {p50:.1f} ms, p99 {p99:.1f} ms)"
    )
    print(f"  failed from the clients' side: {failed}   (ceiling 0)")
    for reason, count in load.failed.most_common():
        print(f"    {count:6}  {reason}")
    print(f"  relay: {relay.retried} refused connections sent to the other process")
    for reason, count in relay.gave_up.most_common():
        print(f"    {count:6}  answered 502: {reason}")
    rows = figures["registered"]
    lost = max(0, load.registered - rows)  # type: ignore[operator]
    print(
        f"  registrations answered 201: {load.registered}, rows in the database: {rows}, "
        f"lost: {lost}   (ceiling 0)"
    )
    print(
        f"  scans: {load.verdicts['admitted']} admitted, "
        f"{load.verdicts['already_admitted']} already admitted; admissions in the table: "
        f"{figures['admissions']}, distinct people {figures['people']}, reach {reached}"
    )
    print(f"  reach verify: {verify.stdout.strip().splitlines()[-1]}")
    print(f"  outbox rows by kind and status: {figures['outbox']}")
    exact = verify.returncode == 0 and reached == figures["people"]
    if lost or not exact:
        print("FAIL: a registration was lost or the reach is not exact", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="registering clients")
    parser.add_argument("--scanners", type=int, default=16, help="scanning clients")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--steady", type=float, default=5.0, help="seconds around restarts")
    parser.add_argument(
        "--smoke", action="store_true", help="8 + 4 clients, 1 s around restarts, 500 tickets"
    )
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.scanners, args.tickets, args.steady = 8, 4, 500, 1.0
    key_text = new_signing_key_text()
    with scratch_database() as database_url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pool = args.clients + args.scanners  # one process takes all while the other restarts
        env = cli_env(
            f"{database_url}?maxsize={min(pool, 30)}",
            work,
            EVENTS_SIGNING_KEY=key_text,
            EVENTS_REGISTRATIONS_PER_MINUTE="100000000",
            EVENTS_SMTP_URL=f"file://{work / 'mail'}",
        )
        email, password = BENCH_ADMIN
        create = ["users", "create", "--email", email, "--password", password, "--role", "admin"]
        for command in (["migrate"], create):
            done = run_cli(*command, env=env, cwd=work)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        return run(_measure(args, database_url, work, env))


if __name__ == "__main__":
    raise SystemExit(main())
