"""Every console page, found from the app's routes (a new page cannot be left out), opened
in Chromium on the demo's data in both languages: it answers, it speaks the language
asked for, and axe-core finds no WCAG 2.1 AA violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_service.app import create_app
from events_service.demo import COMPETITION_TITLE, DEMO_ACCOUNTS, NOW_EVENT_TITLE
from tests.accessibility import axe_violations
from tests.browser import chromium_page
from tests.console_browser import log_in
from tests.server import cli_env, run_cli, server_process

ADMIN_EMAIL, ADMIN_PASSWORD = DEMO_ACCOUNTS[0][0], DEMO_ACCOUNTS[0][1]
# Answers that are not pages: an image, a file, the door page's live fragment.
NOT_PAGES = (".png", ".csv", ".pdf", "/live")


def _console_get_routes() -> list[str]:
    app = create_app()
    return sorted(
        route.path
        for route in app.routes
        if route.path.startswith("/admin") and "GET" in getattr(route, "methods", ())
    )


def _ids(base: str) -> dict[str, str]:
    """A real id for each path parameter, read from the demo through the API."""
    with httpx.Client(base_url=base) as http:
        token = http.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        http.cookies.clear()
        events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()["items"]
        forum = next(e for e in events if e["title"] == NOW_EVENT_TITLE)
        links = http.get(f"/api/v1/events/{forum['id']}/links", headers=admin).json()
        people = http.get(f"/api/v1/events/{forum['id']}/registrations", headers=admin).json()
        users = http.get("/api/v1/staff-users", headers=admin).json()
        outbox = http.get("/api/v1/outbox", headers=admin).json()
        contest = next(e for e in events if e["title"] == COMPETITION_TITLE)
        rounds = http.get(f"/api/v1/competitions/{contest['id']}/rounds", headers=admin).json()
        first_round = min(rounds, key=lambda r: r["position"])
        criteria = http.get(f"/api/v1/rounds/{first_round['id']}/criteria", headers=admin).json()
        sheets = http.get(f"/api/v1/rounds/{first_round['id']}/assignments", headers=admin).json()
        entries = http.get(f"/api/v1/competitions/{contest['id']}/entries", headers=admin).json()
        financings = http.get("/api/v1/financings", headers=admin).json()
        services = http.get("/api/v1/services", headers=admin).json()
    return {
        "competition_id": str(contest["id"]),
        "entry_id": str((entries["items"] if isinstance(entries, dict) else entries)[0]["id"]),
        "event_id": str(forum["id"]),
        "slug": links[0]["slug"],
        "person_id": str(people["items"][0]["person_id"]),
        "user_id": str((users["items"] if isinstance(users, dict) else users)[0]["id"]),
        "message_id": str(outbox["items"][0]["id"]),
        "round_id": str(first_round["id"]),
        "criterion_id": str(criteria[0]["id"]),
        "assignment_id": str(
            next((s for s in sheets if s["status"] == "submitted"), sheets[0])["id"]
        ),
        "kpi": "talents",
        "financing_id": str(financings[0]["id"]),
        "service_id": str(services[0]["id"]),
    }


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("console-sweep")
    env = cli_env(f"sqlite://{data / 'demo.db'}", data)
    seeded = run_cli("demo", env=env, cwd=data)
    assert seeded.returncode == 0, seeded.stderr
    with server_process(env, data) as base:
        yield base, _ids(base)


@pytest.fixture(scope="module")
def page(demo_site: tuple[str, dict[str, str]]) -> Iterator[Any]:
    base, _ = demo_site
    with chromium_page() as logged_in:
        log_in(logged_in, base, ADMIN_EMAIL, ADMIN_PASSWORD)
        yield logged_in


def test_the_sweep_covers_every_console_page() -> None:
    routes = _console_get_routes()
    assert len(routes) >= 20, routes  # the console's areas are all mounted


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_every_console_page_answers_in_the_language_asked_with_no_wcag_violation(
    demo_site: tuple[str, dict[str, str]], page: Any, lang: str, tmp_path: Path
) -> None:
    base, ids = demo_site
    problems = []
    for route in _console_get_routes():
        path = re.sub(r"\{(\w+):\w+\}", lambda m: ids[m.group(1)], route)
        if path.endswith(NOT_PAGES):
            answer = page.request.get(f"{base}{path}")
            if answer.status != 200:
                problems.append(f"{path}: HTTP {answer.status}")
            continue
        response = page.goto(f"{base}{path}?lang={lang}")
        if response is None or response.status != 200:
            problems.append(f"{path}: HTTP {response.status if response else '-'}")
            continue
        if page.get_attribute("html", "lang") != lang:
            problems.append(f"{path}: html lang is {page.get_attribute('html', 'lang')}")
        problems += [f"{path}: {violation}" for violation in axe_violations(page)]
        name = path.strip("/").replace("/", "_") or "admin"
        page.screenshot(path=str(tmp_path / f"{name}-{lang}.png"), full_page=True)
    assert problems == []
