"""/health reports the database; /schema documents the API."""

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from events_service.db import migrate
from tests.server import cli_env, free_port, server_process
from tests.tcp_proxy import Mode, tcp_proxy


async def test_health_is_ok_with_a_live_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_health_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    # Nothing listens on port 1: the database is "down" from the first query.
    env = cli_env("postgres://nobody@127.0.0.1:1/none", tmp_path)
    with server_process(env, tmp_path) as base:
        response = httpx.get(f"{base}/health")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/database-unavailable"


async def test_openapi_schema_lists_the_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()

    assert schema["openapi"].startswith("3.1")
    for path in ("/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/staff-users", "/health"):
        assert path in schema["paths"], path
    assert "BearerToken" in schema["components"]["securitySchemes"]
    ui = await client.get("/schema")
    assert ui.status_code == 200 and "text/html" in ui.headers["content-type"]


async def test_start_page_links_the_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/schema"' in response.text


# Readiness and liveness (issue 21).

CLOSED_PORT_DATABASE = "postgres://nobody@127.0.0.1:1/none"


async def test_ready_and_live_are_200_with_everything_up(client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200 and live.json()["status"] == "ok"

    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    # The shared test app runs no in-app worker and has no Redis.
    assert ready.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "redis": "not configured",
        "outbox_worker": "not in app",
    }
    # /health is ready's alias.
    assert (await client.get("/health")).json() == ready.json()


def test_ready_is_503_naming_the_database_when_it_is_unreachable(tmp_path: Path) -> None:
    env = cli_env(CLOSED_PORT_DATABASE, tmp_path)
    with server_process(env, tmp_path) as base:
        ready = httpx.get(f"{base}/health/ready")
        live = httpx.get(f"{base}/health/live")
    assert live.status_code == 200, "liveness needs no database"
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    problem = ready.json()
    assert problem["type"] == "/problems/database-unavailable"
    assert "database" in problem["failing"]
    assert problem["checks"]["database"] == "failed"
    assert "database" in problem["detail"]


def test_ready_is_503_naming_redis_when_it_does_not_answer(
    server_database_url: str, tmp_path: Path
) -> None:
    # With a Redis that refuses from the start the app does not start at all (the
    # live channels subscribe at startup): the supervisor sees that. Here Redis goes
    # away while the server runs: connections to its (real) port are refused.
    redis_url = os.environ.get("EVENTS_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("EVENTS_TEST_REDIS_URL is not set")
    target = urlsplit(redis_url)
    with tcp_proxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}{target.path}"
        env = cli_env(server_database_url, tmp_path, EVENTS_REDIS_URL=url)
        with server_process(env, tmp_path) as base:
            up = httpx.get(f"{base}/health/ready")
            assert up.status_code == 200, up.text
            # The server runs the outbox worker in-app (the default) and Redis answers.
            assert up.json()["checks"] == {
                "database": "ok",
                "migrations": "ok",
                "redis": "ok",
                "outbox_worker": "ok",
            }
            proxy.set_mode(Mode.REFUSE)
            ready = httpx.get(f"{base}/health/ready")
            live = httpx.get(f"{base}/health/live")
    assert live.status_code == 200
    assert ready.status_code == 503, ready.text
    problem = ready.json()
    assert problem["type"] == "/problems/redis-unavailable"
    assert problem["failing"] == ["redis"]
    assert problem["checks"]["database"] == "ok"
    assert "redis" in problem["detail"]


async def test_ready_is_503_while_a_migration_is_not_applied(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'behind.db'}"
    await migrate(url)
    with sqlite3.connect(tmp_path / "behind.db") as conn:
        # As if this code were deployed before `events-service migrate` ran.
        conn.execute(
            "DELETE FROM tortoise_migrations"
            " WHERE name = (SELECT max(name) FROM tortoise_migrations)"
        )
    with server_process(cli_env(url, tmp_path), tmp_path) as base:
        ready = await asyncio.to_thread(httpx.get, f"{base}/health/ready")
    assert ready.status_code == 503
    assert ready.json()["type"] == "/problems/migrations-pending"
    assert ready.json()["failing"] == ["migrations"]


def test_ready_is_503_naming_the_outbox_worker_when_it_has_died(
    server_database_url: str, tmp_path: Path
) -> None:
    # The real app in granian, as `events-service serve` runs it, with an in-app worker
    # that dies half a second after it starts (tests/stopped_worker_app.py).
    root = Path(__file__).resolve().parent.parent
    env = cli_env(server_database_url, tmp_path, PYTHONPATH=str(root))
    port = free_port()
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--port", str(port), "tests.stopped_worker_app:create_app",
    ]  # fmt: skip
    log = tmp_path / "granian.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                ready = httpx.get(f"{base}/health/ready", timeout=1)
                if ready.status_code == 503:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        live = httpx.get(f"{base}/health/live")
    finally:
        process.terminate()
        code = process.wait(timeout=30)
    assert live.status_code == 200 and live.json()["status"] == "ok"
    problem = ready.json()
    assert problem["type"] == "/problems/outbox-worker-stopped"
    assert problem["failing"] == ["outbox_worker"]
    assert problem["checks"]["database"] == "ok"
    assert "outbox_worker" in problem["detail"]
    # A dead worker does not break the shutdown either.
    assert code == 0, log.read_text()
    assert "the outbox worker stopped" in log.read_text()
