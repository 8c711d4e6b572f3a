"""Staffing and opening a round in a real Chromium, on the demo's data with a draft
final round made through the API: the judges page, the proposed plan, saving it, and
opening the round, as an organiser clicks through them; both languages, phone and
desktop widths, no WCAG 2.1 AA violation axe can find."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data = tmp_path_factory.mktemp("console-judging-round")
    seeded = run_cli("demo", env=cli_env(f"sqlite://{data / 'console.db'}", data), cwd=data)
    assert seeded.returncode == 0, seeded.stderr
    with console_server(data) as base:
        yield base, _draft_final(base)


def _draft_final(base: str) -> int:
    """A draft final round of the demo's competition, with every entry and a criterion."""
    with httpx.Client(base_url=base) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": ORGANISER[0], "password": ORGANISER[1]}
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()["items"]
        contest = next(e for e in events if e["title"] == COMPETITION_TITLE)
        final = http.post(
            f"/api/v1/competitions/{contest['id']}/rounds",
            json={"name": "Final", "judges_per_entry": 3, "entries": "all"},
            headers=admin,
        )
        assert final.status_code == 201, final.text
        made = http.post(
            f"/api/v1/rounds/{final.json()['id']}/criteria",
            json={"name": "Pitch", "weight": 2, "scale_max": 5, "scale_step": "0.5"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
    return final.json()["id"]


@pytest.fixture(scope="module")
def page(site: tuple[str, int]) -> Iterator[Any]:
    base, _ = site
    with organiser_page(base) as logged_in:
        yield logged_in


def _shots(tmp_path: Path) -> Path:
    """Where screenshots go: EVENTS_SCREENSHOTS if set (to look at them), else tmp_path."""
    folder = Path(os.environ.get("EVENTS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _look(page: Any, folder: Path, name: str) -> None:
    assert axe_violations(page) == []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def test_judges_plan_save_and_open_clicked_through(
    site: tuple[str, int], page: Any, tmp_path: Path
) -> None:
    base, final = site
    folder = _shots(tmp_path)
    page.goto(f"{base}/admin/rounds/{final}?lang=en")
    page.click("#run-links >> text=Judges and assignment")
    page.wait_for_url(f"{base}/admin/rounds/{final}/judges")
    judges = page.inner_text("#judges")
    assert "Demo Judge" in judges and "Demo Judge Three" in judges
    assert page.is_checked("#judges tbody tr:first-child input[type=checkbox]")
    _look(page, folder, "judges-en")

    page.fill("#f-k", "2")
    page.click("#propose")
    page.wait_for_url(f"{base}/admin/rounds/{final}/plan?*")
    assert "nothing is saved until you press" in page.inner_text("#not-saved")
    plan = page.inner_text("#plan")
    assert "Demo Judge Two" in plan
    assert "Connected" in page.inner_text("#connected")
    assert "ruled out by declared conflicts" in page.inner_text("#conflicts-avoided")
    _look(page, folder, "plan-en")

    page.click("#save-plan")
    page.wait_for_url(f"{base}/admin/rounds/{final}/judges")
    assert "The plan is saved" in page.inner_text("main")
    assert "submitted" in page.inner_text("#judges")

    page.click("#run summary")
    page.click("#run button[type=submit]")
    page.wait_for_url(f"{base}/admin/rounds/{final}/progress")
    assert "The round is open" in page.inner_text("main")
    assert "Open for scoring" in page.inner_text("#status")
    assert "Demo Judge" in page.inner_text("#per-judge")
    _look(page, folder, "progress-en")


@pytest.mark.parametrize("where", ["judges", "plan", "progress"])
def test_the_pages_read_in_chinese(
    site: tuple[str, int], page: Any, tmp_path: Path, where: str
) -> None:
    base, final = site
    page.goto(f"{base}/admin/rounds/{final}/{where}?lang=zh-Hans")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    heading = {
        "judges": "Judges and assignment",
        "plan": "Proposed plan",
        "progress": "Scoring progress",
    }[where]
    assert page.inner_text("h1").startswith(words("zh-Hans").gettext(heading))
    _look(page, _shots(tmp_path), f"{where}-zh")
