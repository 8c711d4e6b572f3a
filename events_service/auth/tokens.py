"""Litestar's JWT auth (bearer header or HttpOnly cookie) wired to staff accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token

from events_service.auth.service import user_for_token
from events_service.settings import Settings
from models import StaffUser

# Routes that anyone may call; everything else needs a valid staff token.
PUBLIC_PATHS = [
    "^/$",
    "^/health$",
    "^/schema",
    "^/api/v1/auth/login$",
    "^/static/",
    # Attendees never log in: the registration link and the ticket token are the keys.
    "^/r/",
    "^/t/",
    "^/api/v1/register/",
    r"^/api/v1/events/\d+/ticket-key$",
    "^/api/v1/reach$",
    # The programme's figures are public: partners and the lobby screen read them.
    "^/api/v1/reach/stream$",
    "^/api/v1/programme$",
    "^/api/v1/programme/milestones$",
    "^/dashboard$",
    "^/favicon.ico$",
]


async def _retrieve_user(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> StaffUser | None:
    try:
        user_id = int(token.sub)
    except ValueError:
        return None
    return await user_for_token(user_id, token.jti)


def build_jwt_auth(settings: Settings) -> JWTCookieAuth[StaffUser, Token]:
    return JWTCookieAuth[StaffUser, Token](
        token_secret=settings.secret_key,
        retrieve_user_handler=_retrieve_user,
        default_token_expiration=timedelta(minutes=settings.token_lifetime_minutes),
        exclude=PUBLIC_PATHS,
        key="events_token",
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        description="Staff login: POST /api/v1/auth/login, then send the token as a bearer.",
    )
