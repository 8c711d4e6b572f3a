"""Graceful restarts (issue 21): SIGTERM stops accepting, finishes the requests in
flight, drains the in-app outbox worker, and exits 0; a worker stopped in the middle
of a send gives its rows back instead of sitting on them until the lease ends."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from litestar import Litestar

from events_service.programme.live import STREAM_SECONDS
from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.runner import delivering
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker
from tests.conftest import Backend
from tests.factories import make_event, make_link
from tests.mail_server import slow_smtp_server, smtp_server
from tests.server import STARTUP_SECONDS, cli_env, free_port, run_cli
from tests.test_notifications import eventually, queue_one, raw_fetch

ADMIN = ("admin@example.org", "admin-password-1")
IN_FLIGHT = 30


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = cwd / f"server-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "events_service.cli", "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return process, base, log
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


async def _raw_post(
    port: int, path: str, body: dict[str, object]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a whole request on a fresh connection; the caller reads the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data)
    await writer.drain()
    return reader, writer


async def _status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int | str:
    try:
        answer = await asyncio.wait_for(reader.read(), 60)
    except OSError as error:
        return f"{type(error).__name__}"
    finally:
        writer.close()
    return int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else f"no answer: {answer[:40]!r}"


def _person(n: int) -> dict[str, object]:
    return {"name": f"Person {n}", "email": f"p{n}@example.org", "consent": True}


def test_sigterm_finishes_requests_in_flight_drains_the_outbox_and_exits_0(
    server_database_url: str, tmp_path: Path
) -> None:
    with smtp_server() as (mailbox, smtp_url):
        env = cli_env(
            server_database_url,
            tmp_path,
            EVENTS_SMTP_URL=smtp_url,
            EVENTS_REGISTRATIONS_PER_MINUTE="100000",
        )
        email, password = ADMIN
        made = run_cli(
            "users", "create", "--email", email, "--password", password, "--role", "admin",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        process, base, log = _start(env, tmp_path)
        port = int(base.rsplit(":", 1)[1])
        try:

            async def scenario() -> tuple[list[int | str], float, int | None, bool]:
                async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                    login = await http.post(
                        "/api/v1/auth/login", json={"email": email, "password": password}
                    )
                    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                    http.cookies.clear()
                    event = await make_event(http, admin)
                    slug = (await make_link(http, admin, event["id"]))["slug"]
                    # A dashboard's live stream is open too: it must not hold the
                    # restart (it ends within STREAM_SECONDS; EventSource reconnects).
                    stream = http.build_request("GET", "/api/v1/reach/stream")
                    live = await http.send(stream, stream=True)
                    assert live.status_code == 200
                    # Every request is on the wire before the signal.
                    path = f"/api/v1/register/{slug}"
                    sent = await asyncio.gather(
                        *(_raw_post(port, path, _person(n)) for n in range(IN_FLIGHT))
                    )
                    await asyncio.sleep(0.05)
                    stopped_at = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    answers = await asyncio.gather(*(_status(r, w) for r, w in sent))
                    # No new connection is taken once the server stops.
                    refused = False
                    while process.poll() is None and time.monotonic() - stopped_at < 40:
                        try:
                            _, writer = await asyncio.open_connection("127.0.0.1", port)
                            writer.close()
                        except ConnectionRefusedError:
                            refused = True
                            break
                        await asyncio.sleep(0.05)
                    code = await asyncio.to_thread(process.wait, 40)
                    # The stream ended cleanly (not cut): the browser just reconnects.
                    body = b"".join([chunk async for chunk in live.aiter_bytes()])
                    assert b"event: figures" in body
                    await live.aclose()
                return answers, time.monotonic() - stopped_at, code, refused

            answers, seconds, code, refused = asyncio.run(scenario())
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output = log.read_text()
        assert answers == [201] * IN_FLIGHT, output
        assert code == 0, output
        assert refused, "the port still took connections after SIGTERM"
        # The live stream's 20 s bound, not granian's kill timeout (40 s), ended it.
        assert seconds < STREAM_SECONDS + 8, output
        assert "Traceback" not in output
        statuses = asyncio.run(raw_fetch(server_database_url, "SELECT status FROM outbox_message"))
        # The in-app worker drained before the process exited: nothing is left
        # leased by a process that is gone; what it sent is marked sent.
        assert ("sending",) not in statuses
        sent = [s for (s,) in statuses if s == "sent"]
        assert len(statuses) == IN_FLIGHT
        assert len(sent) == len(mailbox.messages)
        assert len(set(mailbox.message_ids())) == len(mailbox.messages)


async def test_a_worker_stopped_mid_send_releases_what_it_holds(app: Litestar, db: Backend) -> None:
    first = await queue_one("stop-mid-send")
    second = await queue_one("stop-waiting")
    with slow_smtp_server(delay=60) as (hanging, hanging_url):
        settings = dataclasses.replace(app.state.settings, smtp_url=hanging_url)
        started = time.monotonic()
        # One slot: the first message is at the (hanging) mail server, the second waits.
        async with delivering(settings, concurrency=1, stop_seconds=1):
            assert await eventually(lambda: bool(hanging.messages), 10)
        assert time.monotonic() - started < 15
        waiting = await OutboxMessage.get(id=second.id)
        # Never handed over: pending again, that attempt not counted, due now.
        assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 0
        held = await OutboxMessage.get(id=first.id)
        # At the mail server when the worker stopped: its lease ends now, not in a minute.
        assert held.status == OutboxStatus.SENDING and held.attempts == 1
        with smtp_server() as (mailbox, url):
            survivor = DeliveryWorker(
                dataclasses.replace(settings, smtp_url=url), sender_from_url(url)
            )
            assert await survivor.run_once() == 2
        (hung,) = hanging.messages
        assert hung["Message-ID"] in mailbox.message_ids()
    first = await OutboxMessage.get(id=first.id)
    second = await OutboxMessage.get(id=second.id)
    assert first.status == second.status == OutboxStatus.SENT
    assert first.redeliveries == 1 and second.redeliveries == 0 and second.attempts == 1
