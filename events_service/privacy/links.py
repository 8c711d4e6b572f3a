"""The e-mailed links by which an attendee downloads or erases their own data.

A link names the person, what it does (export or erase) and when it expires, signed
with HMAC-SHA256 under a key of its own derived from the secret key (as the staff
set-password link is). The outbox holds only those claims: the working link is
signed when the e-mail is built, so no row of the database holds one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from events_service.locale import N_

EXPORT, ERASE = "export", "erase"
ACTIONS = (EXPORT, ERASE)
LINK_HOURS = 24
PATH = "/my-data"

# What the e-mail says, by action (after the greeting), and its button.
TEXTS = {
    EXPORT: N_(
        "you asked for a copy of the personal data we hold about you. Download it with "
        "the link below; it works for %(hours)s hours. If you did not ask for this, "
        "ignore this e-mail."
    ),
    ERASE: N_(
        "you asked us to delete your personal data. Confirm with the link below; it works "
        "for %(hours)s hours. If you did not ask for this, ignore this e-mail: nothing is "
        "deleted without it."
    ),
}
LABELS = {EXPORT: N_("Download my data"), ERASE: N_("Delete my data")}


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"person-data-link", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_token(secret_key: str, person_id: int, action: str, expires_at: int) -> str:
    claims = _b64(f"{person_id}.{action}.{expires_at}".encode())
    signature = _b64(hmac.new(_key(secret_key), claims.encode(), hashlib.sha256).digest())
    return f"{claims}.{signature}"


@dataclass(frozen=True)
class LinkClaims:
    person_id: int
    action: str
    expires_at: int


def read_link(secret_key: str, token: str, now: float | None = None) -> LinkClaims | None:
    """The claims of a genuine, unexpired link; None otherwise (forged, expired, garbled)."""
    claims, _, signature = token.partition(".")
    expected = _b64(hmac.new(_key(secret_key), claims.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        person, action, expires = _unb64(claims).decode().split(".")
        parsed = LinkClaims(int(person), action, int(expires))
    except (ValueError, UnicodeDecodeError):
        return None
    if parsed.action not in ACTIONS or parsed.expires_at < (now or time.time()):
        return None
    return parsed
