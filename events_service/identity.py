"""How people and organisations are told apart: normalised e-mail address and name."""

import hashlib
import unicodedata

MAX_EMAIL_LENGTH = 254


def normalise_email(raw: str) -> str:
    """NFKC, trimmed, case-folded: ` Li@Example.COM` and `li@example.com` are one person."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def is_plausible_email(email: str) -> bool:
    """A cheap shape check; the only real proof is a delivered message."""
    if not email or len(email) > MAX_EMAIL_LENGTH or any(ch.isspace() for ch in email):
        return False
    if email.count("@") != 1:
        return False
    local, _, domain = email.partition("@")
    return bool(local and "." in domain.strip(".") and ".." not in domain)


MAX_ORGANISATION_KEY = 200  # Organisation.name_key's column


def organisation_key(name: str) -> str:
    """The case-insensitive identity of an organisation name ("ACME  Ltd" == "acme ltd").

    NFKC can make a name many times longer (one ligature becomes 18 letters), so a
    name within the 200 characters we accept may have a longer key: such a key keeps
    its start and ends in a digest of the whole, which still tells names apart.
    """
    key = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    if len(key) <= MAX_ORGANISATION_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[: MAX_ORGANISATION_KEY - 33]}#{digest}"
