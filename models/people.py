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
    """One human, identified by the normalised e-mail (NFKC, case-folded, trimmed)."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
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

    class Meta:
        table = "person"
