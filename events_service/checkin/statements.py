"""Every statement of the door, for both engines, shared by the service and its
benchmark ceiling.

Fixed statements (events_service.db): the ORM would build each anew on every scan.
PostgreSQL admits in one statement (ADMIT_PG); SQLite takes the same steps one by one
in a transaction (INSERT_ADMISSION, LOG, the reach counter's statements, LOCK_PERSON,
MARK_FIRST). ADMIT_PG is built from the same fragments (the admission's INSERT, the
log's columns, the tallies' Tally.add and shard rule), and
tests/test_engine_parity.py runs both paths and compares every row and counter.
"""

from events_service.auth.claimed import STAFF_STATE_COLUMNS, STAFF_STATE_JOIN
from events_service.db import Engine, Query, per_engine, with_row_lock
from events_service.reach.counter import COMPANIES, EVENTS, PROGRAMME, TALENTS, shard_sql
from models.enums import RegistrationStatus, ScanVerdict

TICKET = """
SELECT r.id, r.status, r.event_id, r.person_id, p.name, o.name AS organisation,
       e.title AS event_title, e.kind AS event_kind
FROM registration r
JOIN person p ON p.id = r.person_id
LEFT JOIN organisation o ON o.id = p.organisation_id
JOIN event e ON e.id = r.event_id
WHERE r.id = $1
"""
# $1 registration, $2 person, $3 event, $4 gate, $5 staff, $6 admitted at. A second
# admission of the ticket inserts nothing (exactly once: the unique index decides).
INSERT_ADMISSION = """
INSERT INTO admission (registration_id, person_id, event_id, gate, staff_id, admitted_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (registration_id) DO NOTHING
RETURNING id"""
ADMISSION_OF = "SELECT admitted_at, gate FROM admission WHERE registration_id = $1"
ADMISSION_MADE_BY = "SELECT staff_id, admitted_at FROM admission WHERE registration_id = $1"
# NO KEY UPDATE, not UPDATE: inserting the admission already holds a KEY SHARE
# lock on the person (its foreign key), and two scans of one person upgrading to
# FOR UPDATE would deadlock; NO KEY UPDATE queues them without conflicting.
LOCK_PERSON = with_row_lock(
    "SELECT first_admitted_at FROM person WHERE id = $1", "FOR NO KEY UPDATE"
)
MARK_FIRST = "UPDATE person SET first_admitted_at = $2 WHERE id = $1"
KIND_OF_ADMISSION_AT = """
SELECT e.kind FROM admission a JOIN event e ON e.id = a.event_id
WHERE a.person_id = $1 AND a.admitted_at = $2 ORDER BY a.id LIMIT 1
"""
SCAN_LOG_COLUMNS = (
    "code_hash, verdict, event_id, registration_id, gate, staff_id, scan_id, scanned_at, created_at"
)
LOG = f"INSERT INTO scan_log ({SCAN_LOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
LOGGED = """
SELECT verdict, registration_id, event_id, code_hash FROM scan_log WHERE scan_id = $1
"""

# Undo of an admission.
UNDO = "DELETE FROM admission WHERE registration_id = $1 RETURNING person_id, admitted_at"
# A person's earliest admission: when, and at what kind of event.
FIRST_ADMISSION = """
SELECT a.admitted_at, e.kind FROM admission a JOIN event e ON e.id = a.event_id
WHERE a.person_id = $1 ORDER BY a.admitted_at, a.id LIMIT 1
"""
PERSON_OF_REGISTRATION = "SELECT person_id, event_id FROM registration WHERE id = $1"


# One look-up for everything a scan decides on: the scanning event, the ticket the
# code names ($2, 0: none), whether this scan_id ($3) was answered before, and the
# staff member's current state (auth.claimed: $4 user id, $5 token id, from
# staff_state_values; 0 and '' when the request was authenticated the usual way).
# Every column may be NULL; there is always a row.
SCAN_CONTEXT = f"""
SELECT e.id AS event_id_, e.title AS event_title_, e.kind AS event_kind_,
       e.status AS event_status_, e.timezone AS event_timezone_, e.starts_at, e.ends_at,
       e.checkin_opens_at, e.checkin_closes_at, t.*,
       EXISTS (SELECT 1 FROM scan_log l WHERE l.scan_id = $3) AS logged_,
       {STAFF_STATE_COLUMNS}
FROM (SELECT 1 AS one) base
LEFT JOIN event e ON e.id = $1
LEFT JOIN (
    SELECT r.id, r.status, r.event_id, r.person_id, p.name, o.name AS organisation,
           te.title AS event_title, te.kind AS event_kind
    FROM registration r
    JOIN person p ON p.id = r.person_id
    LEFT JOIN organisation o ON o.id = p.organisation_id
    JOIN event te ON te.id = r.event_id
    WHERE r.id = $2
) t ON 1 = 1
{STAFF_STATE_JOIN}
"""

