"""Scans at the door: every scan gets a verdict and a log line; a ticket admits once.

Exactly-once admission rests on the unique index on admission.registration_id:
of any number of concurrent scans of one ticket, one INSERT wins and the others
find its row and answer "already admitted at T, gate G". The person's row is
locked before their first admission is counted, so the talent reach stays exact
under concurrent scans of one person at two events and under undo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_service import metrics
from events_service.auth.claimed import ClaimedStaff, confirm_claimed_staff, staff_state_values
from events_service.checkin import statements as sql
from events_service.checkin.codes import CodeError, ForgedCode, normalise_code, read_code
from events_service.db import (
    Engine,
    HeldConnection,
    Statements,
    as_datetime,
    engine_of,
    execute,
    fetch_rows,
    held_connection,
)
from events_service.errors import Conflict, Forbidden, NotFound, Unprocessable
from events_service.locale import DEFAULT_LOCALE, N_, translatable, words
from events_service.locale.dates import format_locale
from events_service.privacy.display import person_name
from events_service.reach.counter import (
    benefit_organisation_of,
    count_admission,
    count_first_admission,
    day_of,
    organisation_of,
    recheck_organisation,
    shard_of,
)
from models.enums import EventStatus, RegistrationStatus, ScanVerdict

# Without an explicit window the door opens this long before the start.
DEFAULT_DOORS_OPEN_BEFORE = timedelta(hours=3)
# A queued offline scan may arrive late; a clock far in the future is a mistake.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_SCAN_AGE = timedelta(hours=24)

# Translated into the scan request's language when the verdict is given (_result);
# times are the event's wall-clock time (its timezone), as the door reads them.
_MESSAGES = {
    ScanVerdict.ADMITTED: N_("Admitted: %(name)s"),
    ScanVerdict.ALREADY_ADMITTED: N_("Already admitted at %(time)s, gate %(gate)s: %(name)s"),
    ScanVerdict.FORGED: N_("Forged code: do not admit. Call the supervisor."),
    ScanVerdict.WRONG_EVENT: N_("Ticket for another event: %(event_title)s"),
    ScanVerdict.CANCELLED: N_("Cancelled ticket: %(name)s. Send to the registration desk."),
    ScanVerdict.WAITLISTED: N_("Waitlisted, no seat: %(name)s. Send to the registration desk."),
    ScanVerdict.NOT_OPEN: N_("Not admitting now for this event: %(reason)s"),
    ScanVerdict.UNKNOWN: N_("Not a ticket of ours. Ask for the ticket e-mail or look the name up."),
}
# Every placeholder of _MESSAGES: one a verdict's facts do not fill shows "?".
_PLACEHOLDERS = ("name", "time", "gate", "event_title", "reason")
# The reasons of NOT_OPEN, with the moment (`when`) in the event's timezone.
_CANCELLED = N_("the event is cancelled")
_NOT_PUBLISHED = N_("the event is not published")
_OPENS = N_("doors open at %(when)s")
_CLOSED = N_("admission closed at %(when)s")
# Dates as the door reads them: numeric in English (as before), with 年月日 in Chinese.
_DATE_TIME_PATTERNS = {"zh-Hans": "yyyy年M月d日 HH:mm"}
_DATE_TIME_PATTERN = "yyyy-MM-dd HH:mm"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):  # zoneinfo's errors for a name it does not know
        return ZoneInfo("UTC")


def local_time(moment: datetime, zone: str | None, locale: str) -> str:
    """The moment's wall-clock time (HH:mm) in the event's timezone."""
    return format_time(moment, "HH:mm", tzinfo=_zone(zone), locale=format_locale(locale))


def local_date_time(moment: datetime, zone: str | None, locale: str) -> str:
    pattern = _DATE_TIME_PATTERNS.get(locale, _DATE_TIME_PATTERN)
    return format_datetime(moment, pattern, tzinfo=_zone(zone), locale=format_locale(locale))


class ScanIdReused(Conflict):
    slug = "scan-id-reused"
    title = N_("Scan id already used for another scan")


@dataclass(frozen=True)
class ScanResult:
    verdict: ScanVerdict
    message: str
    registration_id: int | None = None
    name: str | None = None
    organisation: str | None = None
    admitted_at: datetime | None = None
    gate: str | None = None


@dataclass(frozen=True)
class ScanRequest:
    event_id: int
    gate: str
    staff_id: int | None
    code: str | None = None
    registration_id: int | None = None
    scan_id: str | None = None
    scanned_at: datetime | None = None
    # Set when the request's token was not yet checked against the database (the
    # scan route's auth rides on its first statement; see auth.claimed.ClaimedStaff).
    claimed_staff: ClaimedStaff | None = None
    allowed_roles: frozenset[str] = frozenset()
    # The language of the verdict's message and of refusals (the request's language).
    locale: str = DEFAULT_LOCALE


def code_hash(text: str) -> str:
    return hashlib.sha256(normalise_code(text).encode()).hexdigest()


def _result(
    request: ScanRequest,
    zone: str | None,
    verdict: ScanVerdict,
    ticket: dict[str, Any] | None = None,
    **extra: Any,
) -> ScanResult:
    """The verdict, its message in the request's language with times in `zone` (the
    scanning event's timezone)."""
    name = ticket["name"] if ticket else None
    found = {"name": name, **(ticket or {}), **extra}
    values = {key: "?" if found.get(key) is None else found[key] for key in _PLACEHOLDERS}
    if ticket and name is None:  # the person's data was erased: say so, not "?"
        values["name"] = person_name(None, request.locale)
    if verdict is ScanVerdict.ALREADY_ADMITTED and isinstance(found.get("admitted_at"), datetime):
        # Only the message that shows it (not on the hot path's "Admitted").
        values["time"] = local_time(found["admitted_at"], zone, request.locale)
    return ScanResult(
        verdict=verdict,
        message=words(request.locale).gettext(_MESSAGES[verdict], **values),
        registration_id=ticket["id"] if ticket else None,
        name=name,
        organisation=ticket.get("organisation") if ticket else None,
        admitted_at=extra.get("admitted_at"),
        gate=extra.get("gate"),
    )


