"""The lobby dashboard on its 1920x1080 screen (one screen, the chart whole) and on a
phone, in both languages, with no WCAG 2.1 AA violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.accessibility import axe_violations
from tests.browser import chromium_page
from tests.server import cli_env, run_cli, server_process
from tests.test_dashboard_live import create_users
from tests.test_door_page import _prepare

LANGS = ("en", "zh-Hans")


@pytest.fixture(scope="module")
def lobby(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("lobby")
    env = cli_env(f"sqlite://{tmp / 'lobby.db'}", tmp)
    assert run_cli("migrate", env=env, cwd=tmp).returncode == 0
    create_users(env, tmp)
    with server_process(env, tmp) as base:
        _prepare(base)  # an event in progress, listed under "Happening now"
        yield base


@pytest.fixture(scope="module")
def page(lobby: str) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


@pytest.mark.parametrize("lang", LANGS)
def test_the_lobby_fits_one_1920x1080_screen_with_the_whole_chart(
    lobby: str, page: Any, lang: str
) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{lobby}/dashboard?lang={lang}")
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    chart = page.locator(".chart svg").bounding_box()
    assert chart is not None and chart["height"] > 250, chart  # still a chart worth reading
    assert chart["y"] >= 0 and chart["y"] + chart["height"] <= 1080, chart
    assert chart["x"] >= 0 and chart["x"] + chart["width"] <= 1920, chart
    assert page.locator("[data-event-id]").count() >= 1
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_lobby_on_a_phone(lobby: str, page: Any, lang: str) -> None:
    page.set_viewport_size({"width": 414, "height": 860})
    page.goto(f"{lobby}/dashboard?lang={lang}")
    # Scrolls down like any page, but never sideways; the chart fits the width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 414
    chart = page.locator(".chart svg").bounding_box()
    assert chart is not None and chart["x"] + chart["width"] <= 414
    assert axe_violations(page) == []
