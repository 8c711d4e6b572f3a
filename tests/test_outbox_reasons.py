"""A failed message's reason reads in the organiser's language when the service wrote it."""

from __future__ import annotations

import httpx
from tortoise import timezone

from models import OutboxMessage
from models.enums import OutboxStatus
from notifications.messages import Undeliverable, recipient_address
from notifications.reasons import reason_in_language
from notifications.worker import LEASE_EXPIRED
from tests.console_helpers import log_in_to_pages
from tests.visible_text import page_text


def test_the_services_own_reasons_are_translated() -> None:
    try:
        recipient_address("a@example.org, b@example.org")
    except Undeliverable as error:
        stored = str(error)
    else:  # pragma: no cover - the refusal is the point
        raise AssertionError("a list of addresses was accepted")
    assert stored.startswith("recipient 'a@example.org, b@example.org' is not")
    chinese = reason_in_language(stored, "zh-Hans")
    assert "a@example.org, b@example.org" in chinese
    assert "recipient" not in chinese and "收件人" in chinese

    lease = f"{LEASE_EXPIRED} during attempt 3, which may have sent it"
    assert "3" in reason_in_language(lease, "zh-Hans")
    assert "lease" not in reason_in_language(lease, "zh-Hans")
    assert reason_in_language(lease, "en") == lease


def test_a_mail_servers_words_pass_through() -> None:
    smtp = "SMTPRecipientsRefused: {'x@example.org': (550, '5.1.1 User unknown')}"
    assert reason_in_language(smtp, "zh-Hans") == smtp
    assert reason_in_language(None, "zh-Hans") == ""


def test_every_kind_of_message_has_a_name_for_organisers() -> None:
    from notifications.outbox import Kind
    from notifications.wording import KIND_NAMES

    assert set(KIND_NAMES) == set(Kind)


async def test_the_outbox_page_gives_the_reason_in_the_organisers_language(
    client: httpx.AsyncClient,
) -> None:
    failed = await OutboxMessage.create(
        kind="event.announcement",
        dedupe_key="test:reason",
        recipient="a@example.org",
        status=OutboxStatus.FAILED,
        due_at=timezone.now(),
        last_error="registration 42 is gone",
    )
    await log_in_to_pages(client, "admin")
    listed = page_text((await client.get("/admin/outbox?lang=zh-Hans")).text)
    assert "报名 42 已不存在" in listed and "致参会者的通知" in listed
    one = page_text((await client.get(f"/admin/outbox/{failed.id}?lang=zh-Hans")).text)
    assert "报名 42 已不存在" in one
