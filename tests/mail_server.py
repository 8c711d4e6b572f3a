"""A real SMTP server for the tests: aiosmtpd in its own thread, recording what it accepts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.server import free_port


class Mailbox:
    """Every message the server accepted, parsed with the standard `email` package."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.messages]


@contextmanager
def smtp_server(port: int | None = None, **options: Any) -> Iterator[tuple[Mailbox, str]]:
    """A running server and its `smtp://` URL; stopped (port closed) afterwards.

    `options` go to aiosmtpd (TLS contexts, authentication)."""
    mailbox = Mailbox()
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{port}?timeout=5"
    finally:
        controller.stop()


class SlowMailbox(Mailbox):
    """Records a message as soon as its data arrives, then takes `delay` seconds to
    answer: a slow or hanging mail server, with the message possibly delivered."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        # Set once a message's answer is on its way: the sender's send then ends.
        self.answered = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        self.answered.set()
        return answer


@contextmanager
def slow_smtp_server(delay: float) -> Iterator[tuple[SlowMailbox, str]]:
    mailbox = SlowMailbox(delay)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{controller.port}?timeout=60"
    finally:
        controller.stop()
