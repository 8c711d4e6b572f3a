"""Domain errors and the translation of every error into an RFC 9457 problem document.

Each problem carries a stable `type` (a relative URI reference, `/problems/<slug>`)
that clients can branch on, a human `title` and `detail`, and for validation
errors the offending fields under `errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from tortoise.exceptions import DoesNotExist, IntegrityError

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


class DomainError(Exception):
    """A refusal the service means to give; services raise it, HTTP shows it."""

    status_code = HTTPStatus.BAD_REQUEST
    slug = "bad-request"
    title = "The request cannot be carried out"

    def __init__(self, detail: str, *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = dict(extra or {})


class NotFound(DomainError):
    status_code = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status_code = HTTPStatus.CONFLICT
    slug = "conflict"
    title = "Conflicts with the current state"


class Forbidden(DomainError):
    status_code = HTTPStatus.FORBIDDEN
    slug = "forbidden"
    title = "Not allowed"


class Unprocessable(DomainError):
    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "invalid-value"
    title = "A value is not acceptable"


_SLUGS_BY_STATUS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflicts with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


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
    return ProblemDetailsException(
        status_code=status,
        type_=problem_type(slug or default_slug),
        title=title or default_title,
        detail=detail,
        extra=dict(extra) if extra else None,
        headers=headers,
    )


def _from_domain_error(exc: DomainError) -> ProblemDetailsException:
    return _problem(
        int(exc.status_code), exc.detail, slug=exc.slug, title=exc.title, extra=exc.extra
    )


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    fields = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, Mapping):
            fields.append(
                {
                    "field": item.get("key") or "body",
                    "source": item.get("source") or "body",
                    "message": item.get("message", ""),
                }
            )
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or str(exc.detail)
    return _problem(
        400,
        detail,
        slug="validation-error",
        title="The request is not valid",
        extra={"errors": fields},
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    detail = exc.detail if exc.detail else HTTPStatus(status).description
    if status == 413:
        detail = "The request body is larger than this service accepts."
    extra = exc.extra if isinstance(exc.extra, Mapping) else None
    return _problem(status, detail, extra=extra, headers=exc.headers)


def too_many_requests_problem(exc: HTTPException) -> ProblemDetailsException:
    return _problem(
        429,
        "Too many requests from this address; wait a minute and try again.",
        headers=exc.headers,
    )


def _from_does_not_exist(exc: DoesNotExist) -> ProblemDetailsException:
    return _problem(404, "No such record.")


def _from_integrity_error(exc: IntegrityError) -> ProblemDetailsException:
    logger.info("integrity error turned into 409: %s", exc)
    return _problem(409, "The change conflicts with an existing record.")


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
                Exception: _from_unexpected,
            }
        )
    )
