"""GET /metrics: behind its token, the service's figures move when things happen, and
several worker processes add up to one scrape (issue 21)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from tortoise import timezone

from events_service.app import create_app
from events_service.settings import Settings
from models import OutboxMessage
from models.enums import OutboxStatus
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import PASSWORD, Backend
from tests.factories import attendee, make_event, make_link, register, token_of
from tests.mail_server import smtp_server
from tests.server import cli_env, free_port, run_cli, server_process
from tests.test_notifications import deliver_all, eventually, queue_one, worker_for

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parent.parent
REGISTER_ROUTE = "/api/v1/register/{slug}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def time_now(minutes: float = 0) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def samples(exposition: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in found.items() if n == name and wanted <= have)


@pytest_asyncio.fixture
async def metrics_http(app: Litestar, db: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app as configured with a metrics token, on the session's database."""
    watched = create_app(dataclasses.replace(app.state.settings, metrics_token=TOKEN))
    transport = httpx.ASGITransport(app=watched)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def scrape(http: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await http.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, samples(response.text)


def test_the_token_is_read_from_the_environment_and_never_shown(tmp_path: Path) -> None:
    base = {"EVENTS_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).metrics_token is None
    assert Settings.from_env({**base, "EVENTS_METRICS_TOKEN": "  "}).metrics_token is None
    settings = Settings.from_env({**base, "EVENTS_METRICS_TOKEN": f" {TOKEN} "})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)


async def test_without_a_configured_token_there_is_no_metrics_endpoint(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, BEARER):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "/problems/not-found"


async def test_a_missing_or_wrong_token_gets_a_401_problem(
    metrics_http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        admin,  # a staff login is not the metrics token
    ]
    for headers in refused:
        response = await metrics_http.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"] == "/problems/metrics-token-required"
        assert "EVENTS_METRICS_TOKEN" in problem["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    text, _ = await scrape(metrics_http)
    assert "events_scans_total" in text or "# TYPE events_scans counter" in text


async def test_registrations_scans_and_deliveries_move_the_figures(
    app: Litestar, metrics_http: httpx.AsyncClient, client: httpx.AsyncClient,
    admin: dict[str, str], door: dict[str, str],
) -> None:  # fmt: skip
    _, before = await scrape(metrics_http)
    full = await make_event(metrics_http, admin, capacity=1, waitlist_enabled=True)
    slug = (await make_link(metrics_http, admin, full["id"]))["slug"]

    first = await register(metrics_http, slug, attendee("m1"))
    assert first.status_code == 201, first.text
    second = await register(metrics_http, slug, attendee("m2"))
    assert second.json()["status"] == "waitlisted"
    again = await register(metrics_http, slug, attendee("m1"))
    assert again.status_code in (200, 201), again.text
    unknown = await register(metrics_http, "no-such-link", attendee("m3"))
    assert unknown.status_code == 404

    event = await event_now(metrics_http, admin)
    ticket = await ticket_for(app, metrics_http, event, await link_for(client, admin, event), 9)
    scans = [(ticket.code, "Door B"), (ticket.code, "Door B"), (ticket.code[:-4] + "AAAA", "C")]
    for code, gate in scans:
        response = await metrics_http.post(
            "/api/v1/checkins", json={"event_id": event["id"], "gate": gate, "code": code},
            headers=door,
        )  # fmt: skip
        assert response.status_code == 200, response.text
    verdicts = ("admitted", "already_admitted", "forged")
    long_gate = "G" * 40  # the longest a gate may be (checkin.schemas.Gate)
    await metrics_http.post(
        "/api/v1/checkins", json={"event_id": event["id"], "gate": long_gate, "code": ticket.code},
        headers=door,
    )  # fmt: skip

    text, after = await scrape(metrics_http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("events_registrations_total", outcome="confirmed") == 2  # + the scan's ticket
    assert moved("events_registrations_total", outcome="waitlisted") == 1
    assert moved("events_registrations_total", outcome="duplicate") == 1
    assert moved("events_registrations_total", outcome="refused") == 1
    assert moved("events_scans_total", verdict=verdicts[0], gate="Door B") == 1
    assert moved("events_scans_total", verdict=verdicts[1], gate="Door B") == 1
    assert moved("events_scans_total", verdict=verdicts[2], gate="C") == 1
    assert moved("events_scans_total", verdict=verdicts[1], gate="G" * 32) == 1
    assert long_gate not in text

    # Request figures per route template: the slug and ticket tokens never appear.
    assert moved("events_requests_total", path=REGISTER_ROUTE, status_code="201") == 3
    assert moved("events_requests_total", path=REGISTER_ROUTE, status_code="404") == 1
    assert moved("events_requests_total", path="/api/v1/checkins", status_code="200") == 4
    assert value(after, "events_request_duration_seconds_count", path="/api/v1/checkins") >= 4
    assert moved("events_requests_total", path="/metrics") == 0
    assert slug not in text and token_of(first.json()) not in text
    assert "attendee" not in text and ticket.code not in text

    # The outbox, read from the database at scrape time.
    pending = await OutboxMessage.filter(status=OutboxStatus.PENDING).count()
    assert pending >= 4
    assert value(after, "events_outbox_messages", status="pending") == pending
    assert value(after, "events_outbox_oldest_pending_age_seconds") >= 0
    assert value(after, "events_database_up") == 1

    # A failed attempt (nobody listens), then every message delivered.
    down = worker_for(app, f"smtp://127.0.0.1:{free_port()}?timeout=2", outbox_retry_base_seconds=1)
    await down.run_once()
    _, failed = await scrape(metrics_http)
    assert (
        value(failed, "events_outbox_delivery_failures_total", final="false")
        - value(after, "events_outbox_delivery_failures_total", final="false")
        == pending
    )
    await OutboxMessage.filter(status=OutboxStatus.PENDING).update(due_at=time_now())
    with smtp_server() as (mailbox, url):
        assert await deliver_all(worker_for(app, url)) == pending
        assert len(mailbox.messages) == pending
    _, delivered = await scrape(metrics_http)
    assert (
        value(delivered, "events_outbox_delivery_attempts_total")
        - value(after, "events_outbox_delivery_attempts_total")
        == 2 * pending
    )
    assert value(delivered, "events_outbox_messages", status="pending") == 0
    assert value(delivered, "events_outbox_oldest_pending_age_seconds") == 0


async def test_an_overdue_message_shows_its_age(
    metrics_http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(metrics_http, admin)
    slug = (await make_link(metrics_http, admin, event["id"]))["slug"]
    await register(metrics_http, slug, attendee("old"))
    await OutboxMessage.all().update(due_at=time_now(minutes=-7))
    _, found = await scrape(metrics_http)
    assert 7 * 60 - 5 <= value(found, "events_outbox_oldest_pending_age_seconds") <= 7 * 60 + 60


async def test_a_separate_outbox_worker_serves_its_own_delivery_figures(
    db: Backend, tmp_path: Path
) -> None:
    """`events-service worker --metrics-port`: the deliveries of a worker process (the
    production set-up) on a local address of its own."""
    await queue_one("worker-metrics")
    port = free_port()
    with smtp_server() as (mailbox, url):
        # A shared folder in the environment must not pull the worker into the web's.
        env = cli_env(db.database_url, tmp_path, EVENTS_SMTP_URL=url,
                      PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "web-metrics"))  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "events_service.cli", "worker", "--metrics-port", str(port),
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert await eventually(lambda: bool(mailbox.messages), 30), "the worker never sent"

            async def figures() -> Samples:
                async with httpx.AsyncClient() as http:
                    return samples((await http.get(f"http://127.0.0.1:{port}/metrics")).text)

            found = await figures()
            assert value(found, "events_outbox_delivery_attempts_total") == 1
            assert value(found, "events_outbox_delivery_failures_total") == 0
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
    assert not (tmp_path / "web-metrics").exists()


def test_a_scrape_while_the_database_is_down_still_shows_the_process_figures(
    tmp_path: Path,
) -> None:
    # Nothing listens on port 1: the database is "down" from the first query.
    env = cli_env("postgres://nobody@127.0.0.1:1/none", tmp_path, EVENTS_METRICS_TOKEN=TOKEN)
    with server_process(env, tmp_path) as base, httpx.Client(base_url=base) as http:
        assert http.get("/api/v1/reach").status_code == 503
        response = http.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    found = samples(response.text)
    assert value(found, "events_database_up") == 0
    assert value(found, "events_requests_total", path="/api/v1/reach", status_code="503") == 1
    assert not any(name.startswith("events_outbox_messages") for name, _ in found)


# -- deploy/: alert rules and dashboard use only metrics the service exposes -----------

_PROMQL_NAME = re.compile(r"\bevents_[a-z0-9_]+\b")


def _names_in(text: str) -> set[str]:
    return set(_PROMQL_NAME.findall(text))


async def test_alert_rules_and_dashboard_use_only_exposed_metrics(
    app: Litestar, metrics_http: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    # Every family has a sample: a registration, a scan and a 5xx-free request or two.
    event = await event_now(metrics_http, admin)
    ticket = await ticket_for(
        app, metrics_http, event, await link_for(metrics_http, admin, event), 1
    )
    await metrics_http.post(
        "/api/v1/checkins", json={"event_id": event["id"], "gate": "A", "code": ticket.code},
        headers=door,
    )  # fmt: skip
    text, found = await scrape(metrics_http)
    exposed = {name for name, _ in found}
    # Families declared but without a sample yet (no 5xx in this run) count too.
    exposed |= {f"{m}{suffix}" for m in re.findall(r"^# TYPE (\S+) ", text, re.M)
                for suffix in ("", "_total", "_bucket", "_count", "_sum")}  # fmt: skip

    rules_text = (ROOT / "deploy" / "prometheus-alerts.yml").read_text()
    yaml = pytest.importorskip("yaml")
    rules = yaml.safe_load(rules_text)
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert {"EventsOutboxStuck", "EventsHigh5xxRate", "EventsDoorScanSlow"} <= set(alerts)
    for rule in alerts.values():
        assert rule["expr"] and rule["labels"]["severity"] and rule["annotations"]["summary"]
    assert "300" in alerts["EventsOutboxStuck"]["expr"]
    assert "0.5" in alerts["EventsDoorScanSlow"]["expr"]
    assert "/api/v1/checkins" in alerts["EventsDoorScanSlow"]["expr"]

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(dashboard["panels"]) >= 9 and all(exprs)
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 30

    used = _names_in(rules_text) | {n for expr in exprs for n in _names_in(expr)}
    assert used, "no metric names found"
    assert used <= exposed, used - exposed
    # And every figure of the issue has a panel.
    for name in (
        "events_requests_total", "events_request_duration_seconds_bucket",
        "events_requests_error_total", "events_scans_total", "events_registrations_total",
        "events_outbox_messages", "events_outbox_oldest_pending_age_seconds",
        "events_outbox_delivery_failures_total", "events_stream_clients",
    ):  # fmt: skip
        assert any(name in expr for expr in exprs), name


# -- a real server with two worker processes --------------------------------------------


def _registrations_per_process(folder: Path) -> dict[int, float]:
    """Each worker's own count of confirmed registrations, read from its file."""
    counts: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, count, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, *_ = json.loads(key)
            if name == "events_registrations_total" and labels.get("outcome") == "confirmed":
                counts[pid] = counts.get(pid, 0) + count
    return counts


def _poll(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_two_worker_processes_add_up_in_one_scrape(
    tmp_path: Path, server_database_url: str
) -> None:
    if server_database_url.startswith("sqlite"):
        pytest.skip("SQLite serves one worker process")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")  # a previous run's
    with smtp_server() as (mailbox, smtp_url):
        env = cli_env(
            server_database_url, tmp_path, EVENTS_METRICS_TOKEN=TOKEN, EVENTS_SMTP_URL=smtp_url,
            EVENTS_REGISTRATIONS_PER_MINUTE="100000",
        )  # fmt: skip
        email = "organiser@example.org"
        made = run_cli("users", "create", "--email", email, "--password", PASSWORD,
                       "--role", "admin", env=env, cwd=tmp_path)  # fmt: skip
        assert made.returncode == 0, made.stderr
        with server_process(env, tmp_path, workers=2) as base:
            assert not (folder / "counter_999999.db").exists()
            sent = asyncio.run(_register_across_workers(base, email, folder))

            with httpx.Client(base_url=base, headers=BEARER) as http:
                found = samples(http.get("/metrics").text)
                per_process = _registrations_per_process(folder)
                assert len([n for n in per_process.values() if n]) == 2, per_process
                assert value(found, "events_registrations_total", outcome="confirmed") == sent
                assert sum(per_process.values()) == sent
                assert value(found, "events_requests_total", path=REGISTER_ROUTE) == sent
                # server_process waited on /health; that and the scrapes are not counted.
                assert not [n for (n, labels) in found if ("path", "/health") in labels]
                assert not [n for (n, labels) in found if ("path", "/metrics") in labels]

                # The in-app outbox workers of both processes deliver every ticket.
                def delivered() -> Samples | None:
                    now = samples(http.get("/metrics").text)
                    done = value(now, "events_outbox_delivery_attempts_total") >= sent
                    return now if done and not value(now, "events_outbox_messages") else None

                final = _poll(delivered, 30)
                assert final, "the outbox did not drain"
                assert value(final, "events_outbox_delivery_attempts_total") == sent
                assert len(mailbox.messages) == sent
                assert value(final, "events_db_pool_connections") >= 1

                # A live stream counts while it is open, in whichever worker holds it.
                with (
                    httpx.Client(base_url=base) as viewer,
                    viewer.stream("GET", "/api/v1/reach/stream") as stream,
                ):
                    lines = stream.iter_lines()  # kept: dropping it closes the stream
                    assert next(lines) == "event: figures"
                    open_now = samples(http.get("/metrics").text)
                    assert value(open_now, "events_stream_clients") == 1
                closed = _poll(
                    lambda: value(samples(http.get("/metrics").text), "events_stream_clients") == 0,
                    20,
                )
                assert closed


async def _register_across_workers(base: str, admin_email: str, folder: Path) -> int:
    """Register in concurrent batches, a connection each, until both workers have
    answered some; how many registrations were made."""
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        event = await make_event(http, headers)
        slug = (await make_link(http, headers, event["id"]))["slug"]

    async def one(n: int) -> None:
        async with httpx.AsyncClient(base_url=base) as own:  # a connection of its own
            response = await register(own, slug, attendee(f"w{n}"))
            assert response.status_code == 201, response.text

    sent = 0
    for _ in range(10):
        await asyncio.gather(*(one(sent + i) for i in range(10)))
        sent += 10
        counts = _registrations_per_process(folder)
        if sent >= 20 and len([n for n in counts.values() if n]) >= 2:
            break
    return sent
