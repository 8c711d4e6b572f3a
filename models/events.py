"""Events (summits and competitions) and the links that open registration to them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import EventKind, EventStatus


class Event(Model):
    id = fields.IntField(primary_key=True)
    programme: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Programme", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(EventKind, max_length=16)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    venue = fields.CharField(max_length=300, default="")
    # IANA zone shown to attendees; instants are stored in UTC.
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    capacity = fields.IntField(null=True)
    waitlist_enabled = fields.BooleanField(default=False)
    registration_opens_at = fields.DatetimeField(null=True)
    registration_closes_at = fields.DatetimeField(null=True)
    # Admission window at the door; null means the event's own start/end rule applies.
    checkin_opens_at = fields.DatetimeField(null=True)
    checkin_closes_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(EventStatus, max_length=16, default=EventStatus.DRAFT)
    # Maintained by conditional updates (`confirmed_count < capacity`): never read-then-write.
    confirmed_count = fields.IntField(default=0)
    # The door bundle carries confirmed people's names and organisations, so an
    # offline door still shows who it admits; off unless the organiser allows it.
    door_names_offline = fields.BooleanField(default=False, db_default=False)
    # Days after the end its attendees' personal data is kept; null: the setting's.
    retention_days = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "event"


class RegistrationLink(Model):
    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="links", on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=32, unique=True)
    label = fields.CharField(max_length=120)
    quota = fields.IntField(null=True)
    # Active (confirmed or waitlisted) registrations through this link: the quota
    # bounds it by conditional update, like the event's capacity.
    used_count = fields.IntField(default=0)
    opens_at = fields.DatetimeField(null=True)
    closes_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "registration_link"
