"""The e-mailed links by which an attendee downloads or erases their own data.

A link names the person, what it does (export or erase) and when it expires, signed
with HMAC-SHA256 under a key of its own derived from the secret key (as the staff
set-password link is). The outbox holds only those claims: the working link is
signed when the e-mail is built, so no row of the database holds one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from events_service.locale import N_
from events_service.signed import read_claims, sign_claims

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


# A key of its own (events_service/signed.py): a staff link never reads as this one.
PURPOSE = b"person-data-link"


def link_token(secret_key: str, person_id: int, action: str, expires_at: int) -> str:
    return sign_claims(secret_key, PURPOSE, (person_id, action, expires_at))


@dataclass(frozen=True)
class LinkClaims:
    person_id: int
    action: str
    expires_at: int


def read_link(secret_key: str, token: str, now: float | None = None) -> LinkClaims | None:
    """The claims of a genuine, unexpired link; None otherwise (forged, expired, garbled)."""
    claims = read_claims(secret_key, PURPOSE, token)
    try:
        person, action, expires = claims or ()
        parsed = LinkClaims(int(person), action, int(expires))
    except ValueError:
        return None
    if parsed.action not in ACTIONS or parsed.expires_at < (now or time.time()):
        return None
    return parsed
