"""Notifications end to end: registration -> outbox -> worker -> a real SMTP server.

The server is aiosmtpd in the test process; what it receives is parsed with the
standard `email` package, the inline QR is decoded with zxing-cpp and the invite
parsed with `icalendar`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import zxingcpp
from icalendar import Calendar
from litestar import Litestar
from PIL import Image
from tortoise import timezone

from events_service.checkin.codes import read_code
from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.outbox import Kind, enqueue
from notifications.reminders import queue_due_reminders
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker
from tests.conftest import Backend, LoginAs
from tests.factories import attendee, in_days, make_event, make_link, register, token_of
from tests.mail_server import Mailbox, slow_smtp_server, smtp_server
from tests.server import cli_env, free_port


@pytest.fixture
def mail() -> Any:
    with smtp_server() as server:
        yield server


def worker_for(app: Litestar, smtp_url: str, **options: Any) -> DeliveryWorker:
    overrides = {k: options.pop(k) for k in list(options) if k.startswith("outbox_")}
    settings = dataclasses.replace(app.state.settings, smtp_url=smtp_url, **overrides)
    return DeliveryWorker(settings, sender_from_url(smtp_url), **options)


async def deliver_all(worker: DeliveryWorker) -> int:
    sent = 0
    while claimed := await worker.run_once():
        sent += claimed
    return sent


async def make_due_now() -> None:
    """Stand-in for waiting out a retry delay."""
    await OutboxMessage.filter(status=OutboxStatus.PENDING).update(due_at=timezone.now())


def parts_by_type(message: EmailMessage, content_type: str) -> list[EmailMessage]:
    return [p for p in message.walk() if p.get_content_type() == content_type]  # type: ignore[misc]


async def open_event(client: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> tuple:
    event = await make_event(client, admin, **fields)
    link = await make_link(client, admin, event["id"])
    return event, link["slug"]


async def test_the_ticket_mail_carries_a_scannable_code_and_an_invite(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    event, slug = await open_event(client, admin, title="Connected Cars Summit", venue="Hall B")
    ticket = (await register(client, slug, attendee(1, name="Li Wei"))).json()

    assert await deliver_all(worker_for(app, url)) == 1
    (message,) = mailbox.to("attendee1@example.org")
    assert message["Subject"] == "Your ticket: Connected Cars Summit"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hello Li Wei" in text and "Hall B" in text
    assert f"/t/{token_of(ticket)}" in text and f"/t/{token_of(ticket)}" in html

    # The inline image is the one the HTML points at, and it scans to a valid code.
    (inline,) = [p for p in parts_by_type(message, "image/png") if p["Content-ID"]]
    assert f"cid:{inline['Content-ID'].strip('<>')}" in html
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(inline.get_content())))
    claims = read_code(app.state.settings.signing_key, decoded[0].text)
    assert (claims.registration_id, claims.event_id) == (ticket["registration_id"], event["id"])
    filenames = {p.get_filename() for p in message.iter_attachments()}  # type: ignore[attr-defined]
    assert filenames == {"ticket.png", "invite.ics"}

    (invite,) = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]  # type: ignore[attr-defined]
    calendar = Calendar.from_ical(invite.get_content())
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["summary"]) == "Connected Cars Summit"
    assert str(vevent["location"]) == "Hall B"

    row = await OutboxMessage.get(kind=Kind.REGISTRATION_CONFIRMED)
    assert row.status == OutboxStatus.SENT and row.attempts == 1
    assert row.message_id == message["Message-ID"]


async def test_mail_is_in_the_language_chosen_on_the_form(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    _, slug = await open_event(client, admin, title="智能网联汽车峰会")
    await register(client, slug, attendee(2, locale="zh-Hans", name="王芳"))
    await deliver_all(worker_for(app, url))
    (message,) = mailbox.to("attendee2@example.org")
    assert message["Subject"] == "您的入场凭证：智能网联汽车峰会"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "王芳，您好" in text and "王芳，您好" in html
    assert "入场" in text and "Show the code" not in text and "Hello" not in html
    (invite,) = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]  # type: ignore[attr-defined]
    (vevent,) = Calendar.from_ical(invite.get_content()).walk("VEVENT")
    assert str(vevent["summary"]) == "智能网联汽车峰会"
    assert "您的入场凭证：http" in str(vevent["description"])


async def test_html_escapes_what_organisers_and_attendees_typed(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    _, slug = await open_event(client, admin, title="<script>alert(1)</script> Day")
    await register(client, slug, attendee(3, name="Tom <b>Bold</b>"))
    await deliver_all(worker_for(app, url))
    (message,) = mailbox.to("attendee3@example.org")
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Bold</b>" not in html


async def test_waitlist_cancel_and_promotion_each_send_their_message(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    _, slug = await open_event(client, admin, capacity=1, waitlist_enabled=True)
    first = (await register(client, slug, attendee(10))).json()
    second = (await register(client, slug, attendee(11))).json()
    assert second["status"] == "waitlisted"
    await deliver_all(worker_for(app, url))
    (waitlisted,) = mailbox.to("attendee11@example.org")
    assert waitlisted["Subject"].startswith("You are on the waitlist")
    assert not parts_by_type(waitlisted, "image/png")  # no code until there is a seat

    cancelled = await client.post(f"/t/{token_of(first)}/cancel", follow_redirects=False)
    assert cancelled.status_code in (200, 303)
    await deliver_all(worker_for(app, url))
    assert [m["Subject"] for m in mailbox.to("attendee10@example.org")][-1].startswith(
        "Registration cancelled"
    )
    promoted = mailbox.to("attendee11@example.org")[-1]
    assert promoted["Subject"].startswith("A place freed up")
    assert parts_by_type(promoted, "image/png")
    kinds = sorted(await OutboxMessage.all().values_list("kind", flat=True))
    assert kinds == sorted(
        [
            Kind.REGISTRATION_CONFIRMED,
            Kind.REGISTRATION_WAITLISTED,
            Kind.REGISTRATION_CANCELLED,
            Kind.REGISTRATION_PROMOTED,
        ]
    )


async def test_a_registration_refused_for_lack_of_seats_queues_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, slug = await open_event(client, admin, capacity=1, waitlist_enabled=False)
    await register(client, slug, attendee(20))
    refused = await register(client, slug, attendee(21))
    assert refused.status_code == 409
    assert await OutboxMessage.filter(recipient="attendee21@example.org").count() == 0
    # The same person registering twice is one registration; its ticket is mailed
    # once more (never shown to whoever typed the address), and no more than once.
    await register(client, slug, attendee(20))
    await register(client, slug, attendee(20))
    assert await OutboxMessage.filter(recipient="attendee20@example.org").count() == 2


async def test_a_down_mail_server_keeps_the_message_until_it_is_back(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    port = free_port()  # nothing listens here yet
    url = f"smtp://127.0.0.1:{port}?timeout=2"
    _, slug = await open_event(client, admin)
    await register(client, slug, attendee(30))
    worker = worker_for(app, url, outbox_retry_base_seconds=60)

    await worker.run_once()
    row = await OutboxMessage.get(recipient="attendee30@example.org")
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.last_error and "connect" in row.last_error.lower()
    # Backoff: not due again at once (30-60 s for a 60 s base after one failure).
    assert row.due_at > timezone.now() + timedelta(seconds=25)
    assert await worker.run_once() == 0

    with smtp_server(port) as (mailbox, _):
        await make_due_now()
        assert await deliver_all(worker) == 1
        await make_due_now()
        assert await deliver_all(worker) == 0
        assert len(mailbox.to("attendee30@example.org")) == 1
    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.last_error is None


async def test_after_the_last_attempt_the_message_fails_and_an_organiser_can_retry_it(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    port = free_port()
    worker = worker_for(app, f"smtp://127.0.0.1:{port}?timeout=2", outbox_max_attempts=2)
    _, slug = await open_event(client, admin)
    await register(client, slug, attendee(40))
    await worker.run_once()
    await make_due_now()
    await worker.run_once()
    row = await OutboxMessage.get(recipient="attendee40@example.org")
    assert row.status == OutboxStatus.FAILED and row.attempts == 2

    listed = await client.get("/api/v1/outbox", params={"status": "failed"}, headers=admin)
    assert listed.status_code == 200
    body = listed.json()
    assert [item["id"] for item in body["items"]] == [row.id]
    assert body["items"][0]["last_error"] and body["counts"]["failed"] == 1
    door = await login_as("staff")
    assert (await client.get("/api/v1/outbox", headers=door)).status_code == 403

    retried = await client.post(f"/api/v1/outbox/{row.id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    again = await client.post(f"/api/v1/outbox/{row.id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    missing = await client.post("/api/v1/outbox/999999/retry", headers=admin)
    assert missing.status_code == 404
    with smtp_server(port) as (mailbox, _):
        assert await deliver_all(worker) == 1
        assert len(mailbox.to("attendee40@example.org")) == 1


class Crash(BaseException):
    """The process dying: not an error the worker handles."""


async def test_a_crash_between_send_and_mark_costs_at_most_one_duplicate(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    _, slug = await open_event(client, admin)
    await register(client, slug, attendee(50))

    async def die(_: object) -> None:
        raise Crash

    with pytest.raises(Crash):
        await worker_for(app, url, lease_seconds=0.3, before_mark=die).run_once()
    row = await OutboxMessage.get(recipient="attendee50@example.org")
    assert row.status == OutboxStatus.SENDING  # sent, but never marked
    survivor = worker_for(app, url, lease_seconds=0.3)
    assert await survivor.run_once() == 0  # the dead worker's lease still holds
    await asyncio.sleep(0.4)
    assert await deliver_all(survivor) == 1
    assert await deliver_all(survivor) == 0

    copies = mailbox.to("attendee50@example.org")
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.SENT and row.message_id == copies[0]["Message-ID"]
    assert row.redeliveries == 1


async def eventually(condition: Callable[[], Awaitable[bool] | bool], seconds: float) -> bool:
    """Whether `condition` holds within `seconds`, polling it."""
    deadline = time.monotonic() + seconds
    while True:
        held = condition()
        if await held if inspect.isawaitable(held) else held:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def queue_one(key: str) -> OutboxMessage:
    await enqueue(
        kind=Kind.JUDGE_ASSIGNED,
        dedupe_key=key,
        recipient=f"{key}@example.org",
        payload={"name": "Judge", "round": "Final", "event": "Cup", "count": 3},
    )
    return await OutboxMessage.get(dedupe_key=key)


async def test_a_send_slower_than_the_lease_keeps_its_row_by_heartbeat(
    app: Litestar, db: Backend
) -> None:
    row = await queue_one("slow-send")
    with slow_smtp_server(delay=2.0) as (mailbox, url):
        sending = worker_for(app, url, lease_seconds=0.6)
        delivery = asyncio.create_task(sending.run_once())
        # The first worker is in the middle of its send.
        assert await eventually(lambda: bool(mailbox.messages), 10)
        other = worker_for(app, url, lease_seconds=0.6)
        # Three leases long, another worker polls and never gets the row.
        while not delivery.done():
            assert await other.run_once() == 0
            await asyncio.sleep(0.1)
        assert await delivery == 1
        assert len(mailbox.messages) == 1
    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.redeliveries == 0


async def test_a_worker_killed_mid_send_is_redelivered_after_a_short_lease_and_shown(
    app: Litestar,
    db: Backend,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    mail: tuple[Mailbox, str],
    tmp_path: Path,
) -> None:
    row = await queue_one("killed-mid-send")
    with slow_smtp_server(delay=60) as (hanging, hanging_url):
        # A real `events-service worker` with a one-second lease, killed (SIGKILL: no
        # cleanup) while the mail server has the message but has not answered yet.
        env = cli_env(
            db.database_url, tmp_path, EVENTS_SMTP_URL=hanging_url, EVENTS_OUTBOX_LEASE_SECONDS="1"
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "events_service.cli", "worker",
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert await eventually(lambda: bool(hanging.messages), 30), "the worker never sent"
            await asyncio.sleep(2.5)  # over two leases: its heartbeat keeps the row
            held = await OutboxMessage.get(id=row.id)
            assert held.status == OutboxStatus.SENDING and held.due_at > timezone.now()
        finally:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)
        mailbox, url = mail
        survivor = worker_for(app, url)
        # The dead worker's lease runs out within a second; then the row is sent again.
        assert await eventually(survivor.run_once, 5)
        (first,) = hanging.messages
        (second,) = mailbox.messages
        assert first["Message-ID"] == second["Message-ID"]

    listed = await client.get("/api/v1/outbox", headers=admin)
    (item,) = [i for i in listed.json()["items"] if i["id"] == row.id]
    assert item["status"] == "sent" and item["attempts"] == 2
    assert item["redelivered"] is True and item["redeliveries"] == 1
    assert item["message_id"] == first["Message-ID"]


async def test_two_workers_send_each_of_500_messages_exactly_once(
    app: Litestar, db: Backend, mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    for n in range(500):
        await enqueue(
            kind=Kind.JUDGE_ASSIGNED,
            dedupe_key=f"bulk:{n}",
            recipient=f"judge{n}@example.org",
            payload={"name": f"Judge {n}", "round": "Final", "event": "Cup", "count": 3},
        )
    workers = [worker_for(app, url, batch_size=20, concurrency=4) for _ in range(2)]
    counts = await asyncio.gather(*(deliver_all(w) for w in workers))
    assert sum(counts) == 500
    if db.name == "postgres":
        assert min(counts) > 0  # both really worked, side by side
    ids = mailbox.message_ids()
    assert len(ids) == 500 and len(set(ids)) == 500
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 500


async def test_the_file_sender_writes_one_eml_per_message(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], tmp_path: Path
) -> None:
    _, slug = await open_event(client, admin, title="File Day")
    await register(client, slug, attendee(60))
    await deliver_all(worker_for(app, f"file://{tmp_path / 'mail'}"))
    (written,) = list((tmp_path / "mail").glob("*.eml"))
    assert b"Subject: Your ticket: File Day" in written.read_bytes()


async def test_changing_or_cancelling_an_event_tells_everyone_holding_a_place(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], mail: tuple[Mailbox, str]
) -> None:
    mailbox, url = mail
    event, slug = await open_event(client, admin, capacity=2, waitlist_enabled=True)
    tickets = [(await register(client, slug, attendee(70 + n))).json() for n in range(4)]
    await client.post(f"/t/{token_of(tickets[0])}/cancel")  # 71 moves up; 72, 73 wait
    path = f"/api/v1/events/{event['id']}"
    moved = await client.patch(path, json={"venue": "Hall C"}, headers=admin)
    assert moved.status_code == 200
    await client.patch(path, json={"venue": "Hall C"}, headers=admin)  # no change: no mail
    changed = await OutboxMessage.filter(kind=Kind.EVENT_CHANGED).values_list(
        "recipient", flat=True
    )
    assert sorted(changed) == [f"attendee{n}@example.org" for n in (71, 72, 73)]

    cancelled = await client.post(f"{path}/cancel", headers=admin)
    assert cancelled.status_code == 200
    assert await OutboxMessage.filter(kind=Kind.EVENT_CANCELLED).count() == 3
    await deliver_all(worker_for(app, url))
    latest = mailbox.to("attendee72@example.org")[-1]
    assert latest["Subject"].startswith("Cancelled:")


async def test_reminders_go_to_confirmed_attendees_once(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, slug = await open_event(
        client,
        admin,
        capacity=2,
        waitlist_enabled=True,
        starts_at=in_days(0.4),
        ends_at=in_days(0.5),
    )
    for n in range(3):
        await register(client, slug, attendee(80 + n))
    _, later_slug = await open_event(client, admin, starts_at=in_days(3), ends_at=in_days(3.1))
    await register(client, later_slug, attendee(90))

    settings = app.state.settings
    assert await queue_due_reminders(settings) == 2
    assert await queue_due_reminders(settings) == 0  # every worker runs this each minute
    reminded = await OutboxMessage.filter(kind=Kind.EVENT_REMINDER).values_list(
        "recipient", flat=True
    )
    assert sorted(reminded) == ["attendee80@example.org", "attendee81@example.org"]


async def test_concurrent_registrations_each_queue_exactly_one_message(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """No lost notification: every committed registration has its message, no more."""
    _, slug = await open_event(client, admin, capacity=30, waitlist_enabled=True)
    bodies = [attendee(f"c{n}") for n in range(120)] + [attendee("c0")] * 20
    answers = await asyncio.gather(*(register(client, slug, body) for body in bodies))
    assert all(a.status_code in (200, 201) for a in answers), {a.status_code for a in answers}
    registrations = {a.json()["registration_id"]: a.json()["status"] for a in answers}
    assert len(registrations) == 120

    rows = await OutboxMessage.all().values_list("kind", "payload", "dedupe_key")
    # The 20 repeats of c0 mail c0's ticket again: once (a resend has a key of its own).
    resent = [payload["registration_id"] for _, payload, key in rows if "again" in key]
    (c0,) = {a.json()["registration_id"] for a in answers[120:]}
    assert resent == [c0]
    rows = [(kind, payload) for kind, payload, key in rows if "again" not in key]
    by_registration = {payload["registration_id"]: kind for kind, payload in rows}
    assert len(rows) == len(by_registration) == 120
    assert by_registration == {
        rid: Kind.REGISTRATION_CONFIRMED if status == "confirmed" else Kind.REGISTRATION_WAITLISTED
        for rid, status in registrations.items()
    }
    assert list(by_registration.values()).count(Kind.REGISTRATION_CONFIRMED) == 30


QUEUE_RAW = """
INSERT INTO outbox_message
    (kind, dedupe_key, recipient, locale, payload, status, attempts, due_at, created_at)
