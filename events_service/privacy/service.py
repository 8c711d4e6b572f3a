"""Retention and erasure of personal data; the person keys they leave behind.

What goes: the personal fields of a person (settings.retention_fields: e-mail, phone,
name and job title by default; the organisation only when named, because the
companies KPI is recomputed from people's organisations), their pending outbox
messages, and the address of the messages already sent to them. What stays: the
person row with its key (privacy/keys.py) and first admission, so the talent reach
and every KPI stay exactly as they were; registrations, admissions, scan logs,
judging and winner records (none of which holds a personal field).

A person is erased by the policy only when none of their events is inside its
window: the event's end plus its retention days (Event.retention_days, else the
setting) is past. Each batch is one transaction that locks its people, checks them
again under the lock (a registration committed meanwhile keeps its person), erases
them and writes its audit row (ErasureRecord), so an interrupted run leaves whole
batches and a re-run erases exactly the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import timezone
from tortoise.exceptions import BaseORMException, IntegrityError
from tortoise.transactions import in_transaction

from events_service.db import (
    Statements,
    default_connection,
    execute,
    fetch_rows,
    with_row_lock,
)
from events_service.errors import Conflict, NotFound
from events_service.locale import N_, translatable
from events_service.privacy.keys import PersonKeyer, current_keyer
from events_service.settings import RETENTION_FIELDS, Settings
from models import Admission, ErasureRecord, OutboxMessage, Person, Registration
from models.enums import EventStatus, RegistrationStatus

log = logging.getLogger("events_service.privacy")

POLICY = "policy"
STAFF = "staff"
PERSON = "person"

# The columns each erasable field blanks.
_COLUMNS = {
    "email": "email",
    "phone": "phone",
    "name": "name",
    "job_title": "job_title",
    "organisation": "organisation_id",
}


@dataclass(frozen=True)
class RetentionRun:
    people: int
    events: int
    batches: int
    dry_run: bool


def _placeholders(start: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(start, start + count))


async def open_event_ids(now: datetime, settings: Settings) -> list[int]:
    """Events that have ended but are still inside their retention window. (Events
    that have not ended are open too, and so is any event changed after `now`: the
    statements below test both themselves, so one list serves a whole run.)"""
    rows = await fetch_rows(
        default_connection(),
        "SELECT id, ends_at, retention_days FROM event WHERE ends_at <= $1",
        [now],
    )
    open_ids = []
    for row in rows:
        days = (
            row["retention_days"] if row["retention_days"] is not None else settings.retention_days
        )
        ends_at = row["ends_at"]
        if isinstance(ends_at, str):
            ends_at = datetime.fromisoformat(ends_at)
        if ends_at + timedelta(days=days) > now:
            open_ids.append(int(row["id"]))
    return open_ids


def _still_needed(now_param: int, open_ids: Sequence[int], first_param: int) -> str:
    """SQL true when person p has an event inside its window: not ended yet ($now),
    one of the open ids (bound from $first_param on), or changed since the run began
    at $now (created, or its end or retention edited, after the open ids were read:
    kept until the next run decides on fresh figures).

    Written for PostgreSQL's plans as much as for the rule: one EXISTS over a UNION
    ALL probes each person's own registrations and entries (the person_id indexes)
    instead of hashing every registration of the open events, which the prepared
    statement's generic plan chose (100-200 ms a batch, and growing with the open
    events); and the OR keeps the events' sub-select from becoming a join made again
    for each person: it is read once per statement (an empty id list is NULL, which
    matches nothing)."""
    listed = _placeholders(first_param, len(open_ids)) if open_ids else "NULL"
    now = f"${now_param}"
    changed = f"SELECT e.id FROM event e WHERE e.ends_at > {now} OR e.updated_at > {now}"  # noqa: S608

    def event_open(column: str) -> str:
        return f"({column} IN ({listed}) OR {column} IN ({changed}))"

    return f"""EXISTS (
    SELECT 1 FROM registration r WHERE r.person_id = p.id AND {event_open("r.event_id")}
    UNION ALL
    SELECT 1 FROM entry_member m JOIN entry n ON n.id = m.entry_id
    WHERE m.person_id = p.id AND {event_open("n.event_id")})"""  # noqa: S608 - placeholders


async def retention_candidates(
    now: datetime,
    settings: Settings,
    *,
    after_id: int = 0,
    limit: int | None = None,
    open_ids: Sequence[int] | None = None,
) -> list[int]:
    """Ids (ascending, above `after_id`) of people the policy erases now: not erased
    yet, at one event or more, none of them inside its window. A run passes the
    `open_ids` it read once (open_event_ids); without them they are read here."""
    if open_ids is None:
        open_ids = await open_event_ids(now, settings)
    values: list[Any] = [now, after_id, *open_ids]
    limit_sql = ""
    if limit is not None:
        values.append(limit)
        limit_sql = f" LIMIT ${len(values)}"
    # "At one event or more" as one EXISTS over a UNION ALL too: two EXISTS joined by
    # OR made PostgreSQL hash every registration's person for each batch (190 ms a
    # batch at 100,000 people); this probes the batch's people only.
    sql = f"""
