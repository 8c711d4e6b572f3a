"""Litestar's JWT auth (bearer header or HttpOnly cookie) wired to staff accounts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Self

from cachetools import TLRUCache
from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token

from events_service.auth.claimed import ClaimedStaff, verifies_staff
from events_service.auth.guards import SESSION_CLAIM
from events_service.auth.service import user_for_token
from events_service.settings import Settings
from models import StaffUser

# The login cookie (CSRF protection keys on it too: events_service.auth.csrf).
AUTH_COOKIE = "events_token"

# Routes that anyone may call; everything else needs a valid staff token.
PUBLIC_PATHS = [
    "^/$",
    "^/health(/live|/ready)?$",
    "^/schema",
    "^/api/v1/auth/login$",
    "^/static/",
    # Attendees never log in: the registration link and the ticket token are the keys.
    "^/r/",
    "^/t/",
    # The e-mailed link to an attendee's own data (privacy/pages.py) is its own key.
    "^/my-data/",
    "^/api/v1/register/",
    r"^/api/v1/events/\d+/ticket-key$",
    "^/api/v1/reach$",
    # The programme's figures are public: partners and the lobby screen read them.
    "^/api/v1/reach/stream$",
    "^/api/v1/programme$",
    "^/api/v1/programme/milestones$",
    "^/dashboard$",
    "^/favicon.ico$",
    # Its own bearer token (EVENTS_METRICS_TOKEN), checked by events_service.metrics.
    "^/metrics$",
]


# Verified tokens remembered per process; a door phone sends the same token on every
# scan. Bounded: past maxsize the least recently used entry goes. An entry's time to
# use is its token's expiry, so an expired token is never served from here: it misses,
# and the full decode refuses it (a token decoded without verify_exp is then decoded
# afresh each time, not remembered). Used from the event loop only, never from a
# worker thread, so it needs no lock.
_VERIFIED_MAX = 4096


def _until_expiry(_key: tuple[Any, ...], token: Token, _now: float) -> float:
    return token.exp.timestamp()


_verified: TLRUCache[tuple[Any, ...], Token] = TLRUCache(
    maxsize=_VERIFIED_MAX, ttu=_until_expiry, timer=time.time
)


class VerifiedToken(Token):
    """A Token whose signature check is done once per encoded string, not per request.

    Decoding (base64, JSON, HMAC, claim checks) cost about a tenth of a door scan's
    CPU. The result depends only on the string, the settings and the clock, so an
    entry is kept until the token expires and a hit checks nothing else; whether the
    user is still active and the token not revoked is still read from the database on
    every request.
    """

    @classmethod
    def decode(
        cls,
        encoded_token: str,
        secret: str,
        algorithm: str,
        audience: str | Sequence[str] | None = None,
        issuer: str | Sequence[str] | None = None,
        require_claims: Sequence[str] | None = None,
        verify_exp: bool = True,
        verify_nbf: bool = True,
        strict_audience: bool = False,
    ) -> Self:
        key = (encoded_token, secret, algorithm, audience if isinstance(audience, str) else
               tuple(audience or ()), issuer if isinstance(issuer, str) else tuple(issuer or ()),
               tuple(require_claims or ()), verify_exp, verify_nbf, strict_audience)  # fmt: skip
        hit = _verified.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        token = super().decode(
            encoded_token, secret, algorithm, audience, issuer, require_claims,
            verify_exp, verify_nbf, strict_audience,
        )  # fmt: skip
        if "nbf" not in token.extras:  # a not-yet-valid token would need the clock again
            _verified[key] = token
        return token


async def _retrieve_user(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> StaffUser | ClaimedStaff | None:
    try:
        user_id = int(token.sub)
    except ValueError:
        return None
    # Tokens issued before generations existed carry none: generation 0, every
    # account's first.
    generation = token.extras.get(SESSION_CLAIM, 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    jti = token.jti if isinstance(token.jti, str) else None
    if verifies_staff(connection):
        return ClaimedStaff(id=user_id, jti=jti, generation=generation)
    return await user_for_token(user_id, jti, generation)


def build_jwt_auth(settings: Settings) -> JWTCookieAuth[StaffUser, Token]:
    return JWTCookieAuth[StaffUser, Token](
        token_cls=VerifiedToken,
        token_secret=settings.secret_key,
        retrieve_user_handler=_retrieve_user,
        default_token_expiration=timedelta(minutes=settings.token_lifetime_minutes),
        exclude=PUBLIC_PATHS,
        key=AUTH_COOKIE,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        description="Staff login: POST /api/v1/auth/login, then send the token as a bearer.",
    )
