"""The console's programme pages in a real Chromium: an organiser adds a financing
through the form, imports a CSV with one bad row (sees its error, fixes the file,
imports it), and sees the startups-financed figure move; every page reads in both
languages at phone and desktop widths with no WCAG 2.1 AA violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from events_service.locale import words
from tests.accessibility import axe_violations
from tests.console_browser import console_server, organiser_page

GOOD = (
    "organisation,partner,kind,amount,currency,financed_on,note\n"
    'Wheel AI,Seed Fund,equity,"300,000",USD,2026-11-02,\n'
    "Lidar Now,City Bank,loan,800000,CNY,2026-11-03,\n"
)
BAD = GOOD.replace("Lidar Now,City Bank,loan", "Lidar Now,City Bank,donation")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-programme")) as url:
        yield url


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


def financed(page: Any, base: str) -> str:
    page.goto(f"{base}/admin/programme?lang=en")
    return page.inner_text("#kpi-financed_startups .kpi-value")


def test_an_organiser_adds_a_financing_and_imports_a_csv_and_the_figure_moves(
    base: str, page: Any, tmp_path: Path
) -> None:
    assert financed(page, base) == "0"
    assert axe_violations(page) == []

    page.click("#kpi-financed_startups >> text=Financing records")
    page.click("#add-record")
    page.fill("#f-organisation", "Volt Start")
    page.fill("#f-partner", "Bank of the City")
    page.select_option("#f-kind", "loan")
    page.fill("#f-amount", "-1")
    page.fill("#f-financed_on", "2026-10-01")
    page.click("#save-record")
    assert "Between 0 and" in page.inner_text("#e-amount")
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "form-with-an-error.png"), full_page=True)
    page.fill("#f-amount", "1,500,000")
    page.click("#save-record")
    assert "The record for Volt Start was added." in page.inner_text("main")
    assert "CN¥1,500,000.00" in page.inner_text("#ledger")
    assert financed(page, base) == "1"

    page.goto(f"{base}/admin/programme/financings/import")
    bad = tmp_path / "financings.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.set_input_files("#f-file", str(bad))
    page.click("#check-file")
    assert "1 row has an error" in page.inner_text("#bad-rows")
    assert "kind: Choose one of the options." in page.inner_text('tr[data-line="3"]')
    assert page.locator("#import-confirm").count() == 0
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "preview-with-a-bad-row.png"), full_page=True)

    good = tmp_path / "fixed.csv"
    good.write_text(GOOD, encoding="utf-8")
    page.set_input_files("#f-file", str(good))
    page.click("#check-file")
    assert "2 rows are ready to import" in page.inner_text("#good-rows")
    page.click("#import-confirm")
    assert "Records imported: 2." in page.inner_text("main")
    assert "US$300,000.00" in page.inner_text("#ledger")
    assert financed(page, base) == "3"

    page.click("#kpi-financed_startups >> text=The records")
    assert "Wheel AI" in page.inner_text("#records")


PAGES = (
    "/admin/programme",
    "/admin/programme/kpis/financed_startups",
    "/admin/programme/financings",
    "/admin/programme/financings/new",
    "/admin/programme/financings/import",
    "/admin/programme/services",
)


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_pages_read_in_each_language_at_each_width_with_no_wcag_violation(
    base: str, page: Any, lang: str, width: int, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    try:
        for path in PAGES:
            page.goto(f"{base}{path}?lang={lang}")
            assert page.get_attribute("html", "lang") == lang, path
            assert axe_violations(page) == [], path
            # Nothing is wider than the screen but a table's own scrolling box.
            overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth")
            assert not overflow, (path, width)
            name = path.strip("/").replace("/", "_")
            page.screenshot(path=str(tmp_path / f"{name}-{lang}-{width}.png"), full_page=True)
        expected = words(lang).gettext("Startups financed")
        page.goto(f"{base}/admin/programme?lang={lang}")
        assert expected in page.inner_text("#kpi-financed_startups")
    finally:
        page.set_viewport_size({"width": 414, "height": 860})
        page.goto(f"{base}/admin/programme?lang=en")
