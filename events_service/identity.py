"""How people are told apart: the normalised e-mail address."""

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


def organisation_key(name: str) -> str:
    """The case-insensitive identity of an organisation name ("ACME  Ltd" == "acme ltd")."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
