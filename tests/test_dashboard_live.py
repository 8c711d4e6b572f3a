"""The live dashboard: server-sent events across worker processes (Redis) and the
lobby page in a real headless Chromium."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest

from tests.browser import chromium_page
from tests.server import cli_env, run_cli, server_process
from tests.test_door_page import ADMIN, DOOR, _prepare

REDIS_VAR = "EVENTS_TEST_REDIS_URL"


def redis_url() -> str:
    """Like PostgreSQL: configured by the environment, required in CI (.ci/run sets it)."""
    url = os.environ.get(REDIS_VAR)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{REDIS_VAR} is not set: CI must test live updates through Redis")
    pytest.skip(f"set {REDIS_VAR}=redis://127.0.0.1:6379/0 to test dashboards across workers")


def create_users(env: dict[str, str], cwd: Path) -> None:
    for (email, password), role in ((DOOR, "staff"), (ADMIN, "admin")):
        created = run_cli(
            "users", "create", "--email", email, "--password", password, "--role", role,
            env=env, cwd=cwd,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr


def admit(base: str, event_id: int, code: str) -> None:
    with httpx.Client(base_url=base) as http:
        login = http.post("/api/v1/auth/login", json={"email": DOOR[0], "password": DOOR[1]})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        scan = http.post(
            "/api/v1/checkins",
            json={"event_id": event_id, "gate": "Hall", "code": code},
            headers=headers,
        )
        assert scan.json()["verdict"] == "admitted", scan.text


def listen(base: str, events: Queue, stop: threading.Event) -> None:
    """Read the SSE stream, putting each (event, data) on the queue."""
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=30)) as http,
        http.stream("GET", f"{base}/api/v1/reach/stream") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "figures":
                events.put(json.loads(line.split(":", 1)[1]))


def next_figures(events: Queue, timeout: float) -> dict:
    try:
        return events.get(timeout=timeout)
    except Empty:
        raise AssertionError(f"no figures event within {timeout} s") from None


def test_an_admission_on_one_worker_reaches_a_dashboard_on_another(
    server_database_url: str, tmp_path: Path
) -> None:
    env = cli_env(server_database_url, tmp_path, EVENTS_REDIS_URL=redis_url())
    create_users(env, tmp_path)
    with server_process(env, tmp_path) as first, server_process(env, tmp_path) as second:
        event, codes = _prepare(second)
        events: Queue = Queue()
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(first, events, stop), daemon=True)
        listener.start()
        assert next_figures(events, 10)["talents_reached"] == 0  # the state on connect

        started = time.monotonic()
        admit(second, event["id"], codes[0])
        figures = next_figures(events, 2)
        latency = time.monotonic() - started
        stop.set()
    assert figures["talents_reached"] == 1 and figures["total_admissions"] == 1
    assert figures["events"][str(event["id"])] == {"admitted": 1, "registered": 2}
    assert latency < 2


@pytest.fixture
def lobby_server(tmp_path: Path):
    env = cli_env(f"sqlite://{tmp_path / 'lobby.db'}", tmp_path)
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    create_users(env, tmp_path)
    with server_process(env, tmp_path) as base:
        yield base


def test_the_lobby_dashboard_shows_an_admission_within_two_seconds(lobby_server: str) -> None:
    event, codes = _prepare(lobby_server)
    requested: list[str] = []
    with chromium_page() as page:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{lobby_server}/dashboard")
        assert page.text_content("#talents-value").strip() == "0"
        row = page.locator(f'[data-event-id="{event["id"]}"]')
        assert row.locator(".admitted").text_content().strip() == "0"
        assert page.locator("svg polyline.target-line").count() == 1
        page.wait_for_selector("#live:not([hidden])", timeout=5000)  # the stream is open

        admit(lobby_server, event["id"], codes[0])
        page.wait_for_function(
            "document.querySelector('#talents-value').textContent.trim() === '1'", timeout=2000
        )
        assert row.locator(".admitted").text_content().strip() == "1"
        assert page.text_content("#admissions").strip() == "1"

        page.goto(f"{lobby_server}/dashboard?lang=zh-Hans")
        assert "覆盖人才" in page.text_content(".hero-label")
    # Nothing is fetched from anywhere else (a lobby screen may have no internet).
    assert all(url.startswith(lobby_server) for url in requested)
