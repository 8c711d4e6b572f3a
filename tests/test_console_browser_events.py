"""The console's events and links in a real Chromium at phone size, in both languages:
the list (and its live search), the create form with its errors, the event's page,
a link's page and its poster, each checked by axe (WCAG 2.1 AA). One server and one
browser for the module; screenshots go to each test's tmp_path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import axe_violations
from tests.console_browser import console_server, organiser_page

LANGS = ["en", "zh-Hans"]
YEAR = datetime.now(UTC).year + 1
TITLES = {"en": "Battery Day", "zh-Hans": "电池技术峰会"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-events")) as url:
        yield url


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


def speak(page: Any, lang: str) -> None:
    """The browser of an organiser reading this language: ?lang= switches one page, the
    browser's languages carry the choice through the form posts and redirects."""
    page.set_extra_http_headers({"accept-language": {"en": "en-GB", "zh-Hans": "zh-CN"}[lang]})


def checked(page: Any, tmp_path: Path, name: str) -> None:
    """No WCAG 2.1 AA violation on the page as it is now; a screenshot of it."""
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def event_id_of(page: Any, base: str) -> int:
    found = re.fullmatch(rf"{re.escape(base)}/admin/events/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


@pytest.mark.parametrize("lang", LANGS)
def test_the_create_form_shows_its_errors_then_the_event_page(
    base: str, page: Any, lang: str, tmp_path: Path
) -> None:
    speak(page, lang)
    page.goto(f"{base}/admin/events/new?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    checked(page, tmp_path, f"event-form-{lang}")

    page.fill("#f-title", TITLES[lang])
    page.fill("#f-venue", "Hall B")
    page.fill("#f-starts_at", f"{YEAR}-03-14T09:30")
    page.fill("#f-ends_at", f"{YEAR}-03-14T08:00")  # before the start: the service refuses
    page.fill("#f-capacity", "2")
    page.click("form.event-form button[type=submit]")
    page.wait_for_selector("#e-ends_at")
    error = page.inner_text("#e-ends_at")
    assert (
        error
        == {"en": "The end must be after the start.", "zh-Hans": "结束时间必须晚于开始时间。"}[lang]
    )
    assert page.input_value("#f-title") == TITLES[lang]  # what was typed is still there
    assert page.get_attribute("#f-ends_at", "aria-invalid") == "true"
    checked(page, tmp_path, f"event-form-errors-{lang}")

    page.fill("#f-ends_at", f"{YEAR}-03-14T17:00")
    page.click("form.event-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/events/\d+$"))
    assert page.inner_text("h1").startswith(TITLES[lang])
    assert "09:30–17:00" in page.inner_text("#when")
    assert page.locator("main .notice.ok").count() == 1
    checked(page, tmp_path, f"event-page-{lang}")

    # The publish confirmation opens in place and says what will happen.
    page.click("form[action$='/publish'] summary")
    assert page.locator("form[action$='/publish'] .confirm-body").is_visible()
    checked(page, tmp_path, f"event-publish-confirm-{lang}")
    page.click("form[action$='/publish'] button[type=submit]")
    page.wait_for_selector("main .notice.ok")
    assert page.get_attribute("#status", "class") == "badge ok"


@pytest.mark.parametrize("lang", LANGS)
def test_the_events_list_with_its_live_search(
    base: str, page: Any, lang: str, tmp_path: Path
) -> None:
    speak(page, lang)
    page.goto(f"{base}/admin/events?lang={lang}")
    assert page.locator("#events tbody tr").count() >= 1
    checked(page, tmp_path, f"events-list-{lang}")

    page.fill("#f-q", "zzz-nothing")
    page.wait_for_selector("#no-events")
    assert "q=zzz-nothing" in page.url  # the search is in the address, as a link to share
    page.fill("#f-q", TITLES[lang][:4])
    page.wait_for_selector("#events tbody tr")
    assert TITLES[lang] in page.inner_text("#events")
    checked(page, tmp_path, f"events-search-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_link_page_and_its_poster(base: str, page: Any, lang: str, tmp_path: Path) -> None:
    speak(page, lang)
    page.goto(f"{base}/admin/events?lang={lang}&q={TITLES[lang]}")
    page.click(f"#events a:text-is('{TITLES[lang]}')")
    page.wait_for_url(re.compile(r".*/admin/events/\d+$"))
    event_id = event_id_of(page, base)

    page.goto(f"{base}/admin/events/{event_id}/links/new")
    checked(page, tmp_path, f"link-form-{lang}")
    page.fill("#f-label", {"en": "WeChat group A", "zh-Hans": "微信群 A"}[lang])
    page.fill("#f-quota", "50")
    page.click("form.link-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/links/[^/]+$"))
    url = page.input_value("#public-url")
    assert re.fullmatch(r"https?://[^/]+/r/[\w-]{16}", url), url
    assert page.evaluate("document.querySelector('.qr img').naturalWidth") > 0
    checked(page, tmp_path, f"link-page-{lang}")
    page.click("form[action$='/deactivate'] summary")
    checked(page, tmp_path, f"link-deactivate-confirm-{lang}")

    page.click("a[href$='/poster']")
    page.wait_for_url(re.compile(r".*/poster$"))
    assert page.inner_text("#poster h1") == TITLES[lang]
    assert page.inner_text("#poster-url") == url.split("://", 1)[1]
    assert "09:30–17:00" in page.inner_text("#poster-when")
    checked(page, tmp_path, f"poster-{lang}")
    # Printed: the poster alone, no navigation.
    page.emulate_media(media="print")
    try:
        assert not page.locator("header.bar").is_visible()
        assert not page.locator("nav.crumbs").is_visible()
        assert page.locator("#poster .poster-qr svg").is_visible()
        page.screenshot(path=str(tmp_path / f"poster-print-{lang}.png"), full_page=True)
    finally:
        page.emulate_media(media="screen")
