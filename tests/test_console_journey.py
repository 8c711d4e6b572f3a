"""An organiser's afternoon, in a real Chromium and through the pages only (no API call):
create and publish a summit, make a link, watch four people register through it (three
seats, one on the waitlist), find them, export them, cancel one and see the waitlisted
person move up, open a door-staff account, and e-mail the confirmed attendees."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.browser import chromium_browser
from tests.console_browser import ORGANISER, console_server, log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
PEOPLE = [
    ("Li Wei", "li.wei@example.org", "VisionDrive"),
    ("Wang Fang", "wang.fang@example.org", "RoadLink Tech"),
    ("Zhang Jing", "zhang.jing@example.org", "CellTrace"),
    ("Chen Lei", "chen.lei@example.org", "MapFleet Lab"),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("journey")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as launched:
        yield launched


def _confirm(page: Any, action: str) -> None:
    """A destructive action: open its confirmation, then say yes."""
    form = page.locator(f"form[action='{action}']")
    form.locator("summary").click()
    form.get_by_role("button", name="Yes, go ahead").click()
    page.wait_for_load_state()


def _flash(page: Any) -> str:
    return page.locator("main p.notice[role=status]").first.inner_text()


def test_an_organiser_runs_an_event_from_the_console(
    base: str, browser: Any, tmp_path: Path
) -> None:
    console = browser.new_context(viewport={"width": 414, "height": 860}, accept_downloads=True)
    page = console.new_page()
    log_in(page, base, *ORGANISER)

    # A summit for three, with a waitlist, starting in ten days (Shanghai time).
    page.goto(f"{base}/admin/events/new?lang=en")
    starts = (datetime.now(SHANGHAI) + timedelta(days=10)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    page.select_option("#f-kind", "summit")
    page.fill("#f-title", "Chassis Software Summit")
    page.fill("#f-venue", "Innovation Base, Hall A")
    page.select_option("#f-timezone", "Asia/Shanghai")
    page.fill("#f-starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (starts + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-capacity", "3")
    page.check("#f-waitlist_enabled")
    page.click("form.event-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".has-error").count() == 0, page.inner_text("main")
    page.wait_for_url(f"{base}/admin/events/*")
    event_path = page.url.split("?")[0].removeprefix(base)
    assert "Chassis Software Summit" in page.inner_text("h1")
    assert "09:30" in page.inner_text("main")  # on the venue's clock

    _confirm(page, f"{event_path}/publish")
    assert "publish" in _flash(page).lower()

    page.click(f"a[href='{event_path}/links/new']")
    page.fill("#f-label", "WeChat group A")
    page.click("form.link-form button[type=submit]")
    page.wait_for_url(f"{base}/admin/links/*")
    link_url = page.input_value("#public-url")
    assert "/r/" in link_url

    # Four people register through the link, in a browser of their own.
    public = browser.new_context(viewport={"width": 390, "height": 844})
    visitor = public.new_page()
    for name, email, organisation in PEOPLE:
        # The link as printed names the public base URL; this server runs on its own port.
        visitor.goto(base + urlsplit(link_url).path)
        visitor.fill("#name", name)
        visitor.fill("#email", email)
        visitor.fill("#organisation", organisation)
        visitor.check("#consent")
        visitor.click("button[type=submit]")
        visitor.wait_for_load_state()
    public.close()

    # The organiser finds them: three confirmed, one waitlisted.
    page.goto(f"{base}{event_path}/registrations?lang=en")
    table = page.inner_text("main table")
    for name, _, _ in PEOPLE:
        assert name in table
    page.select_option("#f-status", "waitlisted")
    page.click("#registration-filters button[type=submit]")
    page.wait_for_load_state()
    assert "Chen Lei" in page.inner_text("main table")
    assert "Li Wei" not in page.inner_text("main table")
    page.goto(f"{base}{event_path}/registrations?lang=en&q=visiondrive")
    assert "Li Wei" in page.inner_text("main table")
    assert "Wang Fang" not in page.inner_text("main table")

    # The CSV holds what the filter shows.
    page.goto(f"{base}{event_path}/registrations?lang=en")
    with page.expect_download() as download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == sorted(p[0] for p in PEOPLE)
    assert sorted(r["status"] for r in rows) == ["confirmed"] * 3 + ["waitlisted"]

    # Cancelling a confirmed registration moves the waitlisted person up.
    page.click("a:text-is('Wang Fang')")
    page.wait_for_url(f"{base}/admin/people/*")
    cancel = page.locator("form[action$='/cancel']").first.get_attribute("action")
    _confirm(page, cancel)
    assert "cancel" in _flash(page).lower()
    page.goto(f"{base}{event_path}/registrations?lang=en&status=waitlisted")
    assert "Chen Lei" not in page.inner_text("main")
    page.goto(f"{base}{event_path}/registrations?lang=en&status=confirmed")
    confirmed = page.inner_text("main table")
    assert "Chen Lei" in confirmed and "Wang Fang" not in confirmed

    # A door-staff account, with a first password.
    page.goto(f"{base}/admin/staff/new?lang=en")
    page.fill("#f-email", "door.b@example.org")
    page.fill("#f-name", "Door B")
    page.check("#f-role_staff")
    page.check("[name=setup][value=password]")
    page.fill("[name=password]", "door-b-password-1")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/admin/staff?lang=en")
    assert "door.b@example.org" in page.inner_text("main")

    # A message to the confirmed attendees: previewed with its count, sent once.
    page.goto(f"{base}{event_path}/message?lang=en")
    page.select_option("#f-audience", "confirmed")
    page.fill("#f-subject_en", "Parking at Hall A")
    page.fill("#f-body_en", "Use the east car park.\nBring your ticket.")
    page.fill("#f-subject_zh", "A馆停车")
    page.fill("#f-body_zh", "请使用东侧停车场。\n请携带门票。")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#send")
    assert page.inner_text("#send") == "Send to 3 people"
    page.click("#send")
    page.wait_for_load_state()
    page.screenshot(path=str(tmp_path / "journey-message-sent.png"), full_page=True)

    page.goto(f"{base}/admin/outbox?lang=en")
    outbox = page.inner_text("main table")
    for email in ("li.wei@example.org", "zhang.jing@example.org", "chen.lei@example.org"):
        assert email in outbox
    assert outbox.count("li.wei@example.org") >= 2  # the ticket, then the message
    page.screenshot(path=str(tmp_path / "journey-outbox.png"), full_page=True)
    console.close()
