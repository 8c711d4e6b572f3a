"""The console's privacy page over HTTP on both backends: the policy as set, each
ended event's window with how many people's data it still holds, how many the next
run erases, and the audit of erasures (by the policy, by staff), in both languages."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
from litestar import Litestar

from events_service.privacy.service import STAFF, erase_person, run_retention
from models import Person, StaffUser
from tests.console_helpers import log_in_to_pages
from tests.test_privacy import BOTH, GONE, KEPT, _world
from tests.visible_text import page_text


def _window(page: httpx.Response, event_id: int) -> str:
    row = re.search(rf'<tr data-event="{event_id}">(.*?)</tr>', page.text, re.S)
    assert row, f"no row for event {event_id}"
    return page_text(row.group(1))


def _figure(page: httpx.Response, name: str) -> str:
    found = re.search(rf'<li id="{name}"><strong>([\d,]+)</strong>', page.text)
    assert found, name
    return found.group(1)


async def test_the_page_shows_the_windows_what_the_next_run_erases_and_the_audit(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    world = await _world()
    settings = app.state.settings
    address = await log_in_to_pages(client, "admin")

    before = await client.get("/admin/privacy?lang=en")
    assert before.status_code == 200
    text = page_text(before.text)
    assert "kept for 365 days after the event ends" in text
    assert "Then these are erased: e-mail, phone, name, job title." in text
    assert "The organisation is kept" in text
    assert "The scheduled run is off" in text  # as the tests' settings have it
    assert _figure(before, "due-now") == str(len(GONE))
    assert _figure(before, "erased-total") == "0"
    # Old Summit ended 400 days ago (default 365: over); the others still keep theirs.
    old = _window(before, world.old.id)
    assert "window ended" in old and "(default)" in old
    assert old.endswith(str(len(GONE) + len(BOTH)))
    recent = _window(before, world.recent.id)
    assert "window ended" not in recent and recent.endswith(str(len(BOTH)))
    kept = _window(before, world.kept_long.id)
    assert "1,000" in kept and "(default)" not in kept and "window ended" not in kept
    assert kept.endswith(str(len(KEPT)))
    assert "Nobody has been erased yet." in text

    await run_retention(settings)
    survivor = await Person.get(email=f"person{KEPT[0]}@example.org")
    admin = await StaffUser.get(email=address)
    await erase_person(survivor.id, actor=STAFF, staff_id=admin.id, settings=settings)

    after = await client.get("/admin/privacy?lang=en")
    assert _figure(after, "due-now") == "0"
    assert _figure(after, "erased-total") == str(len(GONE) + 1)
    # Those still held at Old Summit are the ones Recent Contest still needs.
    assert _window(after, world.old.id).endswith(str(len(BOTH)))
    assert _window(after, world.kept_long.id).endswith(str(len(KEPT) - 1))
    audit = re.findall(r'<tr data-erasure="\d+">(.*?)</tr>', after.text, re.S)
    assert len(audit) == 2
    newest, first = (page_text(row) for row in audit)
    assert "Staff" in newest and admin.email in newest and "erased by an administrator" in newest
    assert newest.endswith(" 1 e-mail, phone, name, job title"), newest
    assert "Retention policy" in first and "retention window ended" in first
    assert first.endswith(f" {len(GONE)} e-mail, phone, name, job title"), first
    # Never whom: no erased person's name or address anywhere on the page.
    assert "person0@example.org" not in after.text and "Person 0" not in after.text

    chinese = page_text((await client.get("/admin/privacy?lang=zh-Hans")).text)
    assert "隐私与数据保留" in chinese
    assert "届时删除以下资料：邮箱、电话、姓名、职务。" in chinese
    assert "保留策略" in chinese and "保留期已结束" in chinese


async def test_with_no_event_ended_the_page_says_so_and_a_scheduled_run_says_when(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    await log_in_to_pages(client, "admin")
    settings = app.state.settings
    app.state.settings = replace(settings, retention_scheduled=True, retention_every_hours=1)
    try:
        page = page_text((await client.get("/admin/privacy?lang=en")).text)
        chinese = page_text((await client.get("/admin/privacy?lang=zh-Hans")).text)
    finally:
        app.state.settings = settings
    assert "The policy runs by itself every 1 hour, in the delivery worker." in page
    assert "No event has ended yet." in page
    assert "Nobody has been erased yet." in page
    assert "该策略每 1 小时在投递进程中自动运行一次。" in chinese
