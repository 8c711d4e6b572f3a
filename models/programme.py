"""The programme's window and targets, its ledgers, and the sharded counters of its figures."""

from tortoise import fields
from tortoise.models import Model

from models.enums import FinancingKind


class Programme(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    start_date = fields.DateField()
    duration_years = fields.SmallIntField(default=3)
    target_talents = fields.IntField(default=7200)
    target_firms = fields.IntField(default=300)
    target_companies = fields.IntField(default=200)
    target_projects = fields.IntField(default=30)
    target_financed_startups = fields.IntField(default=20)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "programme"


# The programme's counters: each figure is the sum of its column over a few shards.
# Sharding (by person id, or organisation id for companies) spreads concurrent
# admissions over several rows, so they do not all queue on one row lock; reading a
# figure sums a handful of rows however long the history. Figures moved by the same
# admission share a row: a first admission updates three rows (the programme's, the
# event's, its day's), and reading any figure is a range over indexed columns.


class ProgrammeTally(Model):
    """One shard of the programme's people figures, sharded by person."""

    id = fields.IntField(primary_key=True)
    shard = fields.SmallIntField(unique=True)
    admissions = fields.BigIntField(default=0)  # every admission
    talents = fields.BigIntField(default=0)  # distinct people admitted (the reach)

    class Meta:
        table = "programme_tally"


class CompanyTally(Model):
    """One shard of the organisations benefitted, sharded by organisation.

    Benefitted: a member admitted, or an entry. Apart from ProgrammeTally so that one
    admission never updates a row twice (PostgreSQL's one-statement admission cannot)."""

    id = fields.IntField(primary_key=True)
    shard = fields.SmallIntField(unique=True)
    companies = fields.BigIntField(default=0)

    class Meta:
        table = "company_tally"


class EventTally(Model):
    """One shard of an event's admissions, for the live attendance.

    No foreign key: each admission would take a key-share lock on the event row for it."""

    id = fields.IntField(primary_key=True)
    event_id = fields.IntField()
    shard = fields.SmallIntField()
    admissions = fields.BigIntField(default=0)

    class Meta:
        table = "event_tally"
        unique_together = (("event_id", "shard"),)


class TalentTally(Model):
    """One shard of the people first reached on a day (UTC) at a kind of event.

    The reach by month, by kind of event and the recent pace are ranges over these."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField()
    event_kind = fields.CharField(max_length=16)
    shard = fields.SmallIntField()
    talents = fields.BigIntField(default=0)

    class Meta:
        table = "talent_tally"
        unique_together = (("day", "event_kind", "shard"),)


class ServiceRecord(Model):
    """A firm served by the base (cloud resources, training, consulting, ...)."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Organisation", related_name="services", on_delete=fields.RESTRICT
    )
    service_kind = fields.CharField(max_length=60)
    served_on = fields.DateField(db_index=True)
    note = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_record"


class FinancingRecord(Model):
    """Financing obtained by a startup through the programme."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Organisation", related_name="financings", on_delete=fields.RESTRICT
    )
    partner = fields.CharField(max_length=200)
    kind = fields.CharEnumField(FinancingKind, max_length=16)
    amount = fields.DecimalField(max_digits=16, decimal_places=2)
    currency = fields.CharField(max_length=3, default="CNY")
    financed_on = fields.DateField(db_index=True)
    note = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "financing_record"


class Milestone(Model):
    """A KPI crossing 25/50/75/100 % of its target, recorded exactly once."""

    id = fields.IntField(primary_key=True)
    kpi = fields.CharField(max_length=40)
    percent = fields.SmallIntField()
    value = fields.IntField()
    target = fields.IntField()
    reached_at = fields.DatetimeField()

    class Meta:
        table = "milestone"
        unique_together = (("kpi", "percent"),)
