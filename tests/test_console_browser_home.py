"""The console's home in a real Chromium at phone size, in both languages, checked by axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import axe_violations
from tests.console_browser import console_server, organiser_page


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-home")) as url:
        yield url


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_home_reads_in_each_language_with_no_wcag_violation(
    base: str, page: Any, lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin?lang={lang}")
    heading = page.inner_text("h1")
    assert heading == {"en": "Home", "zh-Hans": "首页"}[lang]
    nav = page.inner_text("header nav")
    assert ("Events" in nav) == (lang == "en")
    assert ("活动" in nav) == (lang == "zh-Hans")
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"console-home-{lang}.png"), full_page=True)


def test_the_navigation_is_reachable_by_keyboard(base: str, page: Any) -> None:
    page.goto(f"{base}/admin?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to the content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/admin"
