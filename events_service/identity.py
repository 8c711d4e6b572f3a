"""How people and organisations are told apart: normalised e-mail address and name."""

import hashlib
import re
import unicodedata

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

MAX_EMAIL_LENGTH = 254


def normalise_email(raw: str) -> str:
    """NFKC, trimmed, case-folded: ` Li@Example.COM` and `li@example.com` are one person."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def _validated(address: str) -> ValidatedEmail | None:
    try:
        return validate_email(
            address,
            check_deliverability=False,  # no DNS: the only real proof is a delivered message
            # Our mail goes out without SMTPUTF8: a non-ASCII local part would be a
            # registration whose ticket can never be delivered.
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_empty_local=False,
        )
    except EmailNotValidError:
        return None


def checked_email(raw: str) -> str | None:
    """The address's identity form (see normalise_email), or None when it is not one
    plain addr-spec at a public domain name.

    RFC 5322 also allows comments, display names, groups and lists in an address
    header: `(1)same@x.org` would be a second person with the same mailbox, and
    `victim,attacker@evil.org` a ticket mailed to two. email-validator accepts only
    a dot-atom local part at a domain name, which is also all that a mail header
    carries without quoting; it refuses special-use names (`.local`, `.test`, ...).
    """
    address = normalise_email(raw or "")
    if not address or len(address) > MAX_EMAIL_LENGTH:
        return None
    valid = _validated(address)
    # email-validator lower-cases and IDNA-maps the domain; ours stays the one rule
    # of identity, applied to what it gives back (a no-op for an ASCII address).
    return normalise_email(valid.normalized) if valid is not None else None


_SPECIAL_USE_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def ascii_email(address: str) -> str | None:
    """A stored address as a mail header spells it (an internationalised domain in
    IDNA form), or None when it is not one plain addr-spec.

    Addresses stored before registration refused special-use domains (an intranet's
    `ops@corp.local`) are still one plain address and still go out: at send time
    only the shape matters, checked on the same local part at a public domain."""
    valid = _validated(address)
    if valid is not None:
        return valid.ascii_email
    local, at, domain = address.rpartition("@")
    if at and domain.isascii() and _SPECIAL_USE_DOMAIN.match(domain.casefold()):
        return address if _validated(f"{local}@example.org") is not None else None
    return None


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