def _window(event: dict[str, Any]) -> tuple[datetime, datetime]:
    starts = as_datetime(event["starts_at"])
    opens = event["checkin_opens_at"]
    closes = event["checkin_closes_at"]
    return (
        as_datetime(opens) if opens else starts - DEFAULT_DOORS_OPEN_BEFORE,
        as_datetime(closes) if closes else as_datetime(event["ends_at"]),
    )


def _check_scanned_at(scanned_at: datetime | None, now: datetime, locale: str) -> datetime:
    if scanned_at is None:
        return now
    _ = words(locale).gettext
    if scanned_at.utcoffset() is None:
        raise Unprocessable(_("scanned_at needs a UTC offset."))
    if scanned_at > now + MAX_CLOCK_SKEW:
        raise Unprocessable(_("scanned_at is in the future: check the scanner's clock."))
    if scanned_at < now - MAX_SCAN_AGE:
        raise Unprocessable(_("scanned_at is more than a day old; admit such people by hand."))
    return min(scanned_at, now)


async def scan(request: ScanRequest, master_key: bytes) -> ScanResult:
    code_verdict = None
    registration_id = 0
    try:
        registration_id = _claimed_registration(request, master_key)
    except ForgedCode:
        code_verdict = ScanVerdict.FORGED
    except CodeError:
        code_verdict = ScanVerdict.UNKNOWN
    # The signature is checked before a connection is taken; then one connection
    # serves all of the scan's statements, as in the benchmark's ceiling.
    async with held_connection() as conn:
        result = await _scan(conn, request, registration_id, code_verdict)
    metrics.scanned(result.verdict, request.gate)
    return result


async def _scan(
    conn: Statements, request: ScanRequest, registration_id: int, code_verdict: ScanVerdict | None
) -> ScanResult:
    staff = request.claimed_staff
    values = [request.event_id, registration_id, request.scan_id, *staff_state_values(staff)]
    (row,) = await fetch_rows(conn, sql.SCAN_CONTEXT, values)
    # Before anything is shown or written: the account, token and roles as of now.
    confirm_claimed_staff(row, staff, request.allowed_roles)
    hashed = code_hash(request.code) if request.code is not None else ""
    zone = row["event_timezone_"]
    if row["logged_"] and request.scan_id is not None:
        logged = await _replay(conn, request, hashed, zone)
        if logged is not None:
            return logged
    now = timezone.now()
    moment = _check_scanned_at(request.scanned_at, now, request.locale)
    if row["event_id_"] is None:
        raise NotFound(words(request.locale).gettext("No event %(id)s.", id=request.event_id))
    event, ticket = _event_and_ticket(row)
    if code_verdict is not None:
        return await _refuse(conn, request, hashed, now, zone, code_verdict)
    verdict = _verdict_before_admission(ticket, event, moment)
    if verdict is not None:
        reason = _not_open_reason(event, moment, request.locale)
        return await _refuse(conn, request, hashed, now, zone, verdict, ticket, reason=reason)
    assert ticket is not None
    try:
        return await _admit(conn, request, ticket, event, hashed, moment, now)
    except IntegrityError:
        # The same scan_id raced in twice: the first one's answer is the answer.
        if request.scan_id is not None and (logged := await _replay(conn, request, hashed, zone)):
            return logged
        raise


