"""A newcomer's first ten minutes: `events-service demo`, then the served site as they see it.

One demo database and one server for the module: the demo's forum is happening now,
with people confirmed, waitlisted and admitted at two gates; the start page leads to
every role's page; /schema renders its documentation with no internet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import chromium_page
from tests.server import cli_env, run_cli, server_process

if TYPE_CHECKING:
    from playwright.sync_api import Route

PRINTED_BASE = "http://events.example.test"
ADMIN = ("admin@demo.example.org", "demo-admin-password")
FORUM = "Intelligent Connected Vehicles Forum"


@dataclass(frozen=True)
class DemoSite:
    base: str
    env: dict[str, str]
    cwd: Path
    output: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    tmp = tmp_path_factory.mktemp("newcomer")
    env = cli_env(f"sqlite://{tmp / 'demo.db'}", tmp)
    demo = run_cli("demo", "--base-url", PRINTED_BASE, env=env, cwd=tmp)
    assert demo.returncode == 0, demo.stderr
    with server_process(env, tmp) as base:
        yield DemoSite(base, env, tmp, demo.stdout)


def _admin(http: httpx.Client) -> dict[str, str]:
    login = http.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
    assert login.status_code == 200, login.text
    http.cookies.clear()  # the API calls below authenticate by the bearer token alone
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _forum(http: httpx.Client, admin: dict[str, str]) -> dict:
    events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()["items"]
    (forum,) = [event for event in events if event["title"] == FORUM]
    return forum


def _talents_on_dashboard(http: httpx.Client) -> int:
    page = http.get("/dashboard")
    assert page.status_code == 200
    found = re.search(r'<span id="talents-value">([\d,]+)</span>', page.text)
    assert found, page.text
    return int(found.group(1).replace(",", ""))


def _figures(http: httpx.Client) -> dict[str, object]:
    """What the organiser and the lobby see of the forum and the programme."""
    admin = _admin(http)
    forum = _forum(http, admin)
    waitlisted = http.get(
        f"/api/v1/events/{forum['id']}/registrations",
        params={"status": "waitlisted"},
        headers=admin,
    ).json()
    attendance = http.get(f"/api/v1/events/{forum['id']}/attendance", headers=admin).json()
    events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()
    return {
        "events": events["total"],
        "forum": forum["id"],
        "confirmed": forum["confirmed"],
        "waitlisted": waitlisted["total"],
        "admitted": attendance["admitted"],
        "by_gate": {row["gate"]: row["admitted"] for row in attendance["by_gate"]},
        "talents": _talents_on_dashboard(http),
    }


def test_demo_prints_the_console_and_its_login(site: DemoSite) -> None:
    assert f"{PRINTED_BASE}/admin" in site.output
    assert "admin@demo.example.org / demo-admin-password" in site.output
    assert re.search(rf"Happening now: #\d+ {FORUM}", site.output)
    # The lines that were there before stay.
    for path in ("/schema", "/dashboard", "/scan", "/judge"):
        assert f"{PRINTED_BASE}{path} " in site.output


def test_the_forum_is_in_progress_with_a_waitlist_and_admissions_at_two_gates(
    site: DemoSite,
) -> None:
    with httpx.Client(base_url=site.base) as http:
        admin = _admin(http)
        forum = _forum(http, admin)
        now = datetime.now(UTC)
        starts = datetime.fromisoformat(forum["starts_at"])
        ends = datetime.fromisoformat(forum["ends_at"])
        assert starts <= now < ends, (starts, now, ends)
        assert forum["status"] == "published" and forum["timezone"] == "Asia/Shanghai"
        assert forum["waitlist_enabled"] and forum["confirmed"] == forum["capacity"]
        assert forum["seats_left"] == 0

        waitlisted = http.get(
            f"/api/v1/events/{forum['id']}/registrations",
            params={"status": "waitlisted"},
            headers=admin,
        ).json()
        assert waitlisted["total"] > 0
        assert {row["status"] for row in waitlisted["items"]} == {"waitlisted"}

        links = http.get(f"/api/v1/events/{forum['id']}/links", headers=admin).json()
        assert len(links) == 1

        attendance = http.get(f"/api/v1/events/{forum['id']}/attendance", headers=admin).json()
        gates = {row["gate"]: row["admitted"] for row in attendance["by_gate"]}
        assert len(gates) >= 2 and all(n > 0 for n in gates.values()), gates
        assert 0 < attendance["admitted"] < attendance["registered"]
        assert attendance["waitlisted"] == waitlisted["total"]
        # Arrivals spread over the last hour, not one burst.
        assert len([b for b in attendance["by_5_minutes"] if b["admitted"]]) > 5

        # The admissions came through the door: the reach counts exactly those people.
        assert _talents_on_dashboard(http) == attendance["admitted"]


def test_a_second_demo_run_keeps_the_data(site: DemoSite) -> None:
    with httpx.Client(base_url=site.base) as http:
        before = _figures(http)
        again = run_cli("demo", "--base-url", PRINTED_BASE, env=site.env, cwd=site.cwd)
        assert again.returncode == 0, again.stderr
        assert "already there" in again.stdout
        assert f"#{before['forum']} {FORUM}" in again.stdout
        assert f"{PRINTED_BASE}/admin" in again.stdout
        assert _figures(http) == before
    assert before["talents"] > 0


def test_the_start_page_leads_to_every_role_in_both_languages(site: DemoSite) -> None:
    with httpx.Client(base_url=site.base) as http:
        english = http.get("/").text
        chinese = http.get("/", params={"lang": "zh-Hans"}).text
    for page in (english, chinese):
        for path in ("/admin", "/scan", "/judge", "/dashboard", "/schema"):
            assert f'href="{path}"' in page, path
    for words in ("Organiser console", "Door check-in", "Judging", "Programme dashboard"):
        assert words in english
    assert "For door staff" in english
    assert 'lang="zh-Hans"' in chinese
    for words in ("主办方控制台", "入场检票", "评审", "项目数据看板", "供检票人员使用"):
        assert words in chinese
    assert "Organiser console" not in chinese


def test_the_api_documentation_renders_with_no_internet(site: DemoSite) -> None:
    html = httpx.get(f"{site.base}/schema").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert assets and all(url.startswith("/static/vendor/") for url in assets), assets

    off_host: list[str] = []
    failed: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            off_host.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with chromium_page() as page:
        page.route("**/*", only_the_server)
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.goto(f"{site.base}/schema")
        operation = page.get_by_text("Create an event (draft)").first
        operation.wait_for(state="visible", timeout=20_000)
        assert page.locator(".swagger-ui .opblock").count() > 20
        page.wait_for_load_state("networkidle")
    assert off_host == [] and failed == [], (off_host, failed)
