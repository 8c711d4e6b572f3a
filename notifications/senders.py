"""Where built messages go: an SMTP server (aiosmtplib), or `.eml` files for development.

One URL picks and configures the sender (`EVENTS_SMTP_URL`):

    smtp://user:password@mail.example.org:25     plain, STARTTLS when the server offers it
    smtp+starttls://user:password@host:587       STARTTLS required
    smtps://user:password@host:465               TLS from the first byte
    file://var/mail                              one .eml file per message (the default)

Query options: `timeout=SECONDS`, `cafile=PATH` (a private CA to trust besides the system's).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from contextlib import suppress
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


class Sender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class FileSender:
    """Writes each message to `<folder>/<Message-ID>.eml`, so a newcomer can open what
    was sent; the same message sent twice overwrites its own file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"] or id(message)).strip("<>").replace("/", "_")
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(message.as_bytes())
        tmp.replace(self.folder / f"{name}.eml")

    async def close(self) -> None:
        return None


class SmtpSender:
    """Sends over a small pool of kept-open SMTP connections.

    A connection costs a TCP (and TLS) handshake plus EHLO and AUTH: reusing it is
    what lets one worker keep up with a burst of registrations.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        timeout: float = 30.0,
        max_connections: int = 4,
        cafile: str | None = None,
    ) -> None:
        self._options = {
            "hostname": hostname,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": use_tls,
            "start_tls": start_tls,
            "timeout": timeout,
        }
        # Certificates are always verified; `cafile` trusts a private CA as well.
        self._options["tls_context"] = ssl.create_default_context(cafile=cafile)
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(max_connections)

    async def send(self, message: EmailMessage) -> None:
        async with self._slots:
            if not self._idle.empty():
                client = self._idle.get_nowait()
                try:
                    await client.send_message(message)
                except aiosmtplib.SMTPServerDisconnected:
                    await _discard(client)  # dropped while idle: one try on a fresh one
                except BaseException:
                    await _discard(client)
                    raise
                else:
                    self._idle.put_nowait(client)
                    return
            client = await self._connect()
            try:
                await client.send_message(message)
            except BaseException:
                await _discard(client)
                raise
            self._idle.put_nowait(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        await client.connect()
        return client

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            with suppress(Exception):
                await client.quit()
            await _discard(client)


async def _discard(client: aiosmtplib.SMTP) -> None:
    with suppress(Exception):
        client.close()


DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def sender_from_url(url: str, *, max_connections: int = 4) -> Sender:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileSender(Path(unquote(parts.netloc + parts.path)))
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"EVENTS_SMTP_URL must start with smtp://, smtp+starttls://, smtps:// or file://, "
            f"got {parts.scheme or 'no scheme'}"
        )
    if not parts.hostname:
        raise ValueError("EVENTS_SMTP_URL names no host")
    query = parse_qs(parts.query)
    return SmtpSender(
        parts.hostname,
        parts.port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        # None: STARTTLS when the server offers it; True: refuse to send without it.
        start_tls=True if parts.scheme == "smtp+starttls" else None,
        timeout=float(query.get("timeout", ["30"])[0]),
        max_connections=max_connections,
        cafile=query["cafile"][0] if "cafile" in query else None,
    )
