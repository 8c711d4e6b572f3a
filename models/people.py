"""People reached by the programme and the organisations they come from."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OrganisationKind


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    # Uniqueness is case-insensitive on both engines: we store the folded form.
    name_key = fields.CharField(max_length=200, unique=True)
    kind = fields.CharEnumField(
        OrganisationKind, max_length=16, default=OrganisationKind.UNSPECIFIED
    )
    # When the organisation first counted as benefitted by the programme (a member
    # admitted, or a competition entry); kept with the "companies" counter.
    first_benefitted_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organisation"


class Person(Model):
    """One human, identified by the normalised e-mail (NFKC, case-folded, trimmed),
    and by its keyed hash, which outlives erasure (events_service/privacy/keys.py)."""

    id = fields.IntField(primary_key=True)
    # Null once erased (events_service/privacy/service.py), as are name and the rest.
    email = fields.CharField(max_length=254, unique=True, null=True)
    # HMAC-SHA256 of the normalised e-mail; null only until the app fills it in for
    # rows made before migration 0010 (or by a bulk insert that did not give it).
    person_key = fields.CharField(max_length=64, unique=True, null=True)
    name = fields.CharField(max_length=200, null=True)
    # E.164, e.g. +8613800138000.
    phone = fields.CharField(max_length=20, null=True)
    job_title = fields.CharField(max_length=120, null=True)
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="people", null=True, on_delete=fields.SET_NULL
    )
    locale = fields.CharField(max_length=10, default="en")
    # Set by the person's first-ever admission; the talent reach counts these.
    first_admitted_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # When the person's personal fields were erased (by the policy or on request).
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "person"

    async def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Every person saved through the ORM gets their key (registration's own SQL
        gives it itself)."""
        if self.person_key is None and self.email:
            from events_service.privacy.keys import current_keyer

            keyer = current_keyer()
            if keyer is not None:
                self.person_key = keyer.key(self.email)
                update_fields = kwargs.get("update_fields")
                if update_fields is not None and "person_key" not in update_fields:
                    kwargs["update_fields"] = [*update_fields, "person_key"]
        await super().save(*args, **kwargs)


class ErasureRecord(Model):
    """One erasure, for the audit: who or which policy, when, how many people, which
    fields. Never whom: no id, name or address of anyone erased."""

    id = fields.IntField(primary_key=True)
    # "policy" (the retention run), "staff" (an admin), "person" (on their request).
    actor = fields.CharField(max_length=20)
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="erasures", null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=40)
    people = fields.IntField()
    # Comma-separated names of the fields erased, e.g. "email,phone,name,job_title".
    erased_fields = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "erasure_record"
