"""Messages organisers write to an event's attendees ("E-mail the attendees")."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Audience(StrEnum):
    """Who of an event's registrations an announcement goes to."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    ADMITTED = "admitted"
    NOT_ADMITTED = "not_admitted"
    """Confirmed and not (yet) through the door."""


class Announcement(Model):
    """One message to an event's attendees, kept as it was sent: who sent it, when,
    its words in each language, to whom (the audience) and to how many people.
    Each recipient's outbox row is keyed by the announcement and the registration,
    so it is queued once per person whatever repeats the sending."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="announcements", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )
    audience = fields.CharEnumField(Audience, max_length=20)
    subject_en = fields.CharField(max_length=200)
    body_en = fields.TextField()
    subject_zh = fields.CharField(max_length=200)
    body_zh = fields.TextField()
    recipients = fields.IntField(default=0)
    # The preview's one-time token: the same form sent twice is one announcement.
    token = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "announcement"
        indexes = (("event_id", "created_at"),)
