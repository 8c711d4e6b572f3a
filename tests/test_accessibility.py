"""Every public and staff page, in English and in Chinese, at phone size, passes axe-core's
WCAG 2.1 AA rules (tests/accessibility.py) in headless Chromium against a real server.

One server and one browser for the module, on SQLite: what is checked is the markup
and the styles, which do not depend on the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accessibility import axe_violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.server import cli_env, run_cli, server_process

PHONE = {"width": 390, "height": 800}
LANGUAGES = ["en", "zh-Hans"]


@dataclass
class Site:
    base: str
    browser: Any
    accounts: dict[str, tuple[str, str]]
    slug: str
    ticket: str


def _accounts(output: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)$", output, re.MULTILINE)
    return {role: (email, password) for role, email, password in found}


def _event_with_a_ticket(base: str, admin: tuple[str, str]) -> tuple[str, str]:
    """As the organiser: an open event with a few places; an attendee's ticket."""
    with httpx.Client(base_url=base) as http:
        login = http.post("/api/v1/auth/login", json={"email": admin[0], "password": admin[1]})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        event = http.post(
            "/api/v1/events",
            headers=headers,
            json={
                "kind": "summit", "title": "Connected Cars Summit",
                "starts_at": "2099-03-01T09:00:00+08:00", "ends_at": "2099-03-01T17:00:00+08:00",
                "timezone": "Asia/Shanghai", "venue": "Hall A", "capacity": 50,
            },
        ).json()  # fmt: skip
        http.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
        link = http.post(
            f"/api/v1/events/{event['id']}/links", headers=headers, json={"label": "Mail"}
        ).json()
        registered = http.post(
            f"/api/v1/register/{link['slug']}",
            json={"name": "Li Wei", "email": "li.wei@example.org", "consent": True},
        )
        assert registered.status_code == 201, registered.text
        return link["slug"], registered.json()["ticket_url"].rsplit("/t/", 1)[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from playwright.sync_api import sync_playwright

    tmp: Path = tmp_path_factory.mktemp("a11y")
    env = cli_env(f"sqlite://{tmp / 'server.db'}", tmp)
    demo = run_cli("demo", env=env, cwd=tmp)
    assert demo.returncode == 0, demo.stderr
    accounts = _accounts(demo.stdout)
    with server_process(env, tmp) as base, sync_playwright() as pw:
        slug, ticket = _event_with_a_ticket(base, accounts["admin"])
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield Site(base, browser, accounts, slug, ticket)
        finally:
            browser.close()


def _phone(site: Site, language: str) -> Any:
    locale = "zh-CN" if language == "zh-Hans" else "en-GB"
    context = site.browser.new_context(viewport=PHONE, is_mobile=True, locale=locale)
    return context.new_page()


def _log_in(page: Any, site: Site, role: str, next_path: str) -> None:
    page.goto(f"{site.base}/login?next={next_path}")
    email, password = site.accounts[role]
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages_pass_wcag_21_aa(site: Site, language: str) -> None:
    page = _phone(site, language)
    lang = f"lang={language}"
    try:
        for path in (f"/r/{site.slug}", f"/t/{site.ticket}", "/dashboard", "/", "/login"):
            page.goto(f"{site.base}{path}?{lang}")
            assert page.locator("html").get_attribute("lang") == language, path
            assert axe_violations(page) == [], path
        # The form with its errors shown, each tied to its field.
        page.goto(f"{site.base}/r/{site.slug}?{lang}")
        page.fill("#email", "not an address")
        page.click("button[type=submit]")
        page.wait_for_selector("#email-error")
        assert page.locator("#consent").get_attribute("aria-describedby") == "consent-error"
        assert axe_violations(page) == [], "the form with errors"
    finally:
        page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_pages_pass_wcag_21_aa(site: Site, language: str) -> None:
    page = _phone(site, language)
    try:
        _log_in(page, site, "admin", "/admin/programme")
        page.goto(f"{site.base}/admin/programme?lang={language}")
        assert axe_violations(page) == [], "/admin/programme"
        page.goto(f"{site.base}/scan?lang={language}")
        assert axe_violations(page) == [], "/scan"
    finally:
        page.context.close()
