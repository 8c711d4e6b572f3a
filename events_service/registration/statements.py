"""Every statement of registration, for both engines, and the rules they share.

The hot path is fixed SQL (see events_service.db): it runs for every one of the
hundreds of people who open a fresh link in its first minute. PostgreSQL takes a
registration in one statement (REGISTER_PG); SQLite, and bringing back a cancelled
registration, take the same steps one by one (TICKET_OF, the person upserts,
TAKE_QUOTA, TAKE_SEAT, INSERT_REGISTRATION, the outbox's ENQUEUE_SQL). Both are built
from the fragments below, so the rule that no link or event is oversold is written
once; tests/test_engine_parity.py runs both paths and compares every row.
"""

from __future__ import annotations

from events_service.db import Engine, Query, with_row_lock
from models.enums import OrganisationKind, RegistrationStatus
from notifications.outbox import (
    NEW_MESSAGE,
    Kind,
    dedupe_key_sql,
    insert_messages,
    registration_payload_sql,
)


# The oversell rule: a link has a place while fewer than its quota used it, an event
# a seat while fewer than its capacity are confirmed (no quota or capacity: no limit).
# `row` is the alias of the row, with its dot ("" for the updated table itself).
def link_has_room(row: str = "") -> str:
    return f"({row}quota IS NULL OR {row}used_count < {row}quota)"


def event_has_room(row: str = "") -> str:
    return f"({row}capacity IS NULL OR {row}confirmed_count < {row}capacity)"


# The ticket e-mail a registration's status sends.
TICKET_MAIL = {
    RegistrationStatus.CONFIRMED: Kind.REGISTRATION_CONFIRMED,
    RegistrationStatus.WAITLISTED: Kind.REGISTRATION_WAITLISTED,
}


def ticket_mail_sql(status_sql: str) -> str:
    """TICKET_MAIL in SQL, for a registration's status column."""
    cases = " ".join(f"WHEN '{status}' THEN '{kind}'" for status, kind in TICKET_MAIL.items())
    return f"CASE {status_sql} {cases} END"


def _ticket_of(person: str, event: str) -> str:
    """`person`: the condition that finds the person (alias p)."""
    return f"""
SELECT r.id, r.status, r.manage_token, r.locale FROM registration r
JOIN person p ON p.id = r.person_id
WHERE {person} AND r.event_id = {event}"""


# A person is found by their key (privacy/keys.py), which survives erasure. The step
# by step path also finds by address a person whose key is not filled in yet (a row
# older than migration 0010 or bulk-inserted; the app fills keys in at startup).
# $1 key, $2 email.
_KEY_OR_EMAIL = "(p.person_key = $1 OR p.email = $2)"


PERSON_COLUMNS = "email, name, phone, job_title, organisation_id, locale, created_at, person_key"
REGISTRATION_COLUMNS = (
    "person_id, event_id, link_id, status, manage_token, locale, consent_at, created_at, updated_at"
)
TAKE_LINK_PLACE = "UPDATE registration_link SET used_count = used_count + 1"
TAKE_EVENT_SEAT = "UPDATE event SET confirmed_count = confirmed_count + 1"

# $1 key, $2 email, $3 event.
TICKET_OF = _ticket_of(_KEY_OR_EMAIL, "$3")
LOCK_REGISTRATION = with_row_lock("SELECT status FROM registration WHERE id = $1", "FOR UPDATE")
# $1 link.
TAKE_QUOTA = f"{TAKE_LINK_PLACE} WHERE id = $1 AND {link_has_room()}"
# $1 event: concurrent callers queue on the event row and each sees the count the
# previous one committed.
TAKE_SEAT = f"{TAKE_EVENT_SEAT} WHERE id = $1 AND {event_has_room()}"
FREE_SEAT = """
UPDATE event SET confirmed_count = confirmed_count - 1 WHERE id = $1 AND confirmed_count > 0
"""
INSERT_REGISTRATION = f"""
INSERT INTO registration ({REGISTRATION_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)
RETURNING id
"""
REACTIVATE_REGISTRATION = """
UPDATE registration SET status = $2, link_id = $3, locale = $4, consent_at = $5,
    updated_at = $5, cancelled_at = NULL, promoted_at = NULL
WHERE id = $1
"""

