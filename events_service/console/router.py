"""Every console page behind one guard: admin role only; anonymous people are sent to
the login form and back, other roles get a 403 page (auth.guards, web.login)."""

from __future__ import annotations

import hashlib
import hmac

from litestar import Router
from litestar.middleware.session.client_side import CookieBackendConfig

from events_service.auth.guards import admin_only
from events_service.checkin import badges
from events_service.console import (
    account,
    competitions,
    door,
    entries,
    events,
    home,
    judging_round,
    links,
    messages,
    outbox,
    people,
    privacy,
    programme,
    ranking,
    registrations,
    round_setup,
    rounds,
    staff,
    winners,
)
from events_service.console.errors import CONSOLE_EXCEPTION_HANDLERS
from events_service.settings import Settings


def console_sessions(settings: Settings) -> CookieBackendConfig:
    """The console's session: only its flash messages (Litestar's flash), in an
    encrypted cookie scoped to /admin. App-wide (Litestar's FlashPlugin wants it there;
    a router's middleware is deep-copied, which its cipher refuses), but every other
    path skips it: "/" is the only one the pattern lets through, and no console cookie
    is sent there."""
    secret = hmac.new(settings.secret_key.encode(), b"console-session", hashlib.sha256)
    return CookieBackendConfig(
        secret=secret.digest(),
        key="console",
        path="/admin",
        exclude=r"^/(?!admin(/|$)).",
        secure=settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
        max_age=8 * 3600,
    )


def console_router() -> Router:
    return Router(
        path="/admin",
        route_handlers=[
            *home.ROUTES,
            *events.ROUTES,
            *links.ROUTES,
            *registrations.ROUTES,
            *people.ROUTES,
            *door.ROUTES,
            *messages.ROUTES,
            *staff.ROUTES,
            *account.ROUTES,
            *outbox.ROUTES,
            *rounds.ROUTES,
            *round_setup.ROUTES,
            *ranking.ROUTES,
            *competitions.ROUTES,
            *entries.ROUTES,
            *judging_round.ROUTES,
            *winners.ROUTES,
            *programme.ROUTES,
            *privacy.ROUTES,
            *badges.CONSOLE_ROUTES,
        ],
        guards=[admin_only],
        exception_handlers=CONSOLE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
