"""Domain errors and the translation of every error into an RFC 9457 problem document.

Each problem carries a stable `type` (a relative URI reference, `/problems/<slug>`)
that clients can branch on, a human `title` and `detail`, and for validation
errors the offending fields under `errors`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any

import asyncpg
import redis.exceptions
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from tortoise.exceptions import DBConnectionError, DoesNotExist, IntegrityError, OperationalError

from events_service.locale import (
    DEFAULT_LOCALE,
    N_,
    Message,
    in_language,
    translatable,
    translations,
)
from events_service.observe import request_id_var
from events_service.web.i18n import pick_locale

logger = logging.getLogger(__name__)


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


class DomainError(Exception):
    """A refusal the service means to give; services raise it, HTTP shows it."""

    status_code = HTTPStatus.BAD_REQUEST
    slug = "bad-request"
    title = N_("The request cannot be carried out")
    # Response headers of the problem (a 401's WWW-Authenticate).
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = dict(extra or {})


class NotFound(DomainError):
    status_code = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = N_("Not found")


class Conflict(DomainError):
    status_code = HTTPStatus.CONFLICT
    slug = "conflict"
    title = N_("Conflicts with the current state")


class Forbidden(DomainError):
    status_code = HTTPStatus.FORBIDDEN
    slug = "forbidden"
    title = N_("Not allowed")


class Unprocessable(DomainError):
    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "invalid-value"
    title = N_("A value is not acceptable")


_SLUGS_BY_STATUS = {
    400: ("bad-request", N_("Bad request")),
    401: ("unauthorized", N_("Authentication required")),
    403: ("forbidden", N_("Not allowed")),
    404: ("not-found", N_("Not found")),
    405: ("method-not-allowed", N_("Method not allowed")),
    409: ("conflict", N_("Conflicts with the current state")),
    413: ("payload-too-large", N_("Request body too large")),
    415: ("unsupported-media-type", N_("Unsupported media type")),
    429: ("rate-limited", N_("Too many requests")),
    503: ("unavailable", N_("Service unavailable")),
}


class LocalisedProblem(ProblemDetailsException):
    """A problem document whose human parts (title, detail, the fields' messages) are
    in the request's language where the catalogue has them; `type` and everything a
    client branches on stay as they are. English text not in the catalogue (details
    still written as f-strings) passes through unchanged."""

    def to_response(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        settings = request.app.state.settings
        locale = pick_locale(request, settings.default_locale)
        if locale != DEFAULT_LOCALE:
            # The title is a plain id, never formatted: a "%" in one cannot fail here.
            self.title = translations(locale).gettext(self.title) if self.title else self.title
            self.detail = in_language(self.detail, locale) if self.detail else self.detail
            errors = self.extra.get("errors") if isinstance(self.extra, Mapping) else None
            if isinstance(errors, list):
                self.extra = {
                    **self.extra,  # type: ignore[dict-item]
                    "errors": [
                        {**e, "message": in_language(e.get("message", ""), locale)}
                        if isinstance(e, Mapping)
                        else e
                        for e in errors
                    ],
                }
        # The request's id (events_service.observe), to quote when reporting it.
        if (request_id := request_id_var.get()) is not None and (
            self.extra is None or isinstance(self.extra, Mapping)
        ):
            self.extra = {**(self.extra or {}), "request_id": request_id}  # type: ignore[dict-item]
            self.headers = {**(self.headers or {}), "X-Request-ID": request_id}
        return super().to_response(request)


def _problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemDetailsException:
    default_slug, default_title = _SLUGS_BY_STATUS.get(
        status, (HTTPStatus(status).phrase.lower().replace(" ", "-"), HTTPStatus(status).phrase)
    )
    return LocalisedProblem(
        status_code=status,
        type_=problem_type(slug or default_slug),
        title=title or default_title,
        detail=detail,
        extra=dict(extra) if extra else None,
        headers=headers,
    )


def _from_domain_error(exc: DomainError) -> ProblemDetailsException:
    return _problem(
        int(exc.status_code),
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        extra=exc.extra,
        headers=exc.headers,
    )


# msgspec's messages for a value of the wrong shape, as Messages a reader can have in
# their language (anything else msgspec says passes through as it is).
_VALIDATION_MESSAGES = [
    (re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`"),
     N_("Expected `%(expected)s`, got `%(got)s`")),
    (re.compile(r"Object missing required field `(?P<field>[^`]+)`"),
     N_("Object missing required field `%(field)s`")),
    (re.compile(r"Expected `(?P<expected>[^`]+)` of length (?P<op>[<>]=?) (?P<bound>\S+)"),
     N_("Expected `%(expected)s` of length %(op)s %(bound)s")),
    (re.compile(r"Expected `(?P<expected>[^`]+)` (?P<op>[<>]=?) (?P<bound>\S+)"),
     N_("Expected `%(expected)s` %(op)s %(bound)s")),
    (re.compile(r"Object contains unknown field `(?P<field>[^`]+)`"),
     N_("Object contains unknown field `%(field)s`")),
    (re.compile(r"Invalid enum value (?P<value>.+)"), N_("Invalid enum value %(value)s")),
    (re.compile(r"Input data was truncated"), N_("Input data was truncated")),
]  # fmt: skip


def validation_message(text: str) -> str:
    """msgspec's message as a Message when it is one of the shapes above."""
    for pattern, msgid in _VALIDATION_MESSAGES:
        if (found := pattern.fullmatch(text)) is not None:
            return Message(msgid, found.groupdict())
    return text


class FieldProblems(Message):
    """The detail "field: message; ..." of a validation problem, in any language."""

    def __new__(cls, fields: list[dict[str, Any]]) -> FieldProblems:
        problems = super().__new__(cls, "%(joined)s", {"joined": cls._joined(fields, None)})
        problems.fields = fields
        return problems

    fields: list[dict[str, Any]]

    @staticmethod
    def _joined(fields: list[dict[str, Any]], locale: str | None) -> str:
        def text(message: str) -> str:
            return message if locale is None else in_language(message, locale)

        return "; ".join(f"{f['field']}: {text(f['message'])}" for f in fields)

    def in_language(self, locale: str) -> str:
        return self._joined(self.fields, locale)


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    fields = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, Mapping):
            fields.append(
                {
                    "field": item.get("key") or "body",
                    "source": item.get("source") or "body",
                    "message": validation_message(item.get("message", "")),
                }
            )
    detail = FieldProblems(fields) if fields else str(exc.detail)
    return _problem(
        400,
        detail,
        slug="validation-error",
        title=N_("The request is not valid"),
        extra={"errors": fields},
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    detail = exc.detail if exc.detail else HTTPStatus(status).description
    if status == 413:
        detail = translatable("The request body is larger than this service accepts.")
    extra = exc.extra if isinstance(exc.extra, Mapping) else None
    return _problem(status, detail, extra=extra, headers=exc.headers)


def too_many_requests_problem(exc: HTTPException) -> ProblemDetailsException:
    return _problem(
        429,
        translatable("Too many requests from this address; wait a minute and try again."),
        headers=exc.headers,
    )


def _from_does_not_exist(exc: DoesNotExist) -> ProblemDetailsException:
    return _problem(404, translatable("No such record."))


def _from_integrity_error(exc: IntegrityError) -> ProblemDetailsException:
    logger.info("integrity error turned into 409: %s", exc)
    return _problem(409, translatable("The change conflicts with an existing record."))


# How long a client waits before trying again while the database does not answer: a
# restart or fail-over takes seconds, and the pool reconnects on the first request after.
RETRY_AFTER_SECONDS = 5
# While the database is down every request fails the same way: one log line per
# interval (with the count of the others), not a traceback per request.
OUTAGE_LOG_EVERY_SECONDS = 30.0

# asyncpg's errors that mean "no usable connection" rather than "this statement is wrong".
_UNAVAILABLE_ASYNCPG = (
    asyncpg.PostgresConnectionError,  # connection lost or refused by the server
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# Packages whose OSErrors are the database's: a socket to PostgreSQL, SQLite's file.
_DRIVER_MODULES = ("asyncpg", "tortoise", "aiosqlite", "sqlite3", "events_service.db")
# SQLITE_BUSY after the busy timeout: another writer holds the file.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # Tortoise's SQLite client wraps without `from`: the original is in args.
        wrapped = current.args[0] if current.args else None
        if isinstance(wrapped, BaseException) and id(wrapped) not in seen:
            yield from _chain(wrapped)
        current = current.__cause__ or current.__context__


def _raised_by_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached or is too busy to answer,
    as opposed to a bug or a refused statement: the request may succeed later."""
    for error in _chain(exc):
        if isinstance(error, (DBConnectionError, *_UNAVAILABLE_ASYNCPG)):
            return True
        if isinstance(error, asyncpg.InterfaceError) and not isinstance(
            error, asyncpg.exceptions.DataError
        ):
            # "connection is closed", "pool is closing"; not a wrong argument count.
            message = str(error).lower()
            if "closed" in message or "closing" in message or "connection" in message:
                return True
        if isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(
            _SQLITE_BUSY
        ):
            return True
        if isinstance(error, OSError) and _raised_by_driver(error.__traceback__):
            return True  # refused, reset, timed out (TimeoutError is an OSError)
    return False


class OutageLog:
    """Logs the first failure of an outage at once, then one line per interval with
    the number of failures in between: a few lines for an outage, not one per request."""

    def __init__(
        self, log: logging.Logger, consequence: str, every_seconds: float = OUTAGE_LOG_EVERY_SECONDS
    ) -> None:
        self.log = log
        self.consequence = consequence
        self.every_seconds = every_seconds
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._suppressed = 0

    def record(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next_at:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next_at = now + self.every_seconds
        self.log.warning(
            "database unavailable, %s: %s: %s (%d more since the last report)",
            self.consequence,
            type(exc).__name__,
            exc,
            suppressed,
        )


_request_outages = OutageLog(logger, "answering 503")


class _WithoutOutageTracebacks(logging.Filter):
    """Keeps a log line about a lost database as one line: its traceback says nothing
    new, and asyncpg's pool logs one for every reconnection attempt."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] and is_database_unavailable(record.exc_info[1]):
            error = record.exc_info[1]
            record.msg = f"{record.msg} ({type(error).__name__}: {error})"
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_outage_tracebacks() -> None:
    """Install the filter on the driver's pool logger (idempotent)."""
    pool_logger = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _WithoutOutageTracebacks) for f in pool_logger.filters):
        pool_logger.addFilter(_WithoutOutageTracebacks())


