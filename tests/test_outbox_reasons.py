"""A failed message's reason reads in the organiser's language when the service wrote it."""

from __future__ import annotations

from notifications.messages import Undeliverable, recipient_address
from notifications.reasons import reason_in_language
from notifications.worker import LEASE_EXPIRED


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
