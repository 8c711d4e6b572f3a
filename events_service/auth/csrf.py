"""CSRF protection for what a browser can be tricked into sending: cookie-authenticated writes.

Litestar's CSRF middleware (a signed token in the `csrftoken` cookie, echoed by pages
in the `_csrf_token` form field or the `x-csrftoken` header) guards every unsafe
request that carries the login cookie. Two kinds of request are let through
unchecked, as Django REST framework does for token authentication:
- those with an `Authorization` header: another site cannot make a browser attach
  one (custom headers need CORS, which this service never grants), and Litestar's
  JWT auth reads the header before the cookie;
- those without the login cookie: they carry no authority to abuse (the public
  forms' keys are in their URLs).
The token cookie is handed out with pages, not with API answers, which never need it.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Headers
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from events_service.auth.tokens import AUTH_COOKIE
from events_service.settings import Settings

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
_NO_TOKEN_PATHS = ("/api/", "/static/", "/health", "/schema")


def _has_cookie(headers: Headers, name: str) -> bool:
    prefix = f"{name}="
    return any(
        part.strip().startswith(prefix)
        for value in headers.getall("cookie", [])
        for part in value.split(";")
    )


def _has_bearer(headers: Headers) -> bool:
    # Litestar's JWT auth falls back to the cookie when the header carries no token
    # after its scheme ("Authorization: x"): only a real token exempts the request.
    return bool(headers.get("authorization", "").partition(" ")[2].strip())


class CookieCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers.from_scope(scope)
            if scope["method"] in self.config.safe_methods:
                if scope["path"].startswith(_NO_TOKEN_PATHS):
                    await self.app(scope, receive, send)
                    return
            elif _has_bearer(headers) or not _has_cookie(headers, AUTH_COOKIE):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    # A key of its own, derived from the secret, so a CSRF token never doubles as
    # anything the login secret signs.
    secret = hmac.new(settings.secret_key.encode(), b"csrf", hashlib.sha256).hexdigest()
    config = CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.public_base_url.startswith("https://"),
        cookie_samesite="lax",
        # Page scripts read it to send the header; it is no secret from the page.
        cookie_httponly=False,
    )
    return DefineMiddleware(CookieCSRFMiddleware, config=config)
