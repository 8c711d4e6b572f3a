"""Benchmark: ticket e-mails delivered per second by 1 and by 2 outbox workers.

Queues N ticket messages (each rendered at send time: templates, QR code, .ics),
starts `events-service worker` processes against a local aiosmtpd server (in its
own process) and times until every row is marked sent. The ceiling, measured in
the same run against the same server: raw aiosmtplib sending an already built
message of the same size over the same number of connections, with no database
and no rendering. Beside each worker figure: the CPU PostgreSQL and the worker
processes spent per message from the first message sent to the last (read from
/proc; PostgreSQL's processes on this machine).

    .venv/bin/python bench/outbox.py            # 5,000 messages (PostgreSQL)
    .venv/bin/python bench/outbox.py --smoke    # 300 messages, for CI

Needs PostgreSQL: EVENTS_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

from common import CpuMeter, CpuSample, dsn, run, scratch_database  # isort: skip
from tests.server import free_port

CONCURRENCY = 8  # messages in flight per worker (its SMTP connections)

SMTP_SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


async def seed(url: str, total: int) -> int:
    """One event, `total` confirmed registrations and a ticket message due for each.

    Distinct registrations, so nothing rendered for one message serves another.
    Returns the size in bytes of one such message, as the worker builds it."""
    from tortoise import timezone

    from events_service.db import database, migrate
    from events_service.settings import Settings
    from models import Event
    from models.enums import EventStatus
    from notifications.messages import MessageBuilder, Queued

    await migrate(url)
    async with database(url):
        now = timezone.now()
        event = await Event.create(
            kind="summit",
            title="Internet + Auto Summit",
            venue="Hall A",
            starts_at=now + timedelta(days=10),
            ends_at=now + timedelta(days=10, hours=6),
            status=EventStatus.PUBLISHED,
        )
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            """
            INSERT INTO person (email, name, locale, created_at)
            SELECT 'attendee' || n || '@example.org', 'Attendee ' || n, 'en', now()
            FROM generate_series(1, $1::int) AS n
            """,
            total,
        )
        await conn.execute(
            """
            INSERT INTO registration
                (person_id, event_id, status, manage_token, locale, created_at, updated_at)
            SELECT id, $1, 'confirmed', md5(random()::text || id), 'en', now(), now()
            FROM person
            """,
            event.id,
        )
        await conn.execute(
            """
            INSERT INTO outbox_message
                (kind, dedupe_key, recipient, locale, payload, status, attempts, due_at,
                 created_at)
            SELECT 'registration.confirmed', 'registration.confirmed:' || r.id, p.email, 'en',
                   json_build_object('registration_id', r.id)::jsonb, 'pending', 0, now(), now()
            FROM registration r JOIN person p ON p.id = r.person_id
            """
        )
        first = await conn.fetchval("SELECT min(id) FROM registration")
    finally:
        await conn.close()
    async with database(url):
        queued = Queued(1, "registration.confirmed", "k", "a@example.org", "en", {})
        queued = dataclasses.replace(queued, payload={"registration_id": first})
        sample = await MessageBuilder(Settings(signing_key=os.urandom(32))).build(queued)
    return len(sample.as_bytes())


async def wait_until_sent(
    url: str, total: int, processes: list[subprocess.Popen], cpu: CpuMeter, side: str
) -> int:
    """Wait until all `total` messages are sent. The CPU is measured from the first
    message seen sent to the last, as the rate is (start-up left out); returns how
    many messages were sent in that span."""
    conn = await asyncpg.connect(dsn(url))
    try:
        deadline = time.monotonic() + 600
        sql = "SELECT count(*) FROM outbox_message WHERE status = 'sent'"
        first: tuple[int, CpuSample] | None = None
        while (done := await conn.fetchval(sql)) < total:
            if first is None and done:
                first = (done, cpu.sample())
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"workers stopped or stalled at {done}/{total} messages")
            await asyncio.sleep(0.05)
        after = cpu.sample()  # before the workers stop: their time is theirs until then
        sent_before, before = first or (0, after)
        cpu.record(side, before, after)
        return total - sent_before
    finally:
        await conn.close()


async def sample_size(url: str) -> int:
    conn = await asyncpg.connect(dsn(url))
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox_message")
    finally:
        await conn.close()


async def sending_seconds(url: str) -> float:
    """From the first message marked sent to the last: the workers' steady rate,
    without their start-up (imports, connections) in it."""
    conn = await asyncpg.connect(dsn(url))
    try:
        sql = "SELECT extract(epoch FROM max(sent_at) - min(sent_at)) FROM outbox_message"
        return float(await conn.fetchval(sql))
    finally:
        await conn.close()


def run_workers(
    url: str, smtp_port: int, workers: int, total: int, work: Path, cpu: CpuMeter, side: str
) -> tuple[float, int]:
    """Seconds until `total` messages are sent by `workers` worker processes, and how
    many were sent while the CPU was measured (under `side`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
    env.update(
        EVENTS_DATABASE_URL=f"{url}?maxsize={CONCURRENCY + 2}",
        EVENTS_DATA_DIR=str(work),
        EVENTS_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
    )
    command = [sys.executable, "-m", "events_service.cli", "worker"]
    command += ["--concurrency", str(CONCURRENCY)]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, cwd=work, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    cpu.roots = [process.pid for process in processes]  # the workers, not the SMTP sink
    try:
        measured = run(wait_until_sent(url, total, processes, cpu, side))
        return time.perf_counter() - started, measured
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def raw_ceiling(smtp_port: int, total: int, connections: int, size: int) -> float:
    """Raw aiosmtplib: one built message, sent `total` times over kept-open connections."""
    from email.message import EmailMessage

    import aiosmtplib

    message = EmailMessage()
    message["From"] = "events@localhost"
    message["To"] = "attendee@example.org"
    message["Subject"] = "Your ticket"
    message.set_content("x" * size)
    jobs = iter(range(total))

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_port)
        await client.connect()
        for _ in jobs:
            await client.send_message(message)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return total / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--smoke", action="store_true", help="300 messages (CI)")
    args = parser.parse_args()
    total = 300 if args.smoke else args.messages

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SMTP_SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    print(f"outbox delivery: {total} ticket e-mails (QR + .ics) to a local aiosmtpd")
    try:
        rates = {}
        size = 0
        for workers in (1, 2):
            with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
                size = run(seed(url, total))
                assert run(sample_size(url)) == total
                cpu = CpuMeter(url)
                side = f"{workers} workers"
                wall, measured = run_workers(url, port, workers, total, Path(tmp), cpu, side)
                steady = run(sending_seconds(url))
                rates[workers] = (total - 1) / steady
                print(
                    f"  {workers} worker process(es) x {CONCURRENCY} connections "
                    f"{rates[workers]:8.0f} messages/s   (all {total} sent; {wall:.1f} s "
                    "with process start-up)"
                )
                if measured:
                    cpu.report(side, "message", measured, service="worker CPU")
        print(f"  (one ticket e-mail is {size / 1000:.1f} kB; the ceiling sends that much)")
        for connections in (CONCURRENCY, 2 * CONCURRENCY):
            ceiling = run(raw_ceiling(port, total, connections, size))
            print(
                f"  ceiling: raw aiosmtplib, {connections:2} connections "
                f"{ceiling:8.0f} messages/s   (no database, no rendering)"
            )
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
