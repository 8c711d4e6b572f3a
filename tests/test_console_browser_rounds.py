"""The console's round page in a real Chromium at phone size, on the demo's data (its
first round open) and on a draft round made through the API: both languages, axe finds
no WCAG 2.1 AA violation, and a criterion is added through the form as a person does."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    data = tmp_path_factory.mktemp("console-rounds")
    seeded = run_cli("demo", env=cli_env(f"sqlite://{data / 'console.db'}", data), cwd=data)
    assert seeded.returncode == 0, seeded.stderr
    with console_server(data) as base:
        yield base, _rounds(base)


def _rounds(base: str) -> dict[str, int]:
    """The demo's open first round, and a draft second round with one criterion."""
    with httpx.Client(base_url=base) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": ORGANISER[0], "password": ORGANISER[1]}
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.cookies.clear()
        events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()["items"]
        contest = next(e for e in events if e["title"] == COMPETITION_TITLE)
        rounds = http.get(f"/api/v1/competitions/{contest['id']}/rounds", headers=admin).json()
        final = http.post(
            f"/api/v1/competitions/{contest['id']}/rounds",
            json={"name": "Final", "judges_per_entry": 3},
            headers=admin,
        )
        assert final.status_code == 201, final.text
        made = http.post(
            f"/api/v1/rounds/{final.json()['id']}/criteria",
            json={"name": "Pitch", "weight": 2, "scale_max": 5, "scale_step": "0.5"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
    return {"open": min(rounds, key=lambda r: r["position"])["id"], "draft": final.json()["id"]}


@pytest.fixture(scope="module")
def page(site: tuple[str, dict[str, int]]) -> Iterator[Any]:
    base, _ = site
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_round_pages_read_in_each_language_with_no_wcag_violation(
    site: tuple[str, dict[str, int]], page: Any, lang: str, tmp_path: Path
) -> None:
    base, rounds = site
    page.goto(f"{base}/admin/rounds/{rounds['open']}?lang={lang}")
    assert page.inner_text("h1").startswith("Preliminary")
    criteria = page.inner_text("#criteria")
    assert "Innovation" in criteria and "0.4" in criteria
    assert ("Gold award" in page.inner_text("#awards")) is True
    assert ("Open for scoring" in page.inner_text("#status")) == (lang == "en")
    # The catalogue's words for the state, whatever their wording there.
    chinese = words("zh-Hans").gettext("Open for scoring")
    assert chinese != "Open for scoring"
    assert (chinese in page.inner_text("#status")) == (lang == "zh-Hans")
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"round-open-{lang}.png"), full_page=True)

    page.goto(f"{base}/admin/rounds/{rounds['draft']}?lang={lang}")
    assert "Pitch" in page.inner_text("#criteria")
    assert axe_violations(page) == []
    page.goto(f"{base}/admin/rounds/{rounds['draft']}/criteria/new?lang={lang}")
    assert axe_violations(page) == []


def test_a_criterion_is_added_through_the_form_with_its_error_beside_the_field(
    site: tuple[str, dict[str, int]], page: Any, tmp_path: Path
) -> None:
    base, rounds = site
    page.goto(f"{base}/admin/rounds/{rounds['draft']}?lang=en")
    page.click("text=Add a criterion")
    page.fill("#f-name", "Prototype")
    page.fill("#f-weight", "1.5")
    page.fill("#f-scale_min", "0")
    page.fill("#f-scale_max", "-5")
    page.click(".criterion-form button[type=submit]")
    assert page.inner_text("#e-scale_max") == "The top of the scale must be above its bottom."
    assert page.input_value("#f-name") == "Prototype"
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "criterion-error.png"), full_page=True)
    page.fill("#f-scale_max", "10")
    page.click(".criterion-form button[type=submit]")
    page.wait_for_url(f"{base}/admin/rounds/{rounds['draft']}")
    assert "The criterion “Prototype” was added." in page.inner_text("main")
    row = page.inner_text("#criteria tbody tr:last-child")
    assert "Prototype" in row and "1.5" in row and "0 to 10 in steps of 1" in row
