"""Admissions at the door (at most one per registration) and the log of every scan."""

from tortoise import fields
from tortoise.models import Model

from models.enums import ScanVerdict


class Admission(Model):
    id = fields.IntField(primary_key=True)
    registration: fields.OneToOneRelation = fields.OneToOneField(
        "models.Registration", related_name="admission", on_delete=fields.CASCADE
    )
    # Denormalised from the registration so reach (distinct people) needs no join.
    person: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Person", related_name="admissions", on_delete=fields.RESTRICT
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="admissions", on_delete=fields.CASCADE
    )
    gate = fields.CharField(max_length=40)
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="admissions", null=True, on_delete=fields.SET_NULL
    )
    admitted_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "admission"
        indexes = (("event_id", "admitted_at"), ("person_id", "admitted_at"))


class ScanLog(Model):
    id = fields.BigIntField(primary_key=True)
    # sha256 of the scanned text: the log keeps no code that could be replayed.
    code_hash = fields.CharField(max_length=64)
    verdict = fields.CharEnumField(ScanVerdict, max_length=20)
    event: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Event", related_name="scans", null=True, on_delete=fields.CASCADE
    )
    registration: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Registration", related_name="scans", null=True, on_delete=fields.SET_NULL
    )
    gate = fields.CharField(max_length=40)
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="scans", null=True, on_delete=fields.SET_NULL
    )
    # Client-chosen id that makes a retried scan idempotent.
    scan_id = fields.CharField(max_length=64, null=True, unique=True)
    scanned_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "scan_log"
        indexes = (("event_id", "created_at"),)


class CheckinConflict(Model):
    """A second entry of an admitted ticket, made by a door that was offline: the
    person (or someone with a copy of the ticket) went in twice. Never a second
    admission; listed at the door and in the API until someone marks it reviewed."""

    id = fields.BigIntField(primary_key=True)
    registration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Registration", related_name="checkin_conflicts", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="checkin_conflicts", on_delete=fields.CASCADE
    )
    # The conflicting entry: where, by whom, when it was scanned, and its scan id
    # (unique: a retried batch records a conflict once).
    gate = fields.CharField(max_length=40)
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="checkin_conflicts", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    scanned_at = fields.DatetimeField()
    scan_id = fields.CharField(max_length=64, null=True, unique=True)
    # The admission it conflicts with, as it stood when the conflict was recorded
    # (kept up to date when an earlier offline entry takes the admission over).
    admission_gate = fields.CharField(max_length=40)
    admission_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    reviewed_at = fields.DatetimeField(null=True)
    reviewed_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="reviewed_conflicts", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip

    class Meta:
        table = "checkin_conflict"
        indexes = (("event_id", "reviewed_at"), ("registration_id", "scanned_at"))


class AttendeeLookup(Model):
    """One staff look-up of attendees, for organisers to review: who, where, how many.

    The query text is personal data (a name, an e-mail, a phone number): only a
    short hash of it is kept, enough to see one query repeated.
    """

    id = fields.BigIntField(primary_key=True)
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="lookups", null=True, on_delete=fields.SET_NULL
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="lookups", on_delete=fields.CASCADE
    )
    query_hash = fields.CharField(max_length=16)
    results = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attendee_lookup"
        indexes = (("event_id", "created_at"), ("staff_id", "created_at"))


class BadgePrint(Model):
    """One print of an attendee's badge, by the kiosk or by a staff member.

    Printing is separate from admission; every print after the first is a reprint."""

    id = fields.BigIntField(primary_key=True)
    registration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Registration", related_name="badge_prints", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="badge_prints", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="badge_prints", null=True, on_delete=fields.SET_NULL
    )
    # "kiosk" or "staff": who asked for the print.
    source = fields.CharField(max_length=20)
    reprint = fields.BooleanField(default=False)
    printed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "badge_print"
        indexes = (("registration_id", "printed_at"), ("event_id", "printed_at"))
