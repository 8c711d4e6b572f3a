"""The registrations pages in a real Chromium at phone size, in both languages, checked
by axe: an event's table with a filter, a person's page, and an action's message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accessibility import axe_violations
from tests.console_browser import ORGANISER, console_server, organiser_page


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-registrations")) as url:
        yield url


@pytest.fixture(scope="module")
def event(base: str) -> dict[str, Any]:
    """A full event with a waitlist: two confirmed, one waitlisted, over two links."""
    with httpx.Client(base_url=base, timeout=30) as http:
        email, password = ORGANISER
        token = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        http.cookies.clear()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        now = datetime.now(UTC)
        created = http.post(
            "/api/v1/events",
            json={"kind": "summit", "title": "Battery Day", "timezone": "Asia/Shanghai",
                  "starts_at": (now + timedelta(days=3)).isoformat(),
                  "ends_at": (now + timedelta(days=3, hours=6)).isoformat(),
                  "capacity": 2, "waitlist_enabled": True},
        ).json()  # fmt: skip
        http.post(f"/api/v1/events/{created['id']}/publish")
        links = [
            http.post(f"/api/v1/events/{created['id']}/links", json={"label": label}).json()
            for label in ("WeChat group", "Partners")
        ]
        people = [("Li Wei", "ACME Motors"), ("王芳", "路联科技"), ("Zhang San", "ACME Labs")]
        ids = []
        for n, (name, organisation) in enumerate(people):
            answer = http.post(
                f"/api/v1/register/{links[n % 2]['slug']}",
                json={"name": name, "email": f"person{n}@example.org", "consent": True,
                      "organisation": organisation},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["registration_id"])
        return {"id": created["id"], "registrations": ids}


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_event_table_filters_in_each_language_with_no_wcag_violation(
    base: str, page: Any, event: dict[str, Any], lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/events/{event['id']}/registrations?lang={lang}")
    assert page.inner_text("h1") == "Battery Day"
    assert page.locator("#registration-table tbody tr").count() == 3
    assert axe_violations(page) == []
    page.select_option("#f-status", "waitlisted")
    page.click("#registration-filters button[type=submit]")
    page.wait_for_url("**status=waitlisted**")
    rows = page.locator("#registration-table tbody tr")
    assert rows.count() == 1
    assert "Zhang San" in rows.first.inner_text()
    badge = rows.first.locator(".badge").inner_text()
    assert badge == {"en": "waitlisted", "zh-Hans": "候补"}[lang]
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-registrations-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_persons_page_and_an_action_in_each_language_with_no_wcag_violation(
    base: str, page: Any, event: dict[str, Any], lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/events/{event['id']}/registrations?lang={lang}&q=ACME%20Motors")
    page.click("#registration-table tbody tr a")
    page.wait_for_url("**/admin/people/**")
    assert page.inner_text("h1") == "Li Wei"
    assert "Battery Day" in page.inner_text("#person-registrations")
    assert page.locator("#person-messages tbody tr").count() >= 1
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-person-{lang}.png"), full_page=True)

    resend = {"en": "E-mail the ticket again", "zh-Hans": "重新发送电子票"}[lang]
    page.get_by_role("button", name=resend).first.click()
    page.wait_for_load_state()
    notice = page.locator(".notice").first.inner_text()
    expected = {
        "en": ("The ticket e-mail is on its way again.", "No e-mail was queued"),
        "zh-Hans": ("电子票邮件已重新发送。", "未发送邮件"),
    }[lang]
    assert notice.startswith(expected), notice
    # The destructive action asks first, saying what will happen.
    page.locator("details.confirm summary").first.click()
    assert page.locator("details.confirm[open] .confirm-body").first.is_visible()
    assert axe_violations(page) == []
