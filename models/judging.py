"""Competitions: rounds with weighted criteria, entries, judge assignments, scores, winners."""

from tortoise import fields
from tortoise.models import Model

from models.enums import AssignmentStatus, RankingMethod, RoundStatus


class Entry(Model):
    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="entries", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    team_name = fields.CharField(max_length=120, default="")
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Organisation", related_name="entries", null=True, on_delete=fields.SET_NULL
    )
    track = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "entry"


class EntryMember(Model):
    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="members", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Person", related_name="entry_memberships", on_delete=fields.RESTRICT
    )
    role = fields.CharField(max_length=60, default="member")

    class Meta:
        table = "entry_member"
        unique_together = (("entry", "person"),)
        # The unique index leads with the entry; retention and erasure look up a
        # person's memberships (privacy/service.py), so person_id has its own.
        indexes = (("person_id",),)


class Round(Model):
    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="rounds", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=120)
    position = fields.SmallIntField(default=1)
    judges_per_entry = fields.SmallIntField(default=3)
    opens_at = fields.DatetimeField(null=True)
    closes_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(RoundStatus, max_length=16, default=RoundStatus.DRAFT)
    ranking_method = fields.CharEnumField(
        RankingMethod, max_length=16, default=RankingMethod.ADDITIVE
    )
    # Ordered tie-break keys, published with the ruleset.
    tie_break = fields.JSONField(default=list)
    # Spread of the judges' weighted totals, as a fraction of the scale's range,
    # above which an entry is flagged as "disagreement".
    disagreement_threshold = fields.FloatField(default=0.3)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "round"
        unique_together = (("event", "position"),)


class RoundEntry(Model):
    """An entry taking part in a round (all entries, or those advanced from the last)."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="round_entries", on_delete=fields.CASCADE
    )
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="round_entries", on_delete=fields.CASCADE
    )
    # Anchor entries are scored by every judge: they tie the judge-entry graph together.
    anchor = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "round_entry"
        unique_together = (("round", "entry"),)


class Criterion(Model):
    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="criteria", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    weight = fields.DecimalField(max_digits=6, decimal_places=3, default=1)
    scale_min = fields.DecimalField(max_digits=6, decimal_places=1, default=0)
    scale_max = fields.DecimalField(max_digits=6, decimal_places=1, default=10)
    # 1 for whole numbers, 0.5 for halves.
    scale_step = fields.DecimalField(max_digits=3, decimal_places=1, default=1)
    position = fields.SmallIntField(default=1)

    class Meta:
        table = "criterion"


class ConflictDeclaration(Model):
    id = fields.IntField(primary_key=True)
    judge: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="conflicts", on_delete=fields.CASCADE
    )
    organisation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Organisation", related_name="conflicts", on_delete=fields.CASCADE
    )
    declared_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="declared_conflicts", null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conflict_declaration"
        unique_together = (("judge", "organisation"),)


class JudgeAssignment(Model):
    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="assignments", on_delete=fields.CASCADE
    )
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="assignments", on_delete=fields.CASCADE
    )
    judge: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="assignments", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(
        AssignmentStatus, max_length=16, default=AssignmentStatus.ASSIGNED
    )
    submitted_at = fields.DatetimeField(null=True)
    reopened_at = fields.DatetimeField(null=True)
    # Bumped by the conditional update that opens every sheet write: on PostgreSQL that
    # update takes the row lock, so concurrent writes of one sheet run one after another.
    version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "judge_assignment"
        unique_together = (("round", "entry", "judge"),)
        indexes = (("judge_id", "status"),)


class Score(Model):
    id = fields.IntField(primary_key=True)
    assignment: fields.ForeignKeyRelation[JudgeAssignment] = fields.ForeignKeyField(
        "models.JudgeAssignment", related_name="scores", on_delete=fields.CASCADE
    )
    criterion: fields.ForeignKeyRelation[Criterion] = fields.ForeignKeyField(
        "models.Criterion", related_name="scores", on_delete=fields.RESTRICT
    )
    value = fields.DecimalField(max_digits=6, decimal_places=1)
    comment = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "score"
        unique_together = (("assignment", "criterion"),)


class ScoreHistory(Model):
    """Every change of a sheet (create, update, submit, reopen): before, after, who, when."""

    id = fields.IntField(primary_key=True)
    # Kept when an organiser removes the assignment: the history outlives the sheet.
    assignment: fields.ForeignKeyNullableRelation[JudgeAssignment] = fields.ForeignKeyField(
        "models.JudgeAssignment", related_name="history", null=True, on_delete=fields.SET_NULL
    )
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="score_history", on_delete=fields.CASCADE
    )
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="score_history", on_delete=fields.CASCADE
    )
    judge: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="judged_history", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=16)
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="score_changes", null=True, on_delete=fields.SET_NULL
    )
    status_before = fields.CharField(max_length=16)
    status_after = fields.CharField(max_length=16)
    # {criterion_id: {"value": "7.5", "comment": "..."}} before and after the change.
    before = fields.JSONField(default=dict)
    after = fields.JSONField(default=dict)
    reason = fields.CharField(max_length=500, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "score_history"


class Award(Model):
    """A prize of a round ("first prize", "best hardware"), filled by rank."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="awards", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=120)
    rank_from = fields.SmallIntField(default=1)
    rank_to = fields.SmallIntField(default=1)

    class Meta:
        table = "award"


class WinnerRecord(Model):
    """An immutable, hash-chained record of a published result.

    `hash` covers the record's content and `previous_hash`, so editing any earlier
    record breaks the chain from there on.
    """

    id = fields.IntField(primary_key=True)
    sequence = fields.IntField(unique=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="winner_records", on_delete=fields.RESTRICT
    )
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="winner_records", on_delete=fields.RESTRICT
    )
    award: fields.ForeignKeyNullableRelation[Award] = fields.ForeignKeyField(
        "models.Award", related_name="winner_records", null=True, on_delete=fields.RESTRICT
    )
    rank = fields.SmallIntField()
    award_title = fields.CharField(max_length=120, default="")
    # Kept as text with fixed decimals so the hashed value reads back byte for byte.
    final_score = fields.CharField(max_length=32, default="")
    ruleset = fields.JSONField()
    scores_snapshot = fields.JSONField()
    published_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.StaffUser", related_name="published_records", null=True, on_delete=fields.RESTRICT
    )
    published_at = fields.DatetimeField()
    # A correction is a new record naming the one it replaces and why.
    # One-to-one: the database itself refuses two corrections of the same record.
    supersedes: fields.OneToOneNullableRelation["WinnerRecord"] = fields.OneToOneField(
        "models.WinnerRecord", related_name="superseded_by", null=True, on_delete=fields.RESTRICT
    )
    reason = fields.CharField(max_length=500, default="")
    previous_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "winner_record"
