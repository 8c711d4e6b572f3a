"""Why a message failed, in the reader's language.

`last_error` is stored as English text (logs and operators read it as it is). The
reasons the service itself gives (Undeliverable, a lost lease) are catalogue
messages: a stored reason of one of their shapes is shown translated on the
organisers' outbox page. A mail server's own words (SMTP replies) pass through
unchanged, as names people typed do."""

from __future__ import annotations

import functools
import re

from events_service.locale import N_, words

REASONS = (
    N_("recipient %(recipient)s is not one plain e-mail address"),
    N_("recipient %(recipient)s is not one e-mail address: %(problem)s"),
    N_("registration %(registration)s is gone"),
    N_("announcement %(announcement)s is gone"),
    N_("no message is defined for kind %(kind)s"),
    N_("payload lacks %(missing)s"),
    N_("lease expired during attempt %(attempt)s, which may have sent it"),
)
"""Every reason the service writes itself (notifications.messages, notifications.worker)."""


@functools.cache
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", msgid)
    # Even indexes are literal text, odd ones placeholder names.
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


def reason_in_language(reason: str | None, locale: str) -> str:
    """A stored `last_error` for a reader of `locale` (unchanged when not ours)."""
    if not reason:
        return ""
    for msgid in REASONS:
        if (found := _pattern(msgid).fullmatch(reason)) is not None:
            return words(locale).gettext(msgid, **found.groupdict())
    return reason