def unavailable_problem() -> ProblemDetailsException:
    return _problem(
        503,
        "The service cannot reach its database just now; try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _from_database_error(exc: Exception) -> ProblemDetailsException:
    """Database faults: 503 while it cannot be reached, 500 for anything else."""
    if not is_database_unavailable(exc):
        return _from_unexpected(exc)
    _request_outages.record(exc)
    return unavailable_problem()


def _from_redis_error(exc: Exception) -> ProblemDetailsException:
    """The shared Redis (rate limits, live figures) away: a retryable 503 as well."""
    logger.warning("Redis unavailable: %s", exc)
    return _problem(
        503,
        "The service cannot reach its shared store just now; try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    logger.exception("unhandled error", exc_info=exc)
    return _problem(500, "Something went wrong on our side; it has been logged.")


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                DomainError: _from_domain_error,
                ValidationException: _from_validation,
                HTTPException: _from_http_exception,
                DoesNotExist: _from_does_not_exist,
                IntegrityError: _from_integrity_error,
                # Every way "the database does not answer" reaches a handler.
                DBConnectionError: _from_database_error,
                OperationalError: _from_database_error,
                asyncpg.PostgresError: _from_database_error,
                asyncpg.InterfaceError: _from_database_error,
                sqlite3.OperationalError: _from_database_error,
                OSError: _from_database_error,
                redis.exceptions.ConnectionError: _from_redis_error,
                redis.exceptions.TimeoutError: _from_redis_error,
                Exception: _from_unexpected,
            }
        )
    )
