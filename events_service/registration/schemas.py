"""Request and response bodies of public registration."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# Limits a little above the form's own, so that the form's friendlier messages
# (InvalidRegistration, per field) are the ones people see for near misses.
Name = Annotated[str, msgspec.Meta(max_length=400)]
Email = Annotated[str, msgspec.Meta(max_length=320)]
Phone = Annotated[str, msgspec.Meta(max_length=40)]
Organisation = Annotated[str, msgspec.Meta(max_length=400)]
JobTitle = Annotated[str, msgspec.Meta(max_length=240)]


class RegistrationIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    consent: bool
    phone: Phone | None = None
    organisation: Organisation | None = None
    job_title: JobTitle | None = None
    locale: Literal["en", "zh-Hans"] | None = None


class RegistrationOut(msgspec.Struct):
    status: str
    # The ticket's page (its URL is the ticket's secret), only for a person this
    # request created. Null when the address was known already: the ticket is then
    # e-mailed to that address, never handed to whoever typed it.
    ticket_url: str | None
    registration_id: int
    # False when this e-mail was already registered for the event: nothing changed,
    # and the existing ticket was e-mailed to it again.
    created: bool
