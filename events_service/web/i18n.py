"""The language of a request: the explicit switch, the remembered choice, the browser's."""

from __future__ import annotations

from litestar import Request

from events_service.locale import negotiate

LOCALE_COOKIE = "lang"


def pick_locale(request: Request, default: str = "en") -> str:
    """?lang= beats the remembered choice, which beats the browser's languages."""
    return negotiate(
        explicit=request.query_params.get("lang"),
        remembered=request.cookies.get(LOCALE_COOKIE),
        accept_language=request.headers.get("accept-language", ""),
        default=default,
    )
