"""How staff see a person whose personal data was erased: one placeholder for the
gone name on every page, export, door answer and badge, never "None" or a blank."""

from __future__ import annotations

from events_service.locale import N_, words

ERASED_PERSON = N_("Erased person")


def person_name(name: str | None, locale: str) -> str:
    """The person's name, or the placeholder in `locale` once it was erased (templates
    have it as `person_name(name)`, events_service.locale.Words.template_context)."""
    return name if name else words(locale).gettext(ERASED_PERSON)
