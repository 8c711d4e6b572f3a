"""The console's ranking page in a real Chromium on the demo's data (its first round open,
some sheets in): both languages at phone and desktop width with no WCAG 2.1 AA violation,
a submitted sheet reopened through its form with a reason, and, once the round is closed,
entries ticked in the table advanced to a new next round."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_service.demo import COMPETITION_TITLE
from events_service.locale import words
from tests.accessibility import axe_violations
from tests.console_browser import ORGANISER, console_server, organiser_page
from tests.server import cli_env, run_cli

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


@contextmanager
def _api(base: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The API as the organiser, with a bearer token (no cookie)."""
    with httpx.Client(base_url=base) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": ORGANISER[0], "password": ORGANISER[1]}
        )
        http.cookies.clear()
        yield http, {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    data = tmp_path_factory.mktemp("console-ranking")
    seeded = run_cli("demo", env=cli_env(f"sqlite://{data / 'console.db'}", data), cwd=data)
    assert seeded.returncode == 0, seeded.stderr
    with console_server(data) as base:
        with _api(base) as (http, admin):
            events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()
            contest = next(e for e in events["items"] if e["title"] == COMPETITION_TITLE)
            rounds = http.get(f"/api/v1/competitions/{contest['id']}/rounds", headers=admin).json()
        first = min(rounds, key=lambda r: r["position"])
        yield base, {"competition": contest["id"], "round": first["id"]}


@pytest.fixture(scope="module")
def page(site: tuple[str, dict[str, int]]) -> Iterator[Any]:
    base, _ = site
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_ranking_reads_in_each_language_on_a_phone_and_a_desktop(
    site: tuple[str, dict[str, int]], page: Any, lang: str, tmp_path: Path
) -> None:
    base, ids = site
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.goto(f"{base}/admin/rounds/{ids['round']}/ranking?lang={lang}")
        w = words(lang)
        assert w.gettext("Provisional") in page.inner_text("h1")
        assert page.locator("#ranking tbody tr").count() > 0
        assert w.gettext("Judges' severity") in page.inner_text("main")
        assert page.locator("#judges tbody tr").count() == 3
        assert axe_violations(page) == []
        page.screenshot(path=str(tmp_path / f"ranking-{lang}-{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    # The round page links here.
    page.goto(f"{base}/admin/rounds/{ids['round']}?lang={lang}")
    page.click("#ranking-link")
    page.wait_for_url(f"{base}/admin/rounds/{ids['round']}/ranking")


def test_a_submitted_sheet_is_reopened_through_its_form_with_a_reason(
    site: tuple[str, dict[str, int]], page: Any, tmp_path: Path
) -> None:
    base, ids = site
    page.goto(f"{base}/admin/rounds/{ids['round']}/ranking?lang=en")
    details = page.locator("details.sheets:has(form.reopen)").first
    details.locator("summary").click()
    form = details.locator("form.reopen").first
    form.locator("input[name=reason]").fill("The judge scored the wrong entry")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#history")
    main = page.inner_text("main")
    assert "is reopened: they can change it and submit it again." in main
    history = page.inner_text("#history")
    assert "The judge scored the wrong entry" in history and ORGANISER[0] not in history
    assert "Olga Organiser" in history and "Submitted → Draft" in history
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "sheet-reopened.png"), full_page=True)


def test_entries_ticked_in_the_table_advance_to_the_next_round(
    site: tuple[str, dict[str, int]], page: Any, tmp_path: Path
) -> None:
    base, ids = site
    with _api(base) as (http, admin):
        closed = http.post(f"/api/v1/rounds/{ids['round']}/close", headers=admin)
        assert closed.status_code == 200, closed.text
        final = http.post(
            f"/api/v1/competitions/{ids['competition']}/rounds",
            json={"name": "Grand final"},
            headers=admin,
        )
        assert final.status_code == 201, final.text
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/admin/rounds/{ids['round']}/ranking?lang=en")
    assert "Final" in page.inner_text("h1")
    boxes = page.locator("#ranking input[type=checkbox]")
    picked = [boxes.nth(0).get_attribute("value"), boxes.nth(2).get_attribute("value")]
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.click("#advance-picked button[type=submit]")
    page.wait_for_selector("#ranking .moved")
    assert "Now in “Grand final”:" in page.inner_text("main")
    moved = page.locator("#ranking tr:has(.moved)")
    assert sorted(moved.nth(i).get_attribute("data-entry") for i in range(moved.count())) == sorted(
        picked
    )
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "advanced-desktop.png"), full_page=True)
    with _api(base) as (http, admin):
        following = http.get(f"/api/v1/rounds/{final.json()['id']}", headers=admin).json()
    assert sorted(following["entry_ids"]) == sorted(int(e) for e in picked)
