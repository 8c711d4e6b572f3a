"""Request bodies that are not JSON."""

from __future__ import annotations

from typing import Any

from litestar import Request

from events_service.errors import Unprocessable
from events_service.locale import translatable


async def csv_text(request: Request[Any, Any, Any]) -> str:
    """The body of a CSV upload (text/csv), which must be UTF-8."""
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable(translatable("The CSV must be UTF-8 text.")) from None
