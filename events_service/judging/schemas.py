"""Request and response bodies of competitions, judging, ranking and winners."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from events_service.boundary import RowId
from models.enums import RankingMethod

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=120)]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
Comment = Annotated[str, msgspec.Meta(max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Id = RowId
TieBreakRule = Annotated[
    str,
    msgspec.Meta(max_length=20, pattern=r"^(median|judges|earliest|raw_mean|criterion:\d{1,10})$"),
]


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    role: Annotated[str, msgspec.Meta(max_length=60)] = "member"


class EntryIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    summary: LongText = ""
    team_name: ShortText = ""
    organisation: Annotated[str, msgspec.Meta(max_length=200)] = ""
    track: Annotated[str, msgspec.Meta(max_length=80)] = ""
    members: Annotated[list[MemberIn], msgspec.Meta(max_length=50)] = []


class EntryPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | None = None
    summary: LongText | None = None
    team_name: ShortText | None = None
    organisation: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    track: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    members: Annotated[list[MemberIn], msgspec.Meta(max_length=50)] | None = None


class MemberOut(msgspec.Struct):
    person_id: int
    name: str
    email: str
    role: str


class EntryOut(msgspec.Struct):
    id: int
    event_id: int
    title: str
    summary: str
    team_name: str
    organisation_id: int | None
    organisation: str | None
    track: str
    members: list[MemberOut]
    created_at: datetime


class ImportOut(msgspec.Struct):
    created: int
    entries: list[EntryOut]


class RoundIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    position: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    judges_per_entry: Annotated[int, msgspec.Meta(ge=1, le=50)] = 3
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    ranking_method: RankingMethod = RankingMethod.ADDITIVE
    tie_break: Annotated[list[TieBreakRule], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=lambda: ["median", "judges", "earliest"]
    )
    disagreement_threshold: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.3
    # "all": every entry of the competition takes part; "none": filled later by advance.
    entries: Literal["all", "none"] | None = None


class RoundPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    judges_per_entry: Annotated[int, msgspec.Meta(ge=1, le=50)] | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    ranking_method: RankingMethod | None = None
    tie_break: Annotated[list[TieBreakRule], msgspec.Meta(max_length=10)] | None = None
    disagreement_threshold: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None


class RoundOut(msgspec.Struct):
    id: int
    event_id: int
    name: str
    position: int
    judges_per_entry: int
    opens_at: datetime | None
    closes_at: datetime | None
    status: str
    ranking_method: str
    tie_break: list[str]
    disagreement_threshold: float
    entry_ids: list[int]
    anchor_entry_ids: list[int]


class RoundEntriesIn(msgspec.Struct, forbid_unknown_fields=True):
    entry_ids: Annotated[list[Id], msgspec.Meta(max_length=5000)]


class CriterionIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    description: LongText = ""
    weight: Annotated[float, msgspec.Meta(gt=0, le=100)] = 1.0
    scale_min: Annotated[float, msgspec.Meta(ge=-1000, le=1000)] = 0.0
    scale_max: Annotated[float, msgspec.Meta(ge=-1000, le=1000)] = 10.0
    scale_step: Literal["1", "0.5"] = "1"
    position: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None


class CriterionPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    description: LongText | None = None
    weight: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    scale_min: Annotated[float, msgspec.Meta(ge=-1000, le=1000)] | None = None
    scale_max: Annotated[float, msgspec.Meta(ge=-1000, le=1000)] | None = None
    scale_step: Literal["1", "0.5"] | None = None
    position: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None


class CriterionOut(msgspec.Struct):
    id: int
    round_id: int
    name: str
    description: str
    weight: float
    scale_min: float
    scale_max: float
    scale_step: float
    position: int


class ConflictIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    judge_id: Id | None = None
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class ConflictOut(msgspec.Struct):
    id: int
    judge_id: int
    organisation_id: int
    organisation: str
    declared_by_id: int | None
    reason: str
    created_at: datetime


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 0
    # Default: every active staff user with the judge role.
    judge_ids: Annotated[list[Id], msgspec.Meta(max_length=500)] | None = None


class AssignmentIn(msgspec.Struct, forbid_unknown_fields=True):
    entry_id: Id
    judge_id: Id


class AssignmentOut(msgspec.Struct):
    id: int
    round_id: int
    entry_id: int
    judge_id: int
    status: str
    submitted_at: datetime | None
    reopened_at: datetime | None


class AssignPlanOut(msgspec.Struct):
    round_id: int
    seed: int
    assignments: list[AssignmentOut]
    loads: dict[int, int]
    connected: bool
    warning: str | None = None


class JudgeProgress(msgspec.Struct):
    judge_id: int
    name: str
    assigned: int
    submitted: int
    drafts: int


class EntryProgress(msgspec.Struct):
    entry_id: int
    title: str
    assigned: int
    submitted: int


class ProgressOut(msgspec.Struct):
    round_id: int
    status: str
    sheets: int
    submitted: int
    judges: list[JudgeProgress]
    entries: list[EntryProgress]


class ScoreIn(msgspec.Struct, forbid_unknown_fields=True):
    criterion_id: Id
    value: Annotated[float, msgspec.Meta(ge=-1000, le=1000)]
    comment: Comment = ""


class SheetIn(msgspec.Struct, forbid_unknown_fields=True):
    scores: Annotated[list[ScoreIn], msgspec.Meta(max_length=100)]
    submit: bool = False


class ScoreOut(msgspec.Struct):
    criterion_id: int
    value: float
    comment: str


class JudgeEntryOut(msgspec.Struct):
    id: int
    title: str
    summary: str
    team_name: str
    track: str
    organisation: str | None


class JudgeAssignmentOut(msgspec.Struct):
    id: int
    round_id: int
    round_name: str
    round_status: str
    status: str
    submitted_at: datetime | None
    entry: JudgeEntryOut
    scores: list[ScoreOut]
    criteria: list[CriterionOut]


class ReopenIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class HistoryOut(msgspec.Struct):
    id: int
    assignment_id: int | None
    round_id: int
    entry_id: int
    judge_id: int | None
    action: str
    actor_id: int | None
    status_before: str
    status_after: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    at: datetime


class AdvanceIn(msgspec.Struct, forbid_unknown_fields=True):
    """The top N ranked entries, or the entries picked by hand: one of the two."""

    top: Annotated[int, msgspec.Meta(ge=1, le=5000)] | None = None
    entry_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=5000)] | None = None


class AdvanceOut(msgspec.Struct):
    from_round_id: int
    to_round_id: int
    entry_ids: list[int]


class AwardIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    rank_from: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    rank_to: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class AwardOut(msgspec.Struct):
    id: int
    round_id: int
    name: str
    rank_from: int
    rank_to: int


class SupersedeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    entry_id: Id | None = None
    rank: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    award_title: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
