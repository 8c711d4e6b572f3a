"""The one boundary every request crosses before any rule sees it.

Two halves, so that a new route is safe by default:

- `check_request` runs before every handler (Litestar's `before_request`, after
  authentication and guards, before the body is decoded). It refuses, for every
  route alike, what no schema could want and the database cannot store or compare:
  a NUL character anywhere in the path, the query, a JSON, form or CSV body (text
  columns on PostgreSQL cannot hold one, and asyncpg fails the whole statement);
  integer path ids outside the database's range; JSON nested deeper than any of
  our bodies; and, on routes that take JSON, a body that does not say it is JSON.
- The types below bound what each field may be (lengths, id and offset ranges).
  `tests/test_boundary.py` walks the OpenAPI document and fails on any operation
  whose integer or string inputs are left unbounded, so a new field cannot forget.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter, QueryParameter
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from events_service.errors import DomainError, NotFound
from events_service.locale import N_, translatable

# Primary keys are 32-bit on PostgreSQL: anything beyond names no row, and asyncpg
# refuses to even send it as a parameter.
MAX_ROW_ID = 2**31 - 1
# OFFSET is a bigint in SQL, but no list of ours holds two billion rows.
MAX_OFFSET = 2**31 - 1
MAX_PAGE_SIZE = 500
# Our deepest body (a judge's sheet) nests four levels; msgspec itself gives up at
# Python's recursion limit with a RecursionError, which was a 500.
MAX_JSON_DEPTH = 32

RowId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ROW_ID)]
"""An id in a request body: out of range is a validation error naming the field."""

# Optional filters: the constraint must sit on the whole `int | None`, or Litestar drops it.
RowIdFilter = Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]
# Strings in paths: as long as the column they are looked up in (a longer one names
# no row, and the ORM refuses to even compare it).
LinkSlug = Annotated[str, PathParameter(min_length=1, max_length=32)]
LinkSlugQuery = Annotated[str | None, QueryParameter(min_length=1, max_length=32)]
TicketToken = Annotated[str, PathParameter(min_length=1, max_length=64)]


class BadInput(DomainError):
    status_code = 400  # type: ignore[assignment]
    slug = "bad-input"
    title = N_("The request contains something no field may hold")


class UnsupportedMediaType(DomainError):
    status_code = 415  # type: ignore[assignment]
    slug = "unsupported-media-type"
    title = N_("Unsupported media type")


# A JSON string can carry NUL only as the escape \u0000: an odd number of
# backslashes before "u0000" (an even number is an escaped backslash, then text).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_INNERMOST = re.compile(rb"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}")
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether any value in this JSON text nests deeper than `limit` arrays/objects.

    Linear per level and C-speed: strings are dropped first (brackets inside them do
    not count), then each pass removes the innermost containers; whatever is left
    after `limit` passes was nested deeper. Bodies with few brackets skip all this.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    text = _JSON_STRING.sub(b'""', body)
    for _ in range(limit):
        text, removed = _INNERMOST.subn(b"0", text)
        if not removed:
            return False
    return b"[" in text or b"{" in text


# What each handler's body is, looked up once per handler (not per request).
_BODY_MEDIA: dict[HTTPRouteHandler, RequestEncodingType | str | None] = {}


def _body_media(handler: HTTPRouteHandler) -> RequestEncodingType | str | None:
    if handler not in _BODY_MEDIA:
        data = handler.parsed_fn_signature.parameters.get("data")
        media = getattr(data.kwarg_definition, "media_type", None) if data else None
        if data is not None and media is None:
            media = RequestEncodingType.JSON  # Litestar's default for a `data` body
        _BODY_MEDIA[handler] = media
    return _BODY_MEDIA[handler]


def _refuse_nul(where: str) -> BadInput:
    return BadInput(
        f"The {where} contains a NUL character (\\u0000), which no field accepts.",
        extra={"errors": [{"field": where, "source": where, "message": "NUL character"}]},
    )


async def check_request(request: Request[Any, Any, Any]) -> None:
    """Refuse, before any handler runs, input that no route of ours can take."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not 0 <= value <= MAX_ROW_ID:
            raise NotFound(
                translatable("No record with %(name)s %(value)s.", name=name, value=value)
            )
        if isinstance(value, str) and "\x00" in value:
            raise NotFound(translatable("No such record."))
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise _refuse_nul("query")
    if request.method not in _UNSAFE_METHODS:
        return
    handler = request.route_handler
    media = _body_media(handler) if isinstance(handler, HTTPRouteHandler) else None
    if ScopeState.from_scope(request.scope).form is not Empty:
        # A multipart form the CSRF middleware has parsed: its stream is spent (reading
        # the body again would wait forever), so its fields are looked at instead.
        for value in (await request.form()).values():
            if isinstance(value, str) and "\x00" in value:
                raise _refuse_nul("form")
        return
    body = await request.body()
    if media == RequestEncodingType.JSON:
        if body and not _JSON_MEDIA.match(request.content_type[0]):
            raise UnsupportedMediaType(
                translatable("This route takes JSON: send the body as application/json.")
            )
        if _JSON_NUL.search(body):
            raise _refuse_nul("body")
        if json_too_deep(body):
            raise BadInput(
                translatable("The JSON body nests deeper than %(n)s levels.", n=MAX_JSON_DEPTH)
            )
    elif media == RequestEncodingType.URL_ENCODED:
        if b"%00" in body or b"\x00" in body:
            raise _refuse_nul("form")
    elif b"\x00" in body:  # CSV uploads and multipart forms
        raise _refuse_nul("body")
