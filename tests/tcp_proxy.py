"""A TCP proxy that can be cut and restored: a database outage without stopping the
shared PostgreSQL server.

It runs its own event loop in a thread, so the test's loop (or a blocking call in
it) never stalls the bytes it forwards.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from tests.server import free_port


class Mode(Enum):
    FORWARD = "forward"  # a working network path to the database
    RESET = "reset"  # the port answers, then drops every connection at once
    REFUSE = "refuse"  # nothing listens: connections are refused


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = Mode.FORWARD
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def set_mode(self, mode: Mode) -> None:
        """Switch modes; leaving FORWARD drops every open connection."""
        self._call(self._switch(mode))

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        if mode is Mode.FORWARD:
            await self._listen()
            return
        await self._drop_connections()
        if mode is Mode.REFUSE:
            await self._stop_listening()
        else:
            await self._listen()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # RST, as when a server or a link goes away
        self._writers.clear()

    async def _close_all(self) -> None:
        await self._drop_connections()
        await self._stop_listening()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is not Mode.FORWARD:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
