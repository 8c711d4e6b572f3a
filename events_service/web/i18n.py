"""The language of a request: the explicit switch, the remembered choice, the browser's."""

from __future__ import annotations

from litestar import Request, Response

from events_service.locale import negotiate

LOCALE_COOKIE = "lang"


def pick_locale(request: Request, default: str = "en") -> str:
    """?lang= beats the remembered choice, which beats a logged-in staff member's
    preferred language, which beats the browser's languages."""
    user = request.scope.get("user")
    return negotiate(
        explicit=request.query_params.get("lang"),
        remembered=request.cookies.get(LOCALE_COOKIE),
        preferred=getattr(user, "preferred_locale", None),
        accept_language=request.headers.get("accept-language", ""),
        default=default,
    )


def remember_switch(request: Request, response: Response, locale: str) -> None:
    """A switch (?lang=) to `locale` is remembered by the browser for the next pages, so
    a form posted or a link followed afterwards stays in that language."""
    if request.query_params.get("lang") == locale:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