# PostgreSQL: a whole admission in one autocommit statement (the hot path): the
# admission, its log line, every counter, and on a first-ever admission the person's
# mark and their organisation's first benefit. Two scans of one person: the
# conditional UPDATE of `marked` waits for the other's commit, then re-checks
# `first_admitted_at IS NULL` on the committed row (READ COMMITTED), so exactly one
# of them marks and counts the person. A person this statement's snapshot sees
# marked is passed by without a lock, though: if an undo unmarks them meanwhile,
# `earlier` (locked, so current) reads NULL and the caller marks them itself.
# Rows that concurrent writers share are taken in the order an undo takes them too
# (`undo_admission`): the person, the programme's shard, the event's shard, the
# day's talent shard, the organisation, the companies shard. Each step reads
# the one before it, which is what makes PostgreSQL run them in that order (a scan
# that took the programme's shard before the person deadlocked against an undo of
# that person).
# $1 registration, $2 person, $3 event, $4 gate, $5 staff, $6 admitted at, $7 code
# hash, $8 scan id, $9 scanned at, $10 now, $11 the day (UTC) of $6, $12 the event's
# kind, $13 the person's shard.
# ADMIT_PG's counter steps, each waiting for the one before it: the programme's
# row (admissions, and talents on a first admission), the event's, the day's talents,
# then the organisation's first benefit.
_COUNT_ADMISSION = PROGRAMME.add("""
    -- Only once the person's row is held, whichever of the two took it: the sum
    -- is always >= 0, reading both is what makes them run first.
    SELECT $13::int, 1, (SELECT count(*) FROM marked)
    WHERE EXISTS (SELECT 1 FROM admitted)
      AND (SELECT count(*) FROM marked) + (SELECT count(*) FROM earlier) >= 0""")
_COUNT_AT_EVENT = EVENTS.add("""
    SELECT $3::int, $13::int, 1 WHERE EXISTS (SELECT 1 FROM counted)""")
_COUNT_TALENT = TALENTS.add("""
    SELECT $11::date, $12::text, $13::int, 1
    WHERE EXISTS (SELECT 1 FROM at_event) AND EXISTS (SELECT 1 FROM marked)""")
_COUNT_COMPANY = COMPANIES.add(f"SELECT {shard_sql('id')}, 1 FROM benefitted")
ADMIT_PG = Query.postgres_only(f"""
WITH admitted AS ({INSERT_ADMISSION}
), logged AS (
    INSERT INTO scan_log ({SCAN_LOG_COLUMNS})
    SELECT $7, CASE WHEN EXISTS (SELECT 1 FROM admitted) THEN '{ScanVerdict.ADMITTED}'
                    ELSE '{ScanVerdict.ALREADY_ADMITTED}' END,
           $3, $1, $4, $5, $8, $9, $10
), marked AS (
    UPDATE person SET first_admitted_at = $6
    WHERE id = $2 AND first_admitted_at IS NULL AND EXISTS (SELECT 1 FROM admitted)
    RETURNING organisation_id
), earlier AS (
    -- Admitted before: when (locked, so the latest committed value), in case this
    -- scan, late from an offline scanner, predates it.
    SELECT first_admitted_at FROM person
    WHERE id = $2 AND EXISTS (SELECT 1 FROM admitted) AND NOT EXISTS (SELECT 1 FROM marked)
    FOR NO KEY UPDATE
), counted AS ({_COUNT_ADMISSION}
    RETURNING shard
), at_event AS ({_COUNT_AT_EVENT}
    RETURNING shard
), talents AS ({_COUNT_TALENT}
    RETURNING shard
), benefitted AS (
    UPDATE organisation SET first_benefitted_at = $6
    WHERE id = (SELECT organisation_id FROM marked) AND first_benefitted_at IS NULL
      AND EXISTS (SELECT 1 FROM talents)
    RETURNING id
), companies AS ({_COUNT_COMPANY}
)
SELECT (SELECT id FROM admitted) AS admission_id,
       EXISTS (SELECT 1 FROM marked) AS first_ever,
       (SELECT first_admitted_at FROM earlier) AS first_admitted_at
""")


# ---- the offline door (offline.py): the door bundle, the batch sync's conflicts ----