def _event_and_ticket(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    event = {
        "id": row["event_id_"],
        "title": row["event_title_"],
        "kind": row["event_kind_"],
        "status": row["event_status_"],
        "timezone": row["event_timezone_"],
        **{k: row[k] for k in ("starts_at", "ends_at", "checkin_opens_at", "checkin_closes_at")},
    }
    ticket_keys = ("id", "status", "event_id", "person_id", "name", "organisation",
                   "event_title", "event_kind")  # fmt: skip
    ticket = {k: row[k] for k in ticket_keys} if row["id"] is not None else None
    return event, ticket


def _claimed_registration(request: ScanRequest, master_key: bytes) -> int:
    """The registration a scanned code (or a look-up) names; a genuine code of
    another event is resolved too, so the door hears which event it is for."""
    if request.code is not None:
        return read_code(master_key, request.code).registration_id
    assert request.registration_id is not None
    return request.registration_id


async def _refuse(
    conn: Statements,
    request: ScanRequest,
    hashed: str,
    now: datetime,
    zone: str | None,
    verdict: ScanVerdict,
    ticket: dict[str, Any] | None = None,
    **extra: Any,
) -> ScanResult:
    try:
        await _log(conn, request, hashed, verdict, ticket and ticket["id"], now)
    except IntegrityError:
        if request.scan_id is not None and (logged := await _replay(conn, request, hashed, zone)):
            return logged
        raise
    return _result(request, zone, verdict, ticket, **extra)


def _verdict_before_admission(
    ticket: dict[str, Any] | None, event: dict[str, Any], moment: datetime
) -> ScanVerdict | None:
    if ticket is None:
        return ScanVerdict.UNKNOWN
    if ticket["event_id"] != event["id"]:
        return ScanVerdict.WRONG_EVENT
    if ticket["status"] == RegistrationStatus.CANCELLED.value:
        return ScanVerdict.CANCELLED
    if ticket["status"] == RegistrationStatus.WAITLISTED.value:
        return ScanVerdict.WAITLISTED
    if _closed_because(event, moment) is not None:
        return ScanVerdict.NOT_OPEN
    return None


def _closed_because(event: dict[str, Any], moment: datetime) -> tuple[str, datetime | None] | None:
    """Why the event admits nobody at `moment` (a message id, and the moment it
    names); None when it admits."""
    if event["status"] == EventStatus.CANCELLED.value:
        return _CANCELLED, None
    if event["status"] == EventStatus.DRAFT.value:
        return _NOT_PUBLISHED, None
    opens, closes = _window(event)
    if moment < opens:
        return _OPENS, opens
    if moment > closes:
        return _CLOSED, closes
    return None


def _not_open_reason(event: dict[str, Any], moment: datetime, locale: str) -> str | None:
    """The reason, in `locale`, with its moment in the event's timezone."""
    because = _closed_because(event, moment)
    if because is None:
        return None
    message, when = because
    text = local_date_time(when, event["timezone"], locale) if when else ""
    return words(locale).gettext(message, when=text)


async def _admit(
    held: Statements,
    request: ScanRequest,
    ticket: dict[str, Any],
    event: dict[str, Any],
    hashed: str,
    moment: datetime,
    now: datetime,
) -> ScanResult:
    if engine_of(held) is Engine.POSTGRES:
        assert isinstance(held, HeldConnection)  # held_connection's, on PostgreSQL
        return await _admit_pg(held, request, ticket, event, hashed, moment, now)
    async with in_transaction() as conn:
        values = [ticket["id"], ticket["person_id"], event["id"], request.gate,
                  request.staff_id, moment]  # fmt: skip
        admitted = await fetch_rows(conn, sql.INSERT_ADMISSION, values)
        if not admitted:
            first = (await fetch_rows(conn, sql.ADMISSION_OF, [ticket["id"]]))[0]
            await _log(conn, request, hashed, ScanVerdict.ALREADY_ADMITTED, ticket["id"], now)
            return _result(
                request,
                event["timezone"],
                ScanVerdict.ALREADY_ADMITTED,
                ticket,
                admitted_at=as_datetime(first["admitted_at"]),
                gate=first["gate"],
            )
        await count_admission(conn, ticket["person_id"], event["id"])
        await _count_if_first(conn, ticket["person_id"], moment, event["kind"])
        await _log(conn, request, hashed, ScanVerdict.ADMITTED, ticket["id"], now)
    return _result(
        request, event["timezone"], ScanVerdict.ADMITTED, ticket, admitted_at=moment,
        gate=request.gate,
    )  # fmt: skip


async def _admit_pg(
    conn: HeldConnection,
    request: ScanRequest,
    ticket: dict[str, Any],
    event: dict[str, Any],
    hashed: str,
    moment: datetime,
    now: datetime,
) -> ScanResult:
    """The same as the step-by-step path in one statement, outside any transaction
    (sql.ADMIT_PG): a scan holds its locks only while PostgreSQL runs it."""
    person_id = ticket["person_id"]
    values = [ticket["id"], person_id, event["id"], request.gate, request.staff_id, moment,
              hashed, request.scan_id, request.scanned_at or now, now, day_of(moment),
              event["kind"], shard_of(person_id)]  # fmt: skip
    (row,) = await fetch_rows(conn, sql.ADMIT_PG, values)
    if row["admission_id"] is None:
        first = (await fetch_rows(conn, sql.ADMISSION_OF, [ticket["id"]]))[0]
        return _result(
            request,
            event["timezone"],
            ScanVerdict.ALREADY_ADMITTED,
            ticket,
            admitted_at=first["admitted_at"],
            gate=first["gate"],
        )
    earlier = row["first_admitted_at"]
    if not row["first_ever"] and (earlier is None or earlier > moment):
        # Rare, and settled in a transaction of its own that locks the person and
        # re-reads them: a late scan from an offline scanner predates the person's
        # first admission (their figures move to this one), or an undo of their only
        # other admission committed while this statement ran (its snapshot still saw
        # them marked, so `marked` passed them by; the lock then read them unmarked).
        async with conn.transaction() as tx:
            await _count_if_first(tx, person_id, moment, event["kind"])
    return _result(
        request, event["timezone"], ScanVerdict.ADMITTED, ticket, admitted_at=moment,
        gate=request.gate,
    )  # fmt: skip


async def _count_if_first(
    conn: Statements, person_id: int, moment: datetime, event_kind: str
) -> None:
    """Count the person in the reach if this admission is their earliest.

    Usually their first admission ever; but concurrent scans may commit out of
    order, and an offline scan may arrive late with an earlier time: then the
    person moves from the figures of their old first admission to this one.
    """
    person = await fetch_rows(conn, sql.LOCK_PERSON, [person_id])
    first = person[0]["first_admitted_at"]
    if first is not None:
        first = as_datetime(first)
        if first <= moment:
            return
        (old,) = await fetch_rows(conn, sql.KIND_OF_ADMISSION_AT, [person_id, first])
        await count_first_admission(conn, person_id, first, old["kind"], -1)
    await execute(conn, sql.MARK_FIRST, [person_id, moment])
    await count_first_admission(conn, person_id, moment, event_kind)
    if first is None:
        await benefit_organisation_of(conn, person_id, moment)


async def _log(
    conn: Statements,
    request: ScanRequest,
    hashed: str,
    verdict: ScanVerdict,
    registration_id: int | None,
    now: datetime,
) -> None:
    values = [hashed, verdict.value, request.event_id, registration_id, request.gate,
              request.staff_id, request.scan_id, request.scanned_at or now, now]  # fmt: skip
    await execute(conn, sql.LOG, values)


async def _replay(
    conn: Statements, request: ScanRequest, hashed: str, zone: str | None
) -> ScanResult | None:
    """The answer a logged scan got, for a client retrying the same scan_id.

    Only for the same scan: the same code (or looked-up registration) at the same
    event. Anything else under a used scan_id is refused (ScanIdReused), or a forged
    code sent with a genuine scan's id would hear that scan's "Admitted: <name>"."""
    assert request.scan_id is not None
    rows = await fetch_rows(conn, sql.LOGGED, [request.scan_id])
    if not rows:
        return None
    same_scan = rows[0]["event_id"] == request.event_id and (
        rows[0]["code_hash"] == hashed
        if request.code is not None
        else not rows[0]["code_hash"] and rows[0]["registration_id"] == request.registration_id
    )
    if not same_scan:
        raise ScanIdReused(
            words(request.locale).gettext(
                "This scan_id was used for another scan: nothing was checked. "
                "Scan again (a new scan gets a new id)."
            )
        )
    verdict = ScanVerdict(rows[0]["verdict"])
    registration_id = rows[0]["registration_id"]
    ticket = None
    if registration_id is not None:
        found = await fetch_rows(conn, sql.TICKET, [registration_id])
        ticket = found[0] if found else None
    extra: dict[str, Any] = {}
    if verdict in (ScanVerdict.ADMITTED, ScanVerdict.ALREADY_ADMITTED) and ticket:
        admission = await fetch_rows(conn, sql.ADMISSION_OF, [registration_id])
        if admission:
            extra = {
                "admitted_at": as_datetime(admission[0]["admitted_at"]),
                "gate": admission[0]["gate"],
            }
    return _result(request, zone, verdict, ticket, **extra)


# Door staff may take back their own admission this long after it (admins any time).
OWN_UNDO_WINDOW = timedelta(minutes=5)


class NotYourAdmission(Forbidden):
    slug = "undo-not-allowed"
    title = N_("This admission cannot be undone from this account")


async def undo_admission(
    registration_id: int,
    staff_id: int | None,
    *,
    only_own: bool = False,
    locale: str = DEFAULT_LOCALE,
) -> int:
    """Take back an admission made by mistake; the reach stays exact. The event's id.

    `only_own`: the caller is door staff, who may undo an admission they made
    themselves, within OWN_UNDO_WINDOW of its time (checked under the person's lock,
    on the admission as it stands)."""
    async with in_transaction() as conn:
        owner = await fetch_rows(conn, sql.PERSON_OF_REGISTRATION, [registration_id])
        if not owner:
            raise NotFound(
                translatable(
                    "No registration %(registration_id)s.", registration_id=registration_id
                )
            )
        person_id, event_id = owner[0]["person_id"], owner[0]["event_id"]
        # Lock the person first: a concurrent first admission elsewhere waits for us.
        person = await fetch_rows(conn, sql.LOCK_PERSON, [person_id])
        first_before = person[0]["first_admitted_at"]
        if only_own:
            _check_own_admission(
                await fetch_rows(conn, sql.ADMISSION_MADE_BY, [registration_id]), staff_id
            )
        kind_before = await fetch_rows(conn, sql.FIRST_ADMISSION, [person_id])
        removed = await fetch_rows(conn, sql.UNDO, [registration_id])
        if not removed:
            raise NotFound(
                translatable(
                    "Registration %(registration_id)s has not been admitted.",
                    registration_id=registration_id,
                )
            )
        await count_admission(conn, person_id, event_id, -1)
        remaining = await fetch_rows(conn, sql.FIRST_ADMISSION, [person_id])
        if first_before is not None and kind_before:
            # Take the person out of the figures of their old first admission...
            first = as_datetime(first_before)
            await count_first_admission(conn, person_id, first, kind_before[0]["kind"], -1)
        if remaining:
            # ...and back in under the admission that is now their first.
            new_first = as_datetime(remaining[0]["admitted_at"])
            await execute(conn, sql.MARK_FIRST, [person_id, new_first])
            await count_first_admission(conn, person_id, new_first, remaining[0]["kind"])
        else:
            await execute(conn, sql.MARK_FIRST, [person_id, None])
            await recheck_organisation(conn, await organisation_of(conn, person_id))
        now = timezone.now()
        await execute(
            conn,
            sql.LOG,
            ["", ScanVerdict.UNDONE.value, event_id, registration_id, "", staff_id, None, now, now],
        )
    return event_id


def _check_own_admission(rows: list[dict[str, Any]], staff_id: int | None) -> None:
    if not rows:
        return  # not admitted: the undo's own "has not been admitted" answers
    if rows[0]["staff_id"] != staff_id:
        raise NotYourAdmission(
            translatable(
                "Only the staff member who admitted this person, or an organiser, can undo it."
            )
        )
    if as_datetime(rows[0]["admitted_at"]) < timezone.now() - OWN_UNDO_WINDOW:
        raise NotYourAdmission(
            translatable(
                "An admission can be undone at the door for %(minutes)s minutes; ask an organiser.",
                minutes=int(OWN_UNDO_WINDOW.total_seconds() // 60),
            )
        )
