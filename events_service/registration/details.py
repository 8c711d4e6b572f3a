"""An attendee's own edit of their details, from their ticket page.

Registering never changes a person who exists (upserts.PERSON_ON_CONFLICT): only the
holder of a ticket link, which went to the person's own address, may. The
organisation feeds the companies counter from the person's first admission on, so
it can be changed only while the person has no admission anywhere; after that the
counters would need moving between organisations, and the organisers decide that.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound
from events_service.identity import organisation_key
from events_service.locale import N_, translatable
from events_service.registration.forms import CleanDetails, InvalidRegistration
from events_service.registration.upserts import organisation_id
from models import Organisation, Person, Registration
from models.enums import EventStatus, RegistrationStatus

ORGANISATION_LOCKED = translatable(
    "Your organisation is counted from your attendance: ask the organisers to change it."
)


class TicketClosed(Conflict):
    slug = "ticket-closed"
    title = N_("This ticket can no longer be changed")


@dataclass(frozen=True)
class Editable:
    """What the ticket page's form may offer."""

    editable: bool  # not for a cancelled registration or event
    organisation_locked: bool  # the person has been admitted somewhere


def editable(registration: Registration) -> Editable:
    """Needs registration.event and registration.person loaded."""
    open_ = (
        registration.status != RegistrationStatus.CANCELLED
        and registration.event.status != EventStatus.CANCELLED
    )
    return Editable(open_, registration.person.first_admitted_at is not None)


async def update_details(manage_token: str, details: CleanDetails) -> Person:
    """Save the ticket holder's new details; InvalidRegistration names a refused field."""
    async with in_transaction() as conn:
        registration = (
            await Registration.filter(manage_token=manage_token)
            .select_related("event")
            .using_db(conn)
            .first()
        )
        if registration is None:
            raise NotFound(translatable("No ticket with this link."))
        if (
            registration.status == RegistrationStatus.CANCELLED
            or registration.event.status == EventStatus.CANCELLED
        ):
            raise TicketClosed(
                translatable("This registration is cancelled: its details cannot be changed.")
            )
        # Locked as a first admission locks it (checkin LOCK_PERSON / ADMIT_PG's mark):
        # an admission and this edit of the organisation never interleave.
        person = (
            await Person.filter(id=registration.person_id)  # type: ignore[attr-defined]
            .select_for_update()
            .using_db(conn)
            .get()
        )
        if details.organisation_given:
            await _change_organisation(conn, person, details.organisation)
        person.name = details.name
        person.phone = details.phone or person.phone  # the page never shows it: empty keeps it
        person.job_title = details.job_title
        await person.save(using_db=conn, update_fields=["name", "phone", "job_title"])
    return person


async def _change_organisation(conn: BaseDBAsyncClient, person: Person, name: str | None) -> None:
    current = None
    if person.organisation_id is not None:  # type: ignore[attr-defined]
        keys = (
            await Organisation.filter(id=person.organisation_id)  # type: ignore[attr-defined]
            .using_db(conn)
            .values_list("name_key", flat=True)
        )
        current = keys[0] if keys else None
    wanted = organisation_key(name) if name else None
    if wanted == current:
        return  # the same organisation, however it is spelled now
    new_id = await organisation_id(conn, name) if name else None
    # Conditional on "never admitted": on SQLite (no row locks) this is the guard, and
    # on PostgreSQL it re-checks the row locked above.
    changed = (
        await Person.filter(id=person.id, first_admitted_at__isnull=True)
        .using_db(conn)
        .update(organisation_id=new_id)
    )
    if not changed:
        raise InvalidRegistration({"organisation": ORGANISATION_LOCKED})
    person.organisation_id = new_id  # type: ignore[attr-defined]
