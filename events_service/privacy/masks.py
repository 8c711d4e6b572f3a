"""Contact details shown to those who must recognise a person, not reach them."""

from __future__ import annotations


def mask_email(email: str) -> str:
    """`zhang.wei@x.test` as `z***@x.test`: enough to tell two namesakes apart when the
    person says their address, too little to write to them."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def mask_phone(phone: str) -> str:
    """`+86 139 1234 1234` as `+86*******1234`: the country code and the last four digits."""
    compact = "".join(ch for ch in phone if not ch.isspace() and ch not in "-().")
    if len(compact) < 8:
        return "*" * max(len(compact) - 2, 0) + compact[-2:]
    head = compact[:3] if compact.startswith("+") else ""
    return head + "*" * (len(compact) - len(head) - 4) + compact[-4:]
