"""The programme's window and targets, and the sharded talent-reach counter."""

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


class ReachCounter(Model):
    """One shard of one talent-reach figure: the figure is the sum over its shards.

    `key` names the figure: "total", "month:2026-11" (people first reached that
    month), "kind:summit" (people first reached at a summit). Sharding by person
    spreads concurrent first admissions over several rows, so they do not all
    queue on one row lock; reading a figure sums a handful of rows whatever the
    history.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=40)
    shard = fields.SmallIntField()
    value = fields.BigIntField(default=0)

    class Meta:
        table = "reach_counter"
        unique_together = (("key", "shard"),)


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
