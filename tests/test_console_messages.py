"""E-mail the attendees: the count before sending, the preview in each language, one
outbox row per person (a double submit queues nothing more), delivery in each
person's language, the list of messages sent, and who may use it."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import httpx
import pytest
from litestar import Litestar

from models import Announcement, Audience, OutboxMessage
from notifications.announcements import AnnouncementIn, send_announcement
from notifications.outbox import Kind
from notifications.senders import sender_from_url
from notifications.worker import DeliveryWorker
from tests.checkin_helpers import event_now, link_for, ticket_for
from tests.conftest import Backend
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.mail_server import smtp_server
from tests.test_checkin import scan
from tests.visible_text import page_text

KIND = str(Kind.EVENT_ANNOUNCEMENT)
MESSAGE = {
    "subject_en": "Doors open at 9 <sharp>",
    "body_en": "Dear all,\nbring your ID.\n\nSee you <b>soon</b>.",
    "subject_zh": "九点开门",
    "body_zh": "各位好：\n请携带身份证。",
}
# Who each audience is in the arranged event (see _arranged).
EXPECTED = {"confirmed": 3, "waitlisted": 1, "admitted": 2, "not_admitted": 1}


async def _arranged(app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict) -> tuple:
    """Three confirmed (one registered in Chinese), one waitlisted; two admitted."""
    event = await event_now(client, admin, title="Battery Day", capacity=3, waitlist_enabled=True)
    slug = await link_for(client, admin, event)
    tickets = [
        await ticket_for(app, client, event, slug, 0, name="Li Wei", locale="zh-Hans"),
        await ticket_for(app, client, event, slug, 1, name="Ann Lee"),
        await ticket_for(app, client, event, slug, 2, name="Bo Chen"),
        await ticket_for(app, client, event, slug, 3, name="Wait Ing"),
    ]
    for ticket in tickets[:2]:
        assert (await scan(client, door, event["id"], ticket.code))["verdict"] == "admitted"
    return event, tickets


def _count(html: str) -> int:
    found = re.search(r'id="recipients">[^<]*?(\d+)', html)
    assert found, html[:3000]
    return int(found.group(1))


async def _queued() -> int:
    return await OutboxMessage.filter(kind=KIND).count()


async def test_the_preview_counts_exactly_the_people_of_each_group(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message"
    form = await client.get(f"{path}?lang=en")
    assert form.status_code == 200
    options = page_text(form.text.split('id="f-audience"', 1)[1].split("</select>", 1)[0])
    assert "Everyone confirmed (3)" in options and "Everyone on the waitlist (1)" in options

    for audience, expected in EXPECTED.items():
        preview = await post_form(client, f"{path}/preview", {**MESSAGE, "audience": audience})
        assert preview.status_code == 200, preview.text[:2000]
        assert _count(preview.text) == expected, audience
        assert f"Send to {expected} people" in preview.text or expected == 1
    assert await _queued() == 0  # a preview sends nothing


async def test_the_preview_shows_the_email_in_each_language_escaped(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message/preview"

    preview = await post_form(client, f"{path}?lang=zh-Hans", {**MESSAGE, "audience": "confirmed"})

    assert preview.status_code == 200
    text = page_text(preview.text)
    assert "Doors open at 9 <sharp>" in text and "九点开门" in text
    assert "发送给 3 人" in text
    srcdocs = re.findall(r'srcdoc="([^"]*)"', preview.text)
    assert len(srcdocs) == 2
    # The e-mail is escaped twice in the attribute: the organiser's markup is text.
    assert "&amp;lt;b&amp;gt;soon" in srcdocs[0] and "<b>" not in srcdocs[0]
    assert "请携带身份证。" in srcdocs[1]
    assert 'name="token"' in preview.text


async def test_a_form_with_missing_words_comes_back_with_each_fields_message(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message/preview"
    response = await post_form(client, path, {**MESSAGE, "subject_zh": "", "audience": "confirmed"})
    assert response.status_code == 422
    assert 'id="e-subject_zh"' in response.text
    assert 'value="Doors open at 9 &lt;sharp&gt;"' in response.text


async def test_sending_queues_one_message_per_person_and_a_double_submit_none_more(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, tickets = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message"
    preview = await post_form(client, f"{path}/preview", {**MESSAGE, "audience": "confirmed"})
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)  # type: ignore[union-attr]
    form = {**MESSAGE, "audience": "confirmed", "token": token}

    first = await post_form(client, f"{path}/send", form)
    assert "on its way to 3 people" in page_text((await follow(client, first)).text)
    second = await post_form(client, f"{path}/send", form)
    assert "sent already" in page_text((await follow(client, second)).text)
    rows = await OutboxMessage.filter(kind=KIND).order_by("recipient")
    assert [row.recipient for row in rows] == [f"attendee{n}@example.org" for n in range(3)]
    assert {row.locale for row in rows} == {"en", "zh-Hans"}
    assert len({row.dedupe_key for row in rows}) == 3
    (announcement,) = await Announcement.filter(event_id=event["id"])
    assert announcement.recipients == 3
    assert all(row.payload["announcement_id"] == announcement.id for row in rows)
    assert {row.payload["registration_id"] for row in rows} == {
        t.registration_id for t in tickets[:3]
    }

    # The list of messages sent shows it: when, to whom, how many.
    page = await client.get(f"{path}?lang=en")
    sent = page_text(page.text.split('id="sent"', 1)[1])
    assert "Everyone confirmed" in sent and "Doors open at 9 <sharp>" in sent and "3" in sent


async def test_each_group_gets_exactly_its_people(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, tickets = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message/send"
    people = {
        "waitlisted": {3},
        "admitted": {0, 1},
        "not_admitted": {2},
    }
    for audience, who in people.items():
        before = set(await OutboxMessage.filter(kind=KIND).values_list("id", flat=True))
        response = await post_form(client, path, {**MESSAGE, "audience": audience})
        assert response.status_code == 303, response.text[:1000]
        new = await OutboxMessage.filter(kind=KIND).exclude(id__in=before or [0])
        assert {row.payload["registration_id"] for row in new} == {
            tickets[n].registration_id for n in who
        }, audience


async def test_a_group_with_nobody_in_it_sends_nothing(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event = await event_now(client, admin, title="Quiet Day")
    await log_in_to_pages(client, "admin")
    path = f"/admin/events/{event['id']}/message"
    preview = await post_form(client, f"{path}/preview", {**MESSAGE, "audience": "admitted"})
    assert 'id="send"' not in preview.text
    response = await post_form(client, f"{path}/send", {**MESSAGE, "audience": "admitted"})
    assert response.status_code == 422
    assert "Nobody is in this group" in page_text(response.text)
    assert await Announcement.all().count() == 0 and await _queued() == 0


async def test_the_delivered_email_is_in_each_persons_language_with_the_organisers_words(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "admin")
    response = await post_form(
        client, f"/admin/events/{event['id']}/message/send", {**MESSAGE, "audience": "admitted"}
    )
    assert response.status_code == 303
    with smtp_server() as (mailbox, url):
        settings = dataclasses.replace(app.state.settings, smtp_url=url)
        worker = DeliveryWorker(settings, sender_from_url(url))
        while await worker.run_once():
            pass
        chinese = [m for m in mailbox.to("attendee0@example.org") if m["Subject"] == "九点开门"]
        english = [
            m for m in mailbox.to("attendee1@example.org") if m["Subject"].startswith("Doors")
        ]
    assert len(chinese) == 1 and len(english) == 1
    assert english[0]["Subject"] == "Doors open at 9 <sharp>"
    text = english[0].get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = english[0].get_body(("html",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Hello Ann Lee," in text and "Dear all,\nbring your ID.\n\nSee you <b>soon</b>." in text
    assert "Dear all,<br>\nbring your ID.</p>" in html
    assert "See you &lt;b&gt;soon&lt;/b&gt;." in html and "<b>soon" not in html
    zh_text = chinese[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        "Li Wei，您好" in zh_text and "请携带身份证。" in zh_text and "bring your ID" not in zh_text
    )


async def test_two_concurrent_sends_of_one_form_queue_each_person_once(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict, backend: Backend
) -> None:
    if backend.name != "postgres":
        pytest.skip("concurrent writers: PostgreSQL")
    event, _ = await _arranged(app, client, admin, door)
    data = AnnouncementIn(audience=Audience.CONFIRMED, token="t" * 32, **MESSAGE)

    results: list[Any] = await asyncio.gather(
        *(send_announcement(event["id"], data, None) for _ in range(4))
    )

    assert sorted(r.repeated for r in results) == [False, True, True, True]
    assert await Announcement.all().count() == 1
    assert await _queued() == 3


async def test_door_staff_get_403_on_the_message_pages(
    app: Litestar, client: httpx.AsyncClient, admin: dict, door: dict
) -> None:
    event, _ = await _arranged(app, client, admin, door)
    await log_in_to_pages(client, "staff")
    path = f"/admin/events/{event['id']}/message"
    assert (await client.get(path)).status_code == 403
    for step in ("preview", "edit", "send"):
        response = await post_form(client, f"{path}/{step}", {**MESSAGE, "audience": "confirmed"})
        assert response.status_code == 403, step
    assert await _queued() == 0