# People and organisations: insert-or-read in one statement each. DO NOTHING, not a
# no-op update: an update would lock the row, and everyone from a popular
# organisation would queue on it until the registering transaction ends.
FIND_ORGANISATION = "SELECT id FROM organisation WHERE name_key = $1"
INSERT_ORGANISATION = """
INSERT INTO organisation (name, name_key, kind, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name_key) DO NOTHING
RETURNING id
"""
# Registering never changes a person who exists: whoever types an address into a
# form may not be its owner, and their name, phone and organisation would replace
# the owner's. Details change only on the person's own ticket page (details.py).
# REGISTER_PG needs the existing row's id back and the row locked: a no-op update
# gives both, where DO NOTHING returns no row.
# The one exception: a person whose data was erased (privacy/service.py) and whose
# address registers again gets the typed details: they are the person at that address.
# Not the organisation: it is kept by default, and one erased comes back only through
# the ticket page (registration/details.py), which keeps the companies counter exact.
PERSON_ON_CONFLICT = """ON CONFLICT (person_key) DO UPDATE SET
    email = COALESCE(person.email, EXCLUDED.email),
    name = COALESCE(person.name, EXCLUDED.name),
    phone = CASE WHEN person.erased_at IS NULL THEN person.phone ELSE EXCLUDED.phone END,
    job_title = CASE WHEN person.erased_at IS NULL THEN person.job_title
                     ELSE EXCLUDED.job_title END,
    erased_at = NULL"""
# The step-by-step path inserts or, on a conflict, reads: both engines then see the
# existing (committed) row, and whether this transaction created it is exact.
INSERT_PERSON = f"""
INSERT INTO person ({PERSON_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
RETURNING id
"""
# $1 key, $2 email: the person with this key first, else one with the address only.
FIND_PERSON = f"""
SELECT p.id, p.person_key, p.erased_at FROM person p WHERE {_KEY_OR_EMAIL}
ORDER BY CASE WHEN p.person_key = $1 THEN 0 ELSE 1 END LIMIT 1"""
# A person found without their key gets it; an erased person their details again.
# $1 id, $2 key, $3 email, $4 name, $5 phone, $6 job title (as PERSON_ON_CONFLICT).
REFILL_PERSON = """
UPDATE person SET person_key = $2, email = COALESCE(email, $3), name = COALESCE(name, $4),
    phone = CASE WHEN erased_at IS NULL THEN phone ELSE $5 END,
    job_title = CASE WHEN erased_at IS NULL THEN job_title ELSE $6 END, erased_at = NULL
WHERE id = $1"""
# During a key rotation (privacy/keys.py): a person keyed under the previous secret
# takes the current key when their address registers. $1 current, $2 previous.
REKEY_PERSON = "UPDATE person SET person_key = $1 WHERE person_key = $2"

# PostgreSQL: a whole registration in one statement, outside any explicit transaction.
# The hot link and event rows are then locked only while PostgreSQL runs it and
# commits, never across a round trip to a busy event loop (which made registrations
# queue behind each other's locks: p99 of 340 ms at 32 clients with BEGIN ... COMMIT).
# In order: an existing registration of this e-mail at the event stops everything
# (the caller mails its ticket again); the organisation is found or created; the
# link's and the event's rows are locked and their room read; the quota and the seat
# are taken together or not at all; only then is the person created (a person who
# exists is left as they are, see PERSON_ON_CONFLICT), with the registration and its
# ticket e-mail. If the statement fails (the same person registering concurrently),
# all of it rolls back. If a concurrent registration created the organisation after
# our snapshot, nothing is written and `went` is false: the caller runs it again. A
# refusal may leave a new organisation (a name, no person). Every registration locks
# the link, the event and then the person, in that order, so registrations cannot
# deadlock each other.
# $1 email, $2 name, $3 phone, $4 job title, $5 organisation name, $6 its key,
# $7 locale, $8 now, $9 event, $10 link, $11 manage token, $12 waitlist enabled,
# $13 person key.
_MAIL_PLACED = insert_messages(f"""
    SELECT {ticket_mail_sql("status")}, {dedupe_key_sql(ticket_mail_sql("status"), "id")}, $1, $7,
           {registration_payload_sql(Engine.POSTGRES, "id")}, $8, $8, {NEW_MESSAGE}
    FROM placed""")
