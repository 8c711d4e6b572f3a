"""A request id per request, one access log line per request, JSON logs in production.

The request id comes from the client's (or the proxy's) `X-Request-ID` when it is
short and plain (letters, digits, `.`, `_`, `-`, at most 64), else a new one; it is
sent back in `X-Request-ID`, put in every problem document (`request_id`) and in
every log line written while the request runs.

The access line (logger `events_service.access`) holds the request id, method,
route template (`/t/{token:str}`, never the path itself, which may hold a ticket
token), status, duration and the staff user's id: no query string, no e-mail, no
name, no code. In production every log line is one JSON object
(`logging_config(settings)`); in development the plain text format stays.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

import msgspec
from litestar.logging.config import LoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from events_service.settings import Settings

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._\-]{1,64}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("events_service.access")


def current_request_id() -> str | None:
    return request_id_var.get()


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SANE_REQUEST_ID.fullmatch(value):
                return value
            break
    return secrets.token_hex(8).encode()


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Outermost ASGI middleware: request id in, request id out, one access line."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        raw_id = _request_id(scope)
        request_id = raw_id.decode()
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                # A problem document names its id itself (events_service.errors).
                if not any(name == REQUEST_ID_HEADER for name, _ in headers):
                    headers.append((REQUEST_ID_HEADER, raw_id))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        except Exception as exc:
            # Raised by a middleware (a refused login token): Litestar's outer
            # exception layer answers, with the id still set (never reset: each
            # request runs in a task, so in a context, of its own).
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            if access_log.isEnabledFor(logging.INFO):
                user = scope.get("user")
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope.get("path_template") or "unmatched",
                    status,
                    extra={
                        "method": scope["method"],
                        "route": scope.get("path_template") or "unmatched",
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "staff_user_id": getattr(user, "id", None),
                    },
                )

    return middleware


# LogRecord's own attributes: anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
_encoder = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


JsonFormatter.converter = time.gmtime  # type: ignore[assignment]


def logging_config(settings: Settings) -> LoggingConfig:
    """Litestar's logging setup: JSON lines in production, its plain text otherwise.

    The access line costs about 65 us per request (the record, the queue, the
    listener thread's formatting, measured in a loop over the middleware), so
    development, which needs no audit trail, leaves it off (granian's
    `--access-log` is there for a developer who wants one)."""
    if not settings.is_production:
        config = LoggingConfig()
        config.loggers["events_service.access"] = {"level": "WARNING", "propagate": True}
        return config
    config = LoggingConfig(formatters={"standard": {"()": JsonFormatter}})
    config.loggers["events_service"] = {"level": "INFO", "propagate": True}
    return config
