"""A person's place at an event: confirmed, waitlisted or cancelled."""

from tortoise import fields
from tortoise.models import Model

from models.enums import RegistrationStatus


class Registration(Model):
    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Person", related_name="registrations", on_delete=fields.RESTRICT
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="registrations", on_delete=fields.CASCADE
    )
    link: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.RegistrationLink",
        related_name="registrations",
        null=True,
        on_delete=fields.SET_NULL,
    )
    status = fields.CharEnumField(RegistrationStatus, max_length=16)
    # The attendee's capability for the ticket page; never derived from personal data.
    manage_token = fields.CharField(max_length=64, unique=True)
    locale = fields.CharField(max_length=10, default="en")
    consent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Also moved when the holder's name or organisation changes (migration 0015's
    # triggers): the door bundle's delta finds changed tickets by it.
    updated_at = fields.DatetimeField(auto_now=True)
    cancelled_at = fields.DatetimeField(null=True)
    promoted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "registration"
        unique_together = (("person", "event"),)
        # Waitlist promotion takes the earliest (lowest id) waitlisted registration.
        # The door bundle's delta reads an event's registrations changed since.
        indexes = (("event_id", "status", "id"), ("event_id", "updated_at"))
