"""The console's outbox over HTTP on both backends: the lists by status and kind with
their counts, one message with its attempts, last error and preview, and a retry."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from tortoise import timezone

from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.outbox import Kind
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.visible_text import page_text

MILESTONE = {"percent": 25, "kpi": "talents", "value": "1,800", "target": "7,200",
             "path": "/dashboard"}  # fmt: skip


async def queue(
    n: int,
    *,
    kind: Kind = Kind.REACH_MILESTONE,
    status: OutboxStatus = OutboxStatus.PENDING,
    payload: dict | None = None,
    **fields: object,
) -> OutboxMessage:
    return await OutboxMessage.create(
        kind=kind,
        dedupe_key=f"test:{n}",
        recipient=f"organiser{n}@example.org",
        payload=MILESTONE if payload is None else payload,
        status=status,
        due_at=timezone.now() - timedelta(minutes=1),
        **fields,
    )


def rows(page: httpx.Response) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-message="(\d+)"', page.text)]


def counts(page: httpx.Response) -> dict[str, str]:
    found = re.findall(r'data-status="(\w+)"><strong>([\d,]+)</strong>', page.text)
    return dict(found)


async def test_the_list_filters_by_status_and_kind_newest_first_with_counts(
    client: httpx.AsyncClient,
) -> None:
    sent = await queue(1, status=OutboxStatus.SENT, sent_at=timezone.now())
    failed = await queue(2, status=OutboxStatus.FAILED, attempts=8, last_error="SMTP 550 no")
    judge = await queue(3, kind=Kind.JUDGE_ASSIGNED, payload={"round": "Final"})
    pending = await queue(4)
    await log_in_to_pages(client, "admin")

    everything = await client.get("/admin/outbox")
    assert everything.status_code == 200
    assert rows(everything) == [pending.id, judge.id, failed.id, sent.id]
    assert counts(everything) == {"pending": "2", "sending": "0", "sent": "1", "failed": "1"}
    text = page_text(everything.text)
    assert "Judge: entries assigned" in text and "SMTP 550 no" in text

    only_failed = await client.get("/admin/outbox?status=failed")
    assert rows(only_failed) == [failed.id]
    assert counts(only_failed)["pending"] == "2"  # the counts stay the whole outbox's
    judges = await client.get(f"/admin/outbox?kind={Kind.JUDGE_ASSIGNED.value}")
    assert rows(judges) == [judge.id]
    both = await client.get(f"/admin/outbox?status=pending&kind={Kind.REACH_MILESTONE.value}")
    assert rows(both) == [pending.id]
    nonsense = await client.get("/admin/outbox?status=lost&kind=nope&offset=-4")
    assert nonsense.status_code == 200 and len(rows(nonsense)) == 4

    chinese = await client.get("/admin/outbox?lang=zh-Hans")
    assert "Failed" not in page_text(chinese.text)


async def test_a_long_outbox_comes_in_pages_that_keep_the_filter(
    client: httpx.AsyncClient,
) -> None:
    now = timezone.now()
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                kind=Kind.REACH_MILESTONE,
                dedupe_key=f"bulk:{n}",
                recipient="o@example.org",
                payload=MILESTONE,
                due_at=now,
            )
            for n in range(55)
        ]
    )
    await log_in_to_pages(client, "admin")
    first = await client.get("/admin/outbox?status=pending")
    assert len(rows(first)) == 50
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link and "status=pending" in next_link.group(1)
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert len(rows(second)) == 5
    assert not set(rows(first)) & set(rows(second))


async def test_a_failed_message_shows_its_last_error_and_preview_and_can_be_retried(
    client: httpx.AsyncClient,
) -> None:
    failed = await queue(
        7, status=OutboxStatus.FAILED, attempts=8,
        last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
    )  # fmt: skip
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/outbox/{failed.id}")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "550 mailbox unavailable" in text
    assert "organiser7@example.org" in text and "Reach milestone" in text
    assert "Milestone: 25% of the talents target" in text  # the subject the worker builds
    assert 'sandbox=""' in page.text and "srcdoc=" in page.text
    assert f'action="/admin/outbox/{failed.id}/retry"' in page.text

    retried = await post_form(client, f"/admin/outbox/{failed.id}/retry")
    landed = await follow(client, retried)
    assert "back in line" in page_text(landed.text)
    row = await OutboxMessage.get(id=failed.id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert f'action="/admin/outbox/{failed.id}/retry"' not in landed.text

    again = await follow(client, await post_form(client, f"/admin/outbox/{failed.id}/retry"))
    assert "only failed messages are retried" in page_text(again.text)
    missing = await post_form(client, "/admin/outbox/999999/retry")
    assert missing.status_code == 404
    assert (await client.get("/admin/outbox/999999")).status_code == 404


async def test_the_preview_never_puts_the_message_html_into_the_console_page(
    client: httpx.AsyncClient,
) -> None:
    hostile = {**MILESTONE, "kpi": "<script>alert(1)</script>"}
    message = await queue(8, payload=hostile)
    broken = await queue(9, kind=Kind.JUDGE_ASSIGNED, payload={})
    await log_in_to_pages(client, "admin")

    page = await client.get(f"/admin/outbox/{message.id}")
    assert "<script>alert(1)" not in page.text
    html = re.search(r'srcdoc="([^"]*)"', page.text)
    assert html and "<" not in html.group(1)  # the whole e-mail is one attribute's text
    cannot = await client.get(f"/admin/outbox/{broken.id}")
    assert cannot.status_code == 200
    assert "cannot be built" in page_text(cannot.text)


async def test_the_preview_of_a_set_password_mail_leaves_the_link_out(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    await post_form(client, "/admin/staff/new", {"email": "new@example.org", "role_staff": "on"})
    row = await OutboxMessage.get(recipient="new@example.org")
    assert row.kind == Kind.STAFF_SET_PASSWORD
    assert "token" not in str(row.payload)  # the outbox never holds a working link

    page = await client.get(f"/admin/outbox/{row.id}")
    assert page.status_code == 200
    assert "Choose your password" in page_text(page.text)
    tokens = re.findall(r"token=([^\s&\"<]+)", page.text)
    assert tokens and set(tokens) == {"…"}