SELECT p.id FROM person p
WHERE p.erased_at IS NULL AND p.id > $2
  AND EXISTS (SELECT 1 FROM registration r WHERE r.person_id = p.id
              UNION ALL SELECT 1 FROM entry_member m WHERE m.person_id = p.id)
  AND NOT {_still_needed(1, open_ids, 3)}
ORDER BY p.id{limit_sql}"""  # noqa: S608 - placeholders and our own SQL only
    rows = await fetch_rows(default_connection(), sql, values)
    return [int(row["id"]) for row in rows]


async def events_of(people: Sequence[int]) -> int:
    """How many events these people were registered for (for the dry run)."""
    events: set[int] = set()
    conn = default_connection()
    for start in range(0, len(people), 1000):
        chunk = list(people[start : start + 1000])
        rows = await fetch_rows(
            conn,
            f"SELECT DISTINCT event_id FROM registration WHERE person_id IN "  # noqa: S608
            f"({_placeholders(1, len(chunk))})",
            chunk,
        )
        events.update(int(row["event_id"]) for row in rows)
    return len(events)


async def erase_people(
    ids: Sequence[int],
    reason: str,
    fields: Sequence[str],
    *,
    actor: str = POLICY,
    staff_id: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
    open_ids: Sequence[int] | None = None,
) -> int:
    """Erase these people's personal fields in one transaction; how many were erased.

    Idempotent: people already erased are skipped. With `settings` (the policy's
    run) a person with an event still inside its window is skipped too, checked
    under the lock (against the run's `open_ids` when given, see _still_needed).
    One ErasureRecord per call that erased anyone."""
    unknown = [f for f in fields if f not in RETENTION_FIELDS]
    if unknown or not fields:
        raise ValueError(f"unknown fields to erase: {unknown}")
    if not ids:
        return 0
    now = now or timezone.now()
    if settings is not None and open_ids is None:
        open_ids = await open_event_ids(now, settings)
    open_ids = open_ids or []
    ordered = sorted(set(ids))
    async with in_transaction() as conn:
        # Lock first, then read in a statement of its own: on PostgreSQL that one
        # sees every registration committed while we waited for the locks.
        lock = with_row_lock(
            f"SELECT id FROM person WHERE id IN ({_placeholders(1, len(ordered))}) "  # noqa: S608
            "AND erased_at IS NULL ORDER BY id",
            "FOR UPDATE",
        )
        locked = [int(row["id"]) for row in await fetch_rows(conn, lock, ordered)]
        if not locked:
            return 0
        values: list[Any] = [*locked]
        keep = ""
        if settings is not None:
            values.extend([now, *open_ids])
            keep = f" AND NOT {_still_needed(len(locked) + 1, open_ids, len(locked) + 2)}"
        rows = await fetch_rows(
            conn,
            f"SELECT p.id, p.email FROM person p WHERE p.id IN "  # noqa: S608
            f"({_placeholders(1, len(locked))}){keep}",
            values,
        )
        if not rows:
            return 0
        erased = [int(row["id"]) for row in rows]
        emails = [row["email"] for row in rows if row["email"]]
        if "email" in fields and emails:
            await _forget_messages(conn, emails)
        blank = ", ".join(f"{_COLUMNS[f]} = NULL" for f in fields)
        await execute(
            conn,
            f"UPDATE person SET {blank}, erased_at = $1 WHERE id IN "  # noqa: S608
            f"({_placeholders(2, len(erased))})",
            [now, *erased],
        )
        await ErasureRecord.create(
            actor=actor,
            staff_id=staff_id,
            reason=reason[:40],
            people=len(erased),
            erased_fields=",".join(fields),
            created_at=now,
            using_db=conn,
        )
    return len(erased)


async def _forget_messages(conn: Statements, emails: list[str]) -> None:
    """Pending messages to these addresses are dropped (nobody is to be written to
    any more); those already sent or failed stay, for the organisers' counts, without
    the address. Payloads of our messages hold ids only (registration, event)."""
    targets = _placeholders(1, len(emails))
    await execute(
        conn,
        f"DELETE FROM outbox_message WHERE recipient IN ({targets}) "  # noqa: S608
        "AND status IN ('pending', 'sending')",
        emails,
    )
    await execute(
        conn,
        f"UPDATE outbox_message SET recipient = '', last_error = NULL "  # noqa: S608
        f"WHERE recipient IN ({targets})",
        emails,
    )


async def run_retention(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
) -> RetentionRun:
    """The policy, batch by batch; safe to run from cron and in several processes."""
    now = now or timezone.now()
    size = batch_size or settings.retention_batch_size
    if dry_run:
        people = await retention_candidates(now, settings)
        return RetentionRun(len(people), await events_of(people), 0, True)
    # Read once: events that end or change during the run are told by SQL itself.
    open_ids = await open_event_ids(now, settings)
    total = batches = 0
    after = 0
    while True:
        batch = await retention_candidates(
            now, settings, after_id=after, limit=size, open_ids=open_ids
        )
        if not batch:
            break
        after = batch[-1]
        erased = await erase_people(
            batch, "retention", settings.retention_fields, now=now, settings=settings,
            open_ids=open_ids,
        )  # fmt: skip
        total += erased
        batches += 1
        log.info("retention: batch %s erased %s people", batches, erased)
    return RetentionRun(total, await _events_erased_at(now) if total else 0, batches, False)


async def _events_erased_at(now: datetime) -> int:
    """How many events the people this run erased were registered for, counted once
    at the end: the run marks each of them erased at its own `now`."""
    rows = await fetch_rows(
        default_connection(),
        "SELECT COUNT(DISTINCT r.event_id) AS n FROM registration r "
        "JOIN person p ON p.id = r.person_id WHERE p.erased_at = $1",
        [now],
    )
    return int(rows[0]["n"])


# -- Erasure of one person (on their request, or by an admin) -----------------------


async def upcoming_tickets(person_id: int, now: datetime | None = None) -> int:
    """How many live tickets (confirmed or waitlisted) the person holds for events
    that have not ended and are not cancelled: erasure waits until they cancel."""
    rows = await fetch_rows(
        default_connection(),
        """
SELECT COUNT(*) AS n FROM registration r JOIN event e ON e.id = r.event_id
WHERE r.person_id = $1 AND r.status IN ($2, $3) AND e.ends_at > $4 AND e.status <> $5""",
        [
            person_id,
            RegistrationStatus.CONFIRMED.value,
            RegistrationStatus.WAITLISTED.value,
            now or timezone.now(),
            EventStatus.CANCELLED.value,
        ],
    )
    return int(rows[0]["n"])


# -- Person keys -----------------------------------------------------------------------


async def backfill_person_keys(keyer: PersonKeyer | None = None, batch: int = 1000) -> int:
    """Fill in the key of every person who has an address and no key yet (rows made
    before migration 0010, or bulk-inserted). Run at every app start; cheap when
    there is nothing to do. Two rows whose addresses normalise alike cannot both
    hold the key: the later one keeps none (and is logged by count)."""
    keyer = keyer or current_keyer()
    if keyer is None:
        raise RuntimeError("the person key is not configured")
    conn = default_connection()
    filled = clashes = 0
    after = 0
    while True:
        rows = await fetch_rows(
            conn,
            "SELECT id, email FROM person WHERE person_key IS NULL AND email IS NOT NULL "
            "AND id > $1 ORDER BY id LIMIT $2",
            [after, batch],
        )
        if not rows:
            break
        after = int(rows[-1]["id"])
        for row in rows:
            try:
                filled += await execute(
                    conn,
                    "UPDATE person SET person_key = $2 WHERE id = $1 AND person_key IS NULL",
                    [row["id"], keyer.key(row["email"])],
                )
            except IntegrityError:
                clashes += 1
    if clashes:
        log.warning("person keys: %s people share a normalised address; left unkeyed", clashes)
    return filled


async def backfill_person_keys_at_start() -> None:
    """`backfill_person_keys` for the app's start, which must not fail on a database
    that does not answer: the process still comes up, so `/health/ready` can name
    the database (503) instead of the service being simply gone. Until the keys are
    filled (next start, or `events-service privacy backfill-keys`) registration still
    finds an unkeyed person by address, so nobody is counted twice meanwhile."""
    try:
        await backfill_person_keys()
    except (OSError, BaseORMException) as exc:
        log.warning(
            "person keys not filled at start (%s): database unavailable", type(exc).__name__
        )


@dataclass(frozen=True)
class Rotation:
    rekeyed: int
    erased_kept: int


async def rotate_person_keys(keyer: PersonKeyer, batch: int = 1000) -> Rotation:
    """Re-key every person whose address is still held under the keyer's (new)
    secret. Erased people cannot be re-keyed (their address is gone): they keep the
    key of the secret they were erased under, recognised as long as that secret is
    given as EVENTS_PERSON_KEY_PREVIOUS_SECRET (README: Personal data)."""
    conn = default_connection()
    rekeyed = 0
    after = 0
    while True:
        rows = await fetch_rows(
            conn,
            "SELECT id, email, person_key FROM person WHERE email IS NOT NULL AND id > $1 "
            "ORDER BY id LIMIT $2",
            [after, batch],
        )
        if not rows:
            break
        after = int(rows[-1]["id"])
        async with in_transaction() as tx:
            for row in rows:
                key = keyer.key(row["email"])
                if row["person_key"] != key:
                    rekeyed += await execute(
                        tx, "UPDATE person SET person_key = $2 WHERE id = $1", [row["id"], key]
                    )
    (kept,) = await fetch_rows(
        conn, "SELECT COUNT(*) AS n FROM person WHERE email IS NULL AND person_key IS NOT NULL", []
    )
    return Rotation(rekeyed, int(kept["n"]))


UPCOMING_DETAIL = translatable(
    "Cancel your tickets for upcoming events first; then your data can be erased."
)


class TicketStillUpcoming(Conflict):
    slug = "ticket-upcoming"
    title = N_("You still hold a ticket for an upcoming event")


async def erase_person(
    person_id: int,
    *,
    actor: str,
    staff_id: int | None = None,
    settings: Settings,
    reason: str | None = None,
) -> int:
    """Erase one person now (an admin, or the person on request); 0 when they were
    erased already. Refused while they hold a live ticket for an event to come.
    `reason` (the audit row's, never personal text) defaults to the actor's."""
    if not await Person.filter(id=person_id).exists():
        raise NotFound(translatable("No person %(person_id)s.", person_id=person_id))
    if await upcoming_tickets(person_id):
        raise TicketStillUpcoming(UPCOMING_DETAIL)
    reason = reason or ("request" if actor == PERSON else "admin")
    return await erase_people([person_id], reason, settings.retention_fields, actor=actor,
                              staff_id=staff_id)  # fmt: skip


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def export_person(person_id: int) -> dict[str, Any]:
    """Everything the service holds about one person, as JSON: exactly theirs."""
    person = await Person.get_or_none(id=person_id).select_related("organisation")
    if person is None:
        raise NotFound(translatable("No person %(person_id)s.", person_id=person_id))
    registrations = await Registration.filter(person_id=person_id).select_related("event")
    admissions = await Admission.filter(person_id=person_id).order_by("id")
    messages = (
        await OutboxMessage.filter(recipient=person.email).order_by("id") if person.email else []
    )
    return {
        "person": {
            "id": person.id,
            "email": person.email,
            "name": person.name,
            "phone": person.phone,
            "job_title": person.job_title,
            "organisation": person.organisation.name if person.organisation else None,
            "locale": person.locale,
            "created_at": _iso(person.created_at),
            "first_admitted_at": _iso(person.first_admitted_at),
            "erased_at": _iso(person.erased_at),
        },
        "registrations": [
            {
                "id": r.id,
                "event_id": r.event.id,
                "event": r.event.title,
                "status": str(r.status),
                "locale": r.locale,
                "consent_at": _iso(r.consent_at),
                "created_at": _iso(r.created_at),
                "cancelled_at": _iso(r.cancelled_at),
            }
            for r in sorted(registrations, key=lambda r: r.id)
        ],
        "admissions": [
            {
                "registration_id": a.registration_id,  # type: ignore[attr-defined]
                "event_id": a.event_id,  # type: ignore[attr-defined]
                "gate": a.gate,
                "admitted_at": _iso(a.admitted_at),
            }
            for a in admissions
        ],
        "messages": [
            {
                "kind": m.kind,
                "status": str(m.status),
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
    }
