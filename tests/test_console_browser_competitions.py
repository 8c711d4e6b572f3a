"""The console's competitions and entries in a real Chromium at phone size: the list,
a competition's page, its entries and the CSV import's preview, in both languages,
checked by axe (one server, one browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import axe_violations
from tests.console_browser import console_server, organiser_page

NEXT_YEAR = datetime.now(UTC).year + 1
CSV = "title,team_name,members\nTraffic twin,Twins,Li Lei <li@example.org>\n,Nameless,\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-competitions")) as url:
        yield url


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.fixture(scope="module")
def competition(base: str, page: Any) -> str:
    """A competition made through the console's forms, with one entry: its page's path."""
    page.goto(f"{base}/admin/events/new?lang=en")
    page.select_option("#f-kind", "competition")
    page.fill("#f-title", "Smart Mobility Challenge")
    page.fill("#f-starts_at", f"{NEXT_YEAR}-05-01T09:00")
    page.fill("#f-ends_at", f"{NEXT_YEAR}-05-01T18:00")
    page.click("form.event-form button[type=submit]")
    event_id = page.url.rstrip("/").split("/")[-1]
    path = f"/admin/competitions/{event_id}"
    page.goto(f"{base}{path}/entries/new?lang=en")
    page.fill("#f-title", "Lidar on a budget")
    page.fill("#f-members", "Ada Lovelace <ada@example.org>")
    page.click("form.entry-form button[type=submit]")
    assert "Lidar on a budget" in page.inner_text("#entries")
    return path


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_competition_pages_read_in_each_language_with_no_wcag_violation(
    base: str, page: Any, competition: str, lang: str, tmp_path: Path
) -> None:
    for path in ("/admin/competitions", competition, f"{competition}/entries"):
        page.goto(f"{base}{path}?lang={lang}")
        assert ("Competitions" in page.inner_text("header nav")) == (lang == "en")
        assert axe_violations(page) == [], path
    page.goto(f"{base}{competition}/entries/import?lang={lang}")
    page.set_input_files("#f-file", files=[{"name": "entries.csv", "mimeType": "text/csv",
                                            "buffer": CSV.encode()}])  # fmt: skip
    page.click("form[enctype] button[type=submit]")
    assert page.locator("#preview tr.bad-row").count() == 1
    assert page.locator("#import-confirm").count() == 0
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-import-{lang}.png"), full_page=True)