def _changed_since(column: str, engine: Engine) -> str:
    # SQLite keeps timestamps as ISO text (with 'T' or ' ' depending on the writer):
    # compare instants, not text.
    return f"julianday({column}) >= julianday($2)" if engine is Engine.SQLITE else f"{column} >= $2"


BUNDLE_EVENT = """
SELECT id, timezone, status, starts_at, ends_at, checkin_opens_at, checkin_closes_at,
       door_names_offline
FROM event WHERE id = $1
"""
BUNDLE_REFUSED = f"""
SELECT id, status FROM registration
WHERE event_id = $1
  AND status IN ('{RegistrationStatus.CANCELLED}', '{RegistrationStatus.WAITLISTED}')
ORDER BY id
"""
BUNDLE_ADMITTED = """
SELECT registration_id, gate, admitted_at FROM admission WHERE event_id = $1
ORDER BY registration_id
"""
BUNDLE_NAMES = f"""
SELECT r.id, p.name, o.name AS organisation
FROM registration r JOIN person p ON p.id = r.person_id
LEFT JOIN organisation o ON o.id = p.organisation_id
WHERE r.event_id = $1 AND r.status = '{RegistrationStatus.CONFIRMED}'
ORDER BY r.id
"""


# updated_at is when anything the bundle holds for the ticket last changed: its status
# (written with it), and its holder's name or organisation, which triggers on person
# and organisation move (migrations/0015_ticket_holder_changes.py), erasure included.
BUNDLE_CHANGED_REGISTRATIONS = per_engine(
    lambda engine: (
        f"""
SELECT r.id, r.status, p.name, o.name AS organisation
FROM registration r JOIN person p ON p.id = r.person_id
LEFT JOIN organisation o ON o.id = p.organisation_id
WHERE r.event_id = $1 AND {_changed_since("r.updated_at", engine)}
ORDER BY r.id
"""
    )
)
# Every admission, takeover and undo writes a scan_log line at the time it happens.
BUNDLE_CHANGED_ADMISSIONS = per_engine(
    lambda engine: (
        f"""
SELECT DISTINCT l.registration_id, a.gate, a.admitted_at, a.registration_id AS admitted_
FROM scan_log l LEFT JOIN admission a ON a.registration_id = l.registration_id
WHERE l.event_id = $1 AND {_changed_since("l.created_at", engine)} AND l.registration_id IS NOT NULL
  AND l.verdict IN ('{ScanVerdict.ADMITTED}', '{ScanVerdict.UNDONE}')
ORDER BY l.registration_id
"""
    )
)

# The takeover and the conflict, under the person's and the admission's locks.
OFFLINE_LOCK_ADMISSION = with_row_lock(
    "SELECT id, gate, staff_id, admitted_at FROM admission WHERE registration_id = $1",
    "FOR UPDATE",
)
# The scan that made the admission being taken over ($2: the taking scan's own id).
# The scan that holds the admission now: the newest 'admitted' one that is not already a
# conflict. (Log ids are handed out before the lock is taken, so an earlier takeover's
# displaced scan can have the highest id; choosing it again lost the real one's conflict.)
OFFLINE_ADMITTING_SCAN = """
SELECT l.scan_id FROM scan_log l
WHERE l.registration_id = $1 AND l.verdict = 'admitted' AND (l.scan_id IS NULL OR l.scan_id <> $2)
  AND NOT EXISTS (SELECT 1 FROM checkin_conflict c WHERE c.scan_id = l.scan_id)
ORDER BY l.id DESC LIMIT 1
"""
OFFLINE_TAKE_OVER = "UPDATE admission SET gate = $2, staff_id = $3, admitted_at = $4 WHERE id = $1"
OFFLINE_REPOINT_CONFLICTS = """
UPDATE checkin_conflict SET admission_gate = $2, admission_at = $3 WHERE registration_id = $1
"""
OFFLINE_NOW_ADMITTED = f"UPDATE scan_log SET verdict = '{ScanVerdict.ADMITTED}' WHERE scan_id = $1"
OFFLINE_INSERT_CONFLICT = """
INSERT INTO checkin_conflict (registration_id, event_id, gate, staff_id, scanned_at, scan_id,
                              admission_gate, admission_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (scan_id) DO NOTHING
"""
OFFLINE_CONFLICT_OF_SCAN = "SELECT id FROM checkin_conflict WHERE scan_id = $1"
OFFLINE_TICKET_FACTS = "SELECT person_id, event_id FROM registration WHERE id = $1"
OFFLINE_KIND = "SELECT kind FROM event WHERE id = $1"