REGISTER_PG = Query.postgres_only(f"""
WITH existing AS ({_ticket_of("p.person_key = $13", "$9")}
), known AS (
    -- A person who exists keeps their organisation: the typed one is not even made.
    SELECT id FROM person WHERE person_key = $13
), found_org AS (
    SELECT id FROM organisation WHERE name_key = $6::text
), new_org AS (
    INSERT INTO organisation (name, name_key, kind, created_at)
    SELECT $5::text, $6::text, '{OrganisationKind.UNSPECIFIED}', $8::timestamptz
    WHERE $6::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM found_org)
      AND NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT (name_key) DO NOTHING
    RETURNING id
), org AS (
    SELECT id FROM found_org UNION ALL SELECT id FROM new_org
), go AS (
    SELECT 1 AS one WHERE NOT EXISTS (SELECT 1 FROM existing)
      AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM org) OR EXISTS (SELECT 1 FROM known))
), queued AS (
    -- Registrations for one event queue here first, in arrival order: the lock
    -- manager's queue is fair, where waiters on a row lock can be overtaken by
    -- newcomers (a long tail under a burst). Released at the statement's commit.
    -- Advisory lock namespace 1: an event's registrations.
    SELECT pg_advisory_xact_lock(1, $9) FROM go
), link_row AS (
    SELECT quota, used_count FROM registration_link
    WHERE id = $10 AND EXISTS (SELECT 1 FROM queued)
    FOR NO KEY UPDATE
), event_row AS (
    -- Locked after the link (the reference orders them), as every registration does.
    SELECT capacity, confirmed_count FROM event
    WHERE id = $9 AND EXISTS (SELECT 1 FROM link_row)
    FOR NO KEY UPDATE
), room AS (
    -- Read from the locked rows, so their latest committed values: nobody else
    -- can take the link's or the event's last place until this statement ends.
    SELECT {link_has_room("l.")} AS on_link, {event_has_room("e.")} AS at_event
    FROM link_row l, event_row e
), quota AS (
    -- The link's place is taken only with a seat or a waitlist place to go with it.
    {TAKE_LINK_PLACE}
    WHERE id = $10 AND EXISTS (SELECT 1 FROM room WHERE on_link AND (at_event OR $12))
    RETURNING id
), seat AS (
    {TAKE_EVENT_SEAT}
    WHERE id = $9 AND EXISTS (SELECT 1 FROM room WHERE on_link AND at_event)
    RETURNING id
), person_row AS (
    -- Only with a place (a seat, or the waitlist): a refused person leaves no row.
    INSERT INTO person ({PERSON_COLUMNS})
    SELECT $1, $2, $3::text, $4::text, (SELECT id FROM org LIMIT 1), $7, $8, $13
    WHERE EXISTS (SELECT 1 FROM quota)
    {PERSON_ON_CONFLICT}
    -- xmax is 0 only on a row version this statement inserted: a person who existed
    -- (or was created meanwhile by a concurrent registration) comes back locked, xmax set.
    RETURNING id, xmax = 0 AS new_person
), placed AS (
    INSERT INTO registration ({REGISTRATION_COLUMNS})
    SELECT id, $9, $10,
           CASE WHEN EXISTS (SELECT 1 FROM seat) THEN '{RegistrationStatus.CONFIRMED}'
                ELSE '{RegistrationStatus.WAITLISTED}' END,
           $11, $7, $8, $8, $8
    FROM person_row
    RETURNING id, status
), mailed AS ({_MAIL_PLACED}
)
SELECT (SELECT id FROM existing) AS existing_id,
       (SELECT status FROM existing) AS existing_status,
       (SELECT manage_token FROM existing) AS existing_token,
       (SELECT locale FROM existing) AS existing_locale,
       EXISTS (SELECT 1 FROM go) AS went,
       (SELECT on_link FROM room) AS on_link,
       (SELECT id FROM placed) AS id, (SELECT status FROM placed) AS status,
       (SELECT new_person FROM person_row) AS new_person
""")
