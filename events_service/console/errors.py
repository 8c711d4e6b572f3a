"""A refusal on a console page is a console page saying why, with the way back, not a
problem document: organisers read pages, scripts read the API."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException

from events_service.console.layout import console_page
from events_service.errors import DomainError
from events_service.locale import translatable
from events_service.web.login import PAGE_EXCEPTION_HANDLERS


def refusal_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = int(getattr(exc, "status_code", 400))
    detail = getattr(exc, "detail", "") or ""
    if isinstance(exc, NotFoundException):
        detail = translatable("There is no such page in the console.")
    title = translatable("Not found") if status == 404 else translatable("This cannot be done")
    return console_page(
        request,
        "pages/console/message.html",
        section="",
        title=title,
        status_code=status,
        message=detail,
    )


CONSOLE_EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **PAGE_EXCEPTION_HANDLERS,
    DomainError: refusal_page,
    NotFoundException: refusal_page,
}
