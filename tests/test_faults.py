"""Faults: while the database does not answer, clients get 503 with Retry-After, not 500,
and the service comes back by itself when the database does.

The outage is real: a server process talks to PostgreSQL through a TCP proxy that the
test cuts (dropping connections, then refusing them) and restores; the shared
PostgreSQL server itself keeps running. On SQLite the fault is another writer holding
the file longer than the busy timeout.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from events_service.checkin.codes import issue_code
from events_service.settings import Settings
from tests.mail_server import slow_smtp_server
from tests.server import cli_env, run_cli, server_process
from tests.tcp_proxy import Mode, tcp_proxy

PROBLEM = "application/problem+json"
ADMIN_EMAIL = "ops@example.org"
ADMIN_PASSWORD = "a long enough password"


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(
        database_url,
        tmp_path,
        EVENTS_REGISTRATIONS_PER_MINUTE="100000",
        EVENTS_LOGIN_ATTEMPTS_PER_MINUTE="100000",
    )


def _create_admin(database_url: str, tmp_path: Path) -> None:
    created = run_cli(
        "users", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
        "--role", "admin", env=_env(database_url, tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr


def _signing_key(data_dir: Path) -> bytes:
    """The development signing key the server processes generated under their data dir."""
    return Settings.from_env(cli_env("sqlite://unused.db", data_dir)).signing_key


def _login(http: httpx.Client) -> dict[str, str]:
    login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _open_link(http: httpx.Client, admin: dict[str, str]) -> tuple[int, str]:
    """A published event whose doors are open now, and a registration link's slug."""
    now = datetime.now(UTC)
    event = http.post(
        "/api/v1/events",
        json={
            "kind": "summit",
            "title": "Outage Day",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat(),
            "timezone": "Asia/Shanghai",
        },
        headers=admin,
    )
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    assert http.post(f"/api/v1/events/{event_id}/publish", headers=admin).status_code == 200
    link = http.post(f"/api/v1/events/{event_id}/links", json={"label": "A"}, headers=admin)
    assert link.status_code == 201, link.text
    return event_id, link.json()["slug"]


class Requests:
    """A public read, a registration, a staff route and a door scan, as clients send them."""

    def __init__(
        self, http: httpx.Client, admin: dict[str, str], event_slug: tuple[int, str], key: bytes
    ) -> None:
        self.http, self.admin = http, admin
        self.event_id, self.slug = event_slug
        self.sent = 0
        first = self.all()
        assert_working(first)
        self.code = issue_code(key, first[1].json()["registration_id"], self.event_id)

    def all(self) -> list[httpx.Response]:
        self.sent += 1
        person = {
            "name": f"Person {self.sent}",
            "email": f"person{self.sent}@example.org",
            "consent": True,
        }
        responses = [
            self.http.get("/api/v1/reach"),
            self.http.post(f"/api/v1/register/{self.slug}", json=person),
            self.http.get("/api/v1/events", headers=self.admin),
        ]
        if hasattr(self, "code"):
            scan = {"event_id": self.event_id, "gate": "A", "code": self.code}
            responses.append(self.http.post("/api/v1/checkins", json=scan, headers=self.admin))
        return responses


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"] == "/problems/unavailable" and body["status"] == 503
    assert body["title"] and body["detail"]


def assert_working(responses: list[httpx.Response]) -> None:
    reach, registration, events, *scan = responses
    assert reach.status_code == 200, reach.text
    assert registration.status_code == 201, registration.text
    assert events.status_code == 200, events.text
    for response in scan:  # the first scan admits, later ones say "already admitted"
        assert response.status_code == 200, response.text
        assert response.json()["verdict"] in ("admitted", "already_admitted"), response.text


def _until_working(requests: Requests, seconds: float = 15.0) -> list[httpx.Response]:
    """The first round of requests that all succeed; none may be a 500 meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        responses = requests.all()
        assert all(r.status_code != 500 for r in responses), [r.text for r in responses]
        if all(r.status_code < 300 for r in responses) or time.monotonic() > deadline:
            return responses
        time.sleep(0.2)


def _via(database_url: str, proxy_port: int) -> str:
    """The same database, reached through the proxy."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy_port}"))


def _server_log(tmp_path: Path) -> str:
    return "\n".join(log.read_text() for log in tmp_path.glob("server-*.log"))


