"""The pseudonymous person key: HMAC-SHA256 of the normalised e-mail address.

A person keeps their key when their personal data is erased, so the same address
registering again later is the same person (reach and KPIs count them once) while
the service no longer holds the address. The secret comes from the settings
(`EVENTS_PERSON_KEY_SECRET`); one previous secret may be given during a key rotation
(`EVENTS_PERSON_KEY_PREVIOUS_SECRET`): people keyed under it are still recognised,
and re-keyed under the current secret when their address is known again.

The keyer is set once per process (create_app, the CLI, the worker), like the
database: registration runs on fixed SQL deep below any request object.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from events_service.identity import normalise_email

KEY_LENGTH = 64  # hex of a SHA-256 digest


def _derived(secret: str, purpose: str) -> str:
    """A development fallback: a secret of its own, derived from the secret key."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PersonKeyer:
    secret: bytes
    previous: bytes | None = None

    def key(self, email: str) -> str:
        return _hmac(self.secret, email)

    def previous_key(self, email: str) -> str | None:
        return _hmac(self.previous, email) if self.previous else None


def _hmac(secret: bytes, email: str) -> str:
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


_keyer: PersonKeyer | None = None


def keyer_from_settings(settings: object) -> PersonKeyer:
    secret = getattr(settings, "person_key_secret", "") or _derived(
        getattr(settings, "secret_key", ""), "person-key"
    )
    previous = getattr(settings, "person_key_previous_secret", None) or None
    return PersonKeyer(secret.encode(), previous.encode() if previous else None)


def use_person_key(settings: object) -> PersonKeyer:
    """Set this process's keyer from the settings (idempotent)."""
    global _keyer
    _keyer = keyer_from_settings(settings)
    return _keyer


def current_keyer() -> PersonKeyer | None:
    return _keyer


def person_key(email: str) -> str:
    if _keyer is None:
        raise RuntimeError("the person key is not configured (use_person_key(settings))")
    return _keyer.key(email)


def previous_person_key(email: str) -> str | None:
    return _keyer.previous_key(email) if _keyer is not None else None
