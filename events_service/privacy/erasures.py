"""How a person came to be erased, for the staff who look at them afterwards; and the
reasons an admin picks from when erasing someone in the console.

The audit row (ErasureRecord) never names whom it erased. It is found by its moment:
erase_people writes the person's erased_at and the row's created_at from one clock
reading, so the row whose created_at equals a person's erased_at is theirs (a policy
run's batches share one moment, and say the same). No row at that moment (deleted,
or written by some other path): the page shows the date alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from events_service.locale import N_
from models import ErasureRecord, Person

# What an admin gives as the reason in the console: a fixed list, so the audit row
# never holds text typed about a person. The codes are what ErasureRecord.reason keeps.
STAFF_REASONS = {
    "person-asked": N_("The person asked to be erased (by e-mail, phone or in person)"),
    "consent-withdrawn": N_("The person withdrew their consent"),
    "not-needed": N_("The data is no longer needed for the programme"),
    "wrongly-collected": N_("The data was collected by mistake"),
    "legal-obligation": N_("A legal obligation or an authority's order"),
}
# The erasable fields (settings.RETENTION_FIELDS), in words.
FIELD_WORDS = {
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "name": N_("Name"),
    "job_title": N_("Job title"),
    "organisation": N_("Organisation"),
}
# Every reason an audit row can hold, in words.
REASON_WORDS = {
    "retention": N_("The retention period after their last event ended"),
    "request": N_("The person asked through their my-data link"),
    "admin": N_("An admin erased them through the API"),
    **STAFF_REASONS,
}


@dataclass(frozen=True)
class Erasure:
    """When a person was erased, and (when the audit row is found) by whom and why:
    `actor` is "policy", "staff" or "person"; `staff` the admin's name or address."""

    at: datetime
    actor: str | None = None
    staff: str | None = None
    reason: str | None = None
    fields: tuple[str, ...] = ()


async def erasure_of(person_id: int) -> Erasure | None:
    """The person's erasure; None while their data is held (never erased, or they
    registered again since, which fills it in anew)."""
    person = await Person.get_or_none(id=person_id).only("id", "erased_at")
    if person is None or person.erased_at is None:
        return None
    rows = await ErasureRecord.filter(created_at=person.erased_at).select_related("staff")
    actors = {row.actor for row in rows}
    if len(actors) != 1:  # none, or two kinds at one instant: not linkable
        return Erasure(at=person.erased_at)
    row = rows[0]
    staff = (row.staff.name or row.staff.email) if row.staff else None
    return Erasure(
        at=person.erased_at,
        actor=row.actor,
        staff=staff,
        reason=row.reason,
        fields=tuple(f for f in row.erased_fields.split(",") if f),
    )