VALUES ('reach.milestone', $1, $2, 'en', $3, 'pending', 0, $4, $5)
"""


async def raw_executemany(url: str, sql: str, rows: list[tuple]) -> None:
    now = timezone.now()
    rows = [(*row, now, now) for row in rows]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.executemany(re.sub(r"\$\d", "?", sql), rows)
        return
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        await conn.executemany(sql, rows)
    finally:
        await conn.close()


async def raw_fetch(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            return [tuple(row) for row in conn.execute(sql)]
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def run_worker_processes(env: dict[str, str], cwd: Path, mailbox: Mailbox, expected: int) -> list:
    """Start two `events-service worker` processes, wait for `expected` mails, stop
    them with SIGTERM; their (return code, output) pairs."""
    command = [sys.executable, "-m", "events_service.cli", "worker"]
    workers = [
        subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(mailbox.messages) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in workers]
    return [(process.returncode, output) for process, output in zip(workers, outputs, strict=True)]


async def test_worker_processes_share_the_queue_and_drain_on_shutdown(
    server_database_url: str, tmp_path: Path
) -> None:
    """`events-service worker` x2 on one database: each message sent exactly once."""
    # Straight into the child processes' database: this process's Tortoise serves
    # the session's app and must not be re-pointed.
    rows = [
        (
            f"proc:{n}",
            f"organiser{n}@example.org",
            '{"kpi": "talents", "percent": 25, "value": 1800, "target": 7200}',
        )
        for n in range(300)
    ]
    await raw_executemany(server_database_url, QUEUE_RAW, rows)
    with smtp_server() as (mailbox, url):
        env = cli_env(server_database_url, tmp_path, EVENTS_SMTP_URL=url)
        results = await asyncio.to_thread(run_worker_processes, env, tmp_path, mailbox, 300)
        assert [code for code, _ in results] == [0, 0]
        assert all("drained and stopped" in output for _, output in results)
        ids = mailbox.message_ids()
        assert len(ids) == 300 and len(set(ids)) == 300
    statuses = await raw_fetch(server_database_url, "SELECT status FROM outbox_message")
    assert statuses == [("sent",)] * 300
