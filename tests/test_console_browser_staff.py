"""Staff accounts, My account and the outbox in a real Chromium at phone size, in both
languages, checked by axe: one server and one browser for the module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import axe_violations
from tests.console_browser import console_server, organiser_page

LANGS = ["en", "zh-Hans"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-staff")) as url:
        yield url


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    with organiser_page(base) as logged_in:
        yield logged_in


def checked(page: Any, tmp_path: Path, name: str) -> None:
    assert axe_violations(page) == [], name
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_new_account_form_shows_its_errors_then_opens_the_account(
    base: str, page: Any, lang: str, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/staff/new?lang={lang}")
    checked(page, tmp_path, f"staff-new-{lang}")
    page.fill("#f-email", "not-an-address")
    page.uncheck("#f-role_staff")  # ticked by default
    page.check("#new-password")
    page.fill("#new-f-password", "short")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#e-email")
    assert page.get_attribute("#f-email", "aria-invalid") == "true"
    for error in ("#e-email", "#new-e-password", "#e-roles"):
        assert page.inner_text(error).strip(), error
    # (The answer to a post speaks the account's or the browser's language: the
    # console's ?lang= switch holds for one page; the words are checked over HTTP.)
    assert page.input_value("#new-f-password") == ""  # a password is never shown back
    checked(page, tmp_path, f"staff-new-errors-{lang}")

    address = f"door-{lang.lower()}@example.org"
    page.fill("#f-email", address)
    page.fill("#f-name", f"Door {lang}")
    page.check("#f-role_staff")
    page.check("#new-link")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/staff/\d+$"))
    assert address in page.inner_text("main")
    assert page.locator("p.notice.ok").count() == 1
    checked(page, tmp_path, f"staff-user-{lang}")

    page.goto(f"{base}/admin/staff?lang={lang}")
    assert address in page.inner_text("#staff")
    checked(page, tmp_path, f"staff-list-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_outbox_and_a_message_with_its_preview(
    base: str, page: Any, lang: str, tmp_path: Path
) -> None:
    # The accounts opened above each queued their set-password mail.
    page.goto(f"{base}/admin/outbox?lang={lang}")
    assert page.locator("#messages tbody tr").count() >= 1
    checked(page, tmp_path, f"outbox-list-{lang}")
    page.goto(f"{base}/admin/outbox?kind=staff.set_password&lang={lang}")
    assert page.locator("#messages tbody tr").count() >= 1

    href = page.get_attribute("#messages tbody tr a", "href")
    page.goto(f"{base}{href}?lang={lang}")
    frame = page.frame_locator("iframe.preview")
    assert (frame.locator("a").get_attribute("href") or "").endswith("token=…")
    assert page.get_attribute("iframe.preview", "sandbox") == ""
    page.wait_for_timeout(300)  # the frame painted, for the screenshot
    checked(page, tmp_path, f"outbox-message-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_my_account_page(base: str, page: Any, lang: str, tmp_path: Path) -> None:
    page.goto(f"{base}/admin/account?lang={lang}")
    assert page.inner_text("h1") == {"en": "My account", "zh-Hans": "我的账号"}[lang]
    checked(page, tmp_path, f"account-{lang}")
    # A wrong current password comes back next to its field, with nothing typed kept.
    page.fill("#f-current_password", "not my password")
    page.fill("#f-new_password", "a brand new passphrase")
    page.fill("#f-new_password_again", "a brand new passphrase")
    page.click("form[action='/admin/account/password'] button[type=submit]")
    page.wait_for_selector("#e-current_password")
    assert page.input_value("#f-new_password") == ""
    checked(page, tmp_path, f"account-errors-{lang}")


def test_choosing_chinese_on_my_account_makes_the_console_chinese(
    base: str, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{base}/admin/account")
    page.select_option("#f-preferred_locale", "zh-Hans")
    page.click("form[action='/admin/account/language'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/account")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    page.goto(f"{base}/admin/staff")
    assert page.inner_text("h1") == "工作人员账号"
    checked(page, tmp_path, "staff-list-preferred-zh")
    page.goto(f"{base}/admin/account")
    page.select_option("#f-preferred_locale", "")
    page.click("form[action='/admin/account/language'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/account")
