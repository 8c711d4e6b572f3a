"""E-mail the attendees: an organiser's message to some of an event's registrations.

One rule says who an audience is (`AUDIENCE_WHERE`): the count shown before sending
and the rows queued when sending read the same clause. Sending stores the
announcement and queues its messages in one transaction, with one INSERT ... SELECT
(as `notifications.reminders` fans out reminders); each row's dedupe key names the
announcement and the registration, so nobody is mailed twice by one announcement.
The preview hands the form a one-time token: the same form sent twice (a double
click, a retry after a timeout) finds the announcement it made the first time and
queues nothing more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

import msgspec
from tortoise import timezone
from tortoise.transactions import in_transaction

from events_service.db import Engine, default_connection, execute, fetch_rows, per_engine
from events_service.errors import NotFound, Unprocessable
from events_service.locale import translatable
from models import Announcement, Audience, Event
from models.enums import RegistrationStatus
from notifications.outbox import NEW_MESSAGE, Kind, dedupe_key, dedupe_key_sql, insert_messages

Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
SendToken = Annotated[str, msgspec.Meta(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class AnnouncementIn(msgspec.Struct, forbid_unknown_fields=True):
    """What an organiser writes: who gets it, and its subject and body in each language
    (each person reads the one they registered in). `token`: the preview's one-time
    token (the same token twice sends once); none: a new announcement every time."""

    audience: Audience
    subject_en: Subject
    body_en: Body
    subject_zh: Subject
    body_zh: Body
    token: SendToken | None = None


_ADMITTED = "EXISTS (SELECT 1 FROM admission a WHERE a.registration_id = r.id)"
# Who each audience is, over the event's registrations `r` (our own constants only).
AUDIENCE_WHERE: dict[Audience, str] = {
    Audience.CONFIRMED: f"r.status = '{RegistrationStatus.CONFIRMED.value}'",
    Audience.WAITLISTED: f"r.status = '{RegistrationStatus.WAITLISTED.value}'",
    Audience.ADMITTED: _ADMITTED,
    Audience.NOT_ADMITTED: f"r.status = '{RegistrationStatus.CONFIRMED.value}' AND NOT {_ADMITTED}",
}

# Every audience's size in one pass over the event's registrations.
_SIZES = ", ".join(
    f"COALESCE(SUM(CASE WHEN {where} THEN 1 ELSE 0 END), 0) AS {audience.value}"
    for audience, where in AUDIENCE_WHERE.items()
)
# Erased people are not counted: sending queues nothing for them (no address).
_COUNTS = f"""SELECT {_SIZES} FROM registration r JOIN person p ON p.id = r.person_id
WHERE r.event_id = $1 AND p.email IS NOT NULL"""  # noqa: S608 - constants


def _payload_sql(engine: Engine) -> str:
    if engine is Engine.POSTGRES:
        return "json_build_object('announcement_id', $4::int, 'registration_id', r.id)::jsonb"
    return "json_object('announcement_id', $4, 'registration_id', r.id)"


def _fan_out(engine: Engine, audience: Audience) -> str:
    """$1 event, $2 kind, $3 the announcement's dedupe key, $4 its id, $5 now."""
    rows = f"""
SELECT $2, {dedupe_key_sql("$3", "r.id")}, p.email, r.locale, {_payload_sql(engine)},
       $5, $5, {NEW_MESSAGE}
-- Erased people (privacy/service.py) have no address: nobody to write to.
FROM registration r JOIN person p ON p.id = r.person_id
WHERE r.event_id = $1 AND p.email IS NOT NULL AND ({AUDIENCE_WHERE[audience]})"""  # noqa: S608 - our own constants
    return insert_messages(rows) + "\nRETURNING id"


_FAN_OUTS = {
    audience: per_engine(lambda engine, audience=audience: _fan_out(engine, audience))
    for audience in Audience
}
_CREATE = """
INSERT INTO announcement (event_id, staff_id, audience, subject_en, body_en, subject_zh,
                          body_zh, recipients, token, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)
ON CONFLICT (token) DO NOTHING
RETURNING id"""
_RECIPIENTS = "UPDATE announcement SET recipients = $2 WHERE id = $1"


def new_token() -> str:
    """A one-time token for a preview's "Send" form."""
    return secrets.token_urlsafe(24)


async def _event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(translatable("No event %(id)s.", id=event_id))
    return event


async def count_recipients(event_id: int) -> dict[Audience, int]:
    """How many people each audience is at the event now: the figures shown before
    sending (the same clauses choose whom sending queues)."""
    await _event(event_id)
    (row,) = await fetch_rows(default_connection(), _COUNTS, [event_id])
    return {audience: int(row[audience.value]) for audience in Audience}


@dataclass(frozen=True)
class Sent:
    announcement: Announcement
    queued: int
    """Messages queued by this call (0 when the token had already been sent)."""
    repeated: bool
    """The token had been sent before: this call changed nothing."""


async def send_announcement(event_id: int, data: AnnouncementIn, staff_id: int | None) -> Sent:
    """Store the announcement and queue one message per person of its audience, in the
    language they registered in, in one transaction."""
    await _event(event_id)
    token = data.token or new_token()
    now = timezone.now()
    async with in_transaction() as conn:
        values = [event_id, staff_id, data.audience.value, data.subject_en, data.body_en,
                  data.subject_zh, data.body_zh, token, now]  # fmt: skip
        created = await fetch_rows(conn, _CREATE, values)
        if not created:
            # Sent already (the first of two concurrent sends has committed: ON CONFLICT
            # waited for it).
            found = await Announcement.get(token=token, using_db=conn)
            if found.event_id != event_id:  # type: ignore[attr-defined]
                raise Unprocessable(translatable("This form was sent for another event."))
            return Sent(found, 0, repeated=True)
        announcement_id = created[0]["id"]
        kind = Kind.EVENT_ANNOUNCEMENT
        queued = await fetch_rows(
            conn,
            _FAN_OUTS[data.audience],
            [event_id, str(kind), dedupe_key(kind, announcement_id), announcement_id, now],
        )
        if not queued:
            # Raised in the transaction: the announcement is not kept either.
            raise Unprocessable(
                translatable("Nobody is in this group: there is no one to send it to.")
            )
        await execute(conn, _RECIPIENTS, [announcement_id, len(queued)])
        announcement = await Announcement.get(id=announcement_id, using_db=conn)
    return Sent(announcement, len(queued), repeated=False)


async def announcements_of(event_id: int, limit: int = 50) -> list[Announcement]:
    """The event's announcements, newest first, with who sent each."""
    return (
        await Announcement.filter(event_id=event_id)
        .order_by("-created_at", "-id")
        .limit(limit)
        .select_related("staff")
    )


def words_for(announcement: Announcement | AnnouncementIn, locale: str) -> tuple[str, str]:
    """The subject and body a reader of `locale` gets."""
    if locale == "zh-Hans":
        return announcement.subject_zh, announcement.body_zh
    return announcement.subject_en, announcement.body_en


def paragraphs(body: str) -> list[list[str]]:
    """The body's paragraphs (split at blank lines), each a list of its lines: the HTML
    e-mail keeps the organiser's line breaks without trusting their text as markup."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            found[-1].append(line.rstrip())
        elif found[-1]:
            found.append([])
    return [p for p in found if p]