def test_a_postgres_outage_is_503_with_retry_after_and_the_service_recovers(
    tmp_path: Path, server_database_url: str
) -> None:
    if not server_database_url.startswith("postgres"):
        pytest.skip("a network outage is a PostgreSQL fault")
    _create_admin(server_database_url, tmp_path)
    target = urlsplit(server_database_url)
    with tcp_proxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        env = _env(_via(server_database_url, proxy.port), tmp_path)
        with server_process(env, tmp_path) as base, httpx.Client(base_url=base) as http:
            admin = _login(http)
            requests = Requests(http, admin, _open_link(http, admin), _signing_key(tmp_path))
            assert_working(requests.all())

            # The link drops every connection (a restart, a fail-over), then nothing
            # listens at all: both answer 503 on every route, none 500.
            for mode in (Mode.RESET, Mode.REFUSE):
                proxy.set_mode(mode)
                for _ in range(5):
                    for response in requests.all():
                        assert_unavailable(response)
            assert http.get("/health").status_code == 503

            proxy.set_mode(Mode.FORWARD)
            assert_working(_until_working(requests))
            assert http.get("/health").status_code == 200
            # The same person again: the registration made before the outage is there.
            again = http.post(
                f"/api/v1/register/{requests.slug}",
                json={"name": "Person 1", "email": "person1@example.org", "consent": True},
            )
            assert again.status_code == 200 and again.json()["created"] is False

    log = _server_log(tmp_path)
    # Logged, but as a few lines, not one traceback per failed request.
    assert "database unavailable" in log
    assert log.count("Traceback") == 0, log[-4000:]
    # 40 requests failed; each source (requests, outbox, live figures) logs once per 30 s.
    assert log.count("database unavailable") <= 6, log[-4000:]


def test_a_locked_sqlite_database_is_503_and_writes_resume_when_it_is_free(
    tmp_path: Path, server_database_url: str
) -> None:
    if not server_database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer")
    _create_admin(server_database_url, tmp_path)
    with (
        server_process(_env(server_database_url, tmp_path), tmp_path) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        admin = _login(http)
        requests = Requests(http, admin, _open_link(http, admin), _signing_key(tmp_path))
        assert_working(requests.all())

        # Another process holds the write lock past the busy timeout (10 s).
        holder = sqlite3.connect(server_database_url.removeprefix("sqlite://"), timeout=1)
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")
        try:
            reach, registration, events, _ = requests.all()
            assert_unavailable(registration)
            # Readers are not blocked in WAL mode.
            assert reach.status_code == 200 and events.status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert_working(requests.all())


QUEUE_ONE = """
INSERT INTO outbox_message
    (kind, dedupe_key, recipient, locale, payload, status, attempts, due_at, created_at)
VALUES ('reach.milestone', 'outage:1', 'ops@example.org', 'en',
        '{"kpi": "talents", "percent": 25, "value": 1800, "target": 7200}',
        'pending', 0, now(), now())
"""


async def test_a_mail_sent_while_the_database_is_down_is_marked_when_it_is_back(
    tmp_path: Path, server_database_url: str
) -> None:
    """The restart that used to cost a duplicate: the worker sends, PostgreSQL goes
    away before the outcome is written, and comes back. The worker waits to write it,
    so the message is sent once, not again when its lease runs out."""
    if not server_database_url.startswith("postgres"):
        pytest.skip("a network outage is a PostgreSQL fault")
    direct = await asyncpg.connect("postgresql://" + server_database_url.split("://", 1)[1])
    try:
        await direct.execute(QUEUE_ONE)
        target = urlsplit(server_database_url)
        with (
            tcp_proxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy,
            slow_smtp_server(delay=1.5) as (mailbox, smtp_url),
        ):
            env = cli_env(_via(server_database_url, proxy.port), tmp_path, EVENTS_SMTP_URL=smtp_url)
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "events_service.cli", "worker",
                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert worker.stdout is not None
            lines: list[bytes] = []
            outage_seen = asyncio.Event()

            async def read_output(stdout: asyncio.StreamReader) -> None:
                while line := await stdout.readline():
                    lines.append(line)
                    if b"database unavailable" in line:
                        outage_seen.set()

            reading = asyncio.create_task(read_output(worker.stdout))
            try:
                for _ in range(300):  # the worker is in the middle of the send
                    if mailbox.messages:
                        break
                    await asyncio.sleep(0.1)
                assert mailbox.messages, "the worker never sent"
                proxy.set_mode(Mode.REFUSE)
                # The send ends while the database is away...
                assert await asyncio.to_thread(mailbox.answered.wait, 30), "no answer sent"
                # ...and the worker has tried to mark it sent and found the database
                # away (its first outage line: the lease's heartbeat is 20 s off yet).
                await asyncio.wait_for(outage_seen.wait(), 30)
                proxy.set_mode(Mode.FORWARD)
                for _ in range(100):
                    status = await direct.fetchval("SELECT status FROM outbox_message")
                    if status == "sent":
                        break
                    await asyncio.sleep(0.1)
            finally:
                worker.send_signal(signal.SIGTERM)
                await asyncio.wait_for(reading, 30)
                await asyncio.wait_for(worker.wait(), 30)
                output = b"".join(lines)
        row = await direct.fetchrow("SELECT status, attempts, redeliveries FROM outbox_message")
    finally:
        await direct.close()
    assert dict(row) == {"status": "sent", "attempts": 1, "redeliveries": 0}, output.decode()
    assert len(mailbox.messages) == 1
    assert b"Traceback" not in output, output.decode()
