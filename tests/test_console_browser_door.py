"""The door page and the message preview in a real Chromium at phone size, in both
languages, checked by axe; the door's figures refresh by themselves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accessibility import axe_violations
from tests.console_browser import ORGANISER, console_server, organiser_page


def _at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-door")) as url:
        yield url


@pytest.fixture(scope="module")
def api(base: str) -> Iterator[httpx.Client]:
    """The organiser on the JSON API, for arranging data."""
    with httpx.Client(base_url=base, timeout=10) as client:
        login = client.post(
            "/api/v1/auth/login", json={"email": ORGANISER[0], "password": ORGANISER[1]}
        )
        assert login.status_code == 200, login.text
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def event(api: httpx.Client) -> dict[str, Any]:
    """An event in progress: three registered, two admitted (gates A and B)."""
    body = {"kind": "summit", "title": "Battery Day", "starts_at": _at(-1), "ends_at": _at(6),
            "timezone": "Asia/Shanghai", "venue": "Hall A"}  # fmt: skip
    created = api.post("/api/v1/events", json=body)
    assert created.status_code == 201, created.text
    event = api.post(f"/api/v1/events/{created.json()['id']}/publish").json()
    slug = api.post(f"/api/v1/events/{event['id']}/links", json={"label": "A"}).json()["slug"]
    ids = []
    for n, (name, locale) in enumerate([("Li Wei", "zh-Hans"), ("Ann Lee", "en"), ("Bo", "en")]):
        person = {"name": name, "email": f"p{n}@example.org", "consent": True, "locale": locale}
        registered = api.post(f"/api/v1/register/{slug}", json=person)
        assert registered.status_code in (200, 201), registered.text
        ids.append(registered.json()["registration_id"])
    for registration_id, gate in zip(ids[:2], "AB", strict=False):
        scanned = api.post(
            "/api/v1/checkins",
            json={"event_id": event["id"], "gate": gate, "registration_id": registration_id},
        )
        assert scanned.json()["verdict"] == "admitted", scanned.text
    return {**event, "registrations": ids}


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_door_page_reads_in_each_language_with_no_wcag_violation(
    base: str, page: Any, event: dict, lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/events/{event['id']}/door?lang={lang}")
    assert page.inner_text("#admitted") == "2"
    assert page.locator("svg#arrivals rect.bar").count() >= 1
    verdicts = page.inner_text("#scans")
    assert ("ADMITTED" in verdicts) == (lang == "en")
    assert ("准予入场" in verdicts) == (lang == "zh-Hans")
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-door-{lang}.png"), full_page=True)
    page.goto(f"{base}/admin/door?lang={lang}")
    assert axe_violations(page) == []


def test_the_door_figures_refresh_without_a_reload(
    base: str, page: Any, api: httpx.Client, event: dict
) -> None:
    page.goto(f"{base}/admin/events/{event['id']}/door?lang=en")
    assert page.inner_text("#admitted") == "2"
    scanned = api.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "C", "registration_id": event["registrations"][2]},
    )
    assert scanned.json()["verdict"] == "admitted"
    page.wait_for_function("document.querySelector('#admitted').textContent.trim() === '3'",
                           timeout=12_000)  # fmt: skip
    assert page.locator("#gates [data-gate=C]").count() == 1


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_message_preview_shows_the_count_and_each_email_with_no_wcag_violation(
    base: str, page: Any, event: dict, lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/events/{event['id']}/message?lang={lang}")
    assert axe_violations(page) == []
    page.select_option("#f-audience", "confirmed")
    page.fill("#f-subject_en", "Doors open at 9")
    page.fill("#f-body_en", "Dear all,\nbring your ID.")
    page.fill("#f-subject_zh", "九点开门")
    page.fill("#f-body_zh", "各位好：\n请携带身份证。")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#recipients")
    assert "3" in page.inner_text("#recipients")
    assert page.locator("iframe").count() == 2
    assert page.inner_text("#send") == {"en": "Send to 3 people", "zh-Hans": "发送给 3 人"}[lang]
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-message-preview-{lang}.png"), full_page=True)
