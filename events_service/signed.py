"""Short signed tokens: claims, then their HMAC-SHA256. The one signer of the e-mailed
links (set a password, download or erase my data), the kiosk's cookie and the badge
keys a kiosk scan hands out.

A token is `base64url(claim.claim...)` `.` `base64url(signature)`, signed under a key
derived from the secret key for one purpose (`purpose_key`), so a token made for one
purpose never reads as another.
What the claims mean, and whether they still hold (expiry, generation), the caller
decides.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

MAX_TOKEN_LENGTH = 200


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def purpose_key(secret_key: str, purpose: bytes) -> bytes:
    return hmac.new(secret_key.encode(), purpose, hashlib.sha256).digest()


def _signature(secret_key: str, purpose: bytes, claims: str) -> bytes:
    return hmac.new(purpose_key(secret_key, purpose), claims.encode(), hashlib.sha256).digest()


def sign_claims(secret_key: str, purpose: bytes, claims: Sequence[object]) -> str:
    encoded = b64(".".join(str(claim) for claim in claims).encode())
    return f"{encoded}.{b64(_signature(secret_key, purpose, encoded))}"


def read_claims(secret_key: str, purpose: bytes, token: str) -> list[str] | None:
    """The claims of a token signed here for `purpose`; None if forged or garbled."""
    encoded, _, signature = token.partition(".")
    if not encoded or not signature or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        if not hmac.compare_digest(unb64(signature), _signature(secret_key, purpose, encoded)):
            return None
        return unb64(encoded).decode().split(".")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
