"""Rounds of a competition (organiser side): look-up, status guard, create, change,
their entries and anchors, opening."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.judging import schemas
from events_service.judging.competitions import competition
from events_service.locale import N_, translatable, translatable_in
from models import Criterion, Entry, JudgeAssignment, Round, RoundEntry
from models.enums import RoundStatus


async def get_round(round_id: int) -> Round:
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        raise NotFound(translatable("No round %(round_id)s.", round_id=round_id))
    return round_


@dataclass(frozen=True)
class StatusRule:
    """The statuses an action needs its round in, and its refusal: one whole sentence
    per action (a translator sees it whole), `%(round)s` and `%(status)s` filled in."""

    allowed: tuple[RoundStatus, ...]
    refusal: str


class RoundAction:
    """Each action guarded by its round's status: `require_status(round_, RoundAction.X)`."""

    ADDING_AWARDS = StatusRule(
        (RoundStatus.DRAFT, RoundStatus.OPEN, RoundStatus.CLOSED),
        N_("Round %(round)s is %(status)s; adding awards needs it draft or open or closed."),
    )
    CHANGING_ROUND = StatusRule(
        (RoundStatus.DRAFT, RoundStatus.OPEN),
        N_("Round %(round)s is %(status)s; changing it needs it draft or open."),
    )
    CHANGING_CRITERIA = StatusRule(
        (RoundStatus.DRAFT,),
        N_("Round %(round)s is %(status)s; changing its criteria needs it draft."),
    )
    CHANGING_ENTRIES = StatusRule(
        (RoundStatus.DRAFT,),
        N_("Round %(round)s is %(status)s; changing its entries needs it draft."),
    )
    ASSIGNING_JUDGES = StatusRule(
        (RoundStatus.DRAFT, RoundStatus.OPEN),
        N_("Round %(round)s is %(status)s; assigning judges needs it draft or open."),
    )
    MOVING_ASSIGNMENTS = StatusRule(
        (RoundStatus.DRAFT, RoundStatus.OPEN),
        N_("Round %(round)s is %(status)s; moving assignments needs it draft or open."),
    )
    REMOVING_ASSIGNMENTS = StatusRule(
        (RoundStatus.DRAFT, RoundStatus.OPEN),
        N_("Round %(round)s is %(status)s; removing assignments needs it draft or open."),
    )
    OPENING = StatusRule(
        (RoundStatus.DRAFT,),
        N_("Round %(round)s is %(status)s; opening it needs it draft."),
    )
    SCORING = StatusRule(
        (RoundStatus.OPEN,),
        N_("Round %(round)s is %(status)s; scoring needs it open."),
    )
    REOPENING_SHEET = StatusRule(
        (RoundStatus.OPEN,),
        N_("Round %(round)s is %(status)s; reopening a sheet needs it open."),
    )
    CLOSING = StatusRule(
        (RoundStatus.OPEN,),
        N_("Round %(round)s is %(status)s; closing it needs it open."),
    )
    ADVANCING_ENTRIES = StatusRule(
        (RoundStatus.CLOSED, RoundStatus.PUBLISHED),
        N_("Round %(round)s is %(status)s; advancing entries needs it closed or published."),
    )
    RECEIVING_ENTRIES = StatusRule(
        (RoundStatus.DRAFT,),
        N_("Round %(round)s is %(status)s; receiving entries needs it draft."),
    )
    PUBLISHING_WINNERS = StatusRule(
        (RoundStatus.CLOSED,),
        N_("Round %(round)s is %(status)s; publishing winners needs it closed."),
    )


# A round's status inside those sentences (the API's `round_status` stays the slug).
STATUS_WORDS = {
    RoundStatus.DRAFT: translatable_in("round status", "draft"),
    RoundStatus.OPEN: translatable_in("round status", "open"),
    RoundStatus.CLOSED: translatable_in("round status", "closed"),
    RoundStatus.PUBLISHED: translatable_in("round status", "published"),
}


def require_status(round_: Round, rule: StatusRule) -> None:
    if round_.status not in rule.allowed:
        raise Conflict(
            translatable(rule.refusal, round=round_.id, status=STATUS_WORDS[round_.status]),
            extra={"round_status": str(round_.status)},
        )


async def round_out(round_: Round) -> schemas.RoundOut:
    rows = (
        await RoundEntry.filter(round_id=round_.id)
        .order_by("entry_id")
        .values_list("entry_id", "anchor")
    )
    return schemas.RoundOut(
        id=round_.id,
        event_id=round_.event_id,  # type: ignore[attr-defined]
        name=round_.name,
        position=round_.position,
        judges_per_entry=round_.judges_per_entry,
        opens_at=round_.opens_at,
        closes_at=round_.closes_at,
        status=str(round_.status),
        ranking_method=str(round_.ranking_method),
        tie_break=list(round_.tie_break),
        disagreement_threshold=round_.disagreement_threshold,
        entry_ids=[e for e, _ in rows],
        anchor_entry_ids=[e for e, anchor in rows if anchor],
    )


def _check_tie_break(rules: Iterable[str], criterion_ids: set[int] | None) -> list[str]:
    rules = list(rules)
    if len(set(rules)) != len(rules):
        raise Unprocessable(translatable("A tie-break rule is listed twice."))
    for rule in rules:
        if rule.startswith("criterion:") and criterion_ids is not None:
            if int(rule.split(":")[1]) not in criterion_ids:
                raise Unprocessable(
                    translatable(
                        "Tie-break %(rule)r names a criterion of another round.", rule=rule
                    )
                )
    return rules


async def create_round(event_id: int, data: schemas.RoundIn) -> Round:
    await competition(event_id)
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise Unprocessable(translatable("A round must close after it opens."))
    if any(r.startswith("criterion:") for r in data.tie_break):
        raise Unprocessable(
            translatable("Add criteria first; name them in the tie-break with PATCH.")
        )
    positions = await Round.filter(event_id=event_id).values_list("position", flat=True)
    position = data.position or (max(positions, default=0) + 1)
    include_all = data.entries == "all" or (data.entries is None and position == 1)
    try:
        async with in_transaction():
            round_ = await Round.create(
                event_id=event_id,
                name=data.name.strip(),
                position=position,
                judges_per_entry=data.judges_per_entry,
                opens_at=data.opens_at,
                closes_at=data.closes_at,
                ranking_method=data.ranking_method,
                tie_break=_check_tie_break(data.tie_break, None),
                disagreement_threshold=data.disagreement_threshold,
            )
            if include_all:
                entry_ids = await Entry.filter(event_id=event_id).values_list("id", flat=True)
                await RoundEntry.bulk_create(
                    [RoundEntry(round_id=round_.id, entry_id=e) for e in entry_ids]
                )
    except IntegrityError:
        raise Conflict(
            translatable(
                "The competition already has a round at position %(position)s.", position=position
            )
        ) from None
    return round_


async def update_round(round_id: int, data: schemas.RoundPatch) -> Round:
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.CHANGING_ROUND)
    if data.judges_per_entry is not None:
        if await has_assignments(round_id):
            raise Conflict(translatable("Judges are already assigned; k can no longer change."))
        round_.judges_per_entry = data.judges_per_entry
    if data.tie_break is not None:
        criterion_ids = set(await Criterion.filter(round_id=round_id).values_list("id", flat=True))
        round_.tie_break = _check_tie_break(data.tie_break, criterion_ids)
    for name in ("name", "opens_at", "closes_at", "ranking_method", "disagreement_threshold"):
        value = getattr(data, name)
        if value is not None:
            setattr(round_, name, value)
    if round_.opens_at and round_.closes_at and round_.closes_at <= round_.opens_at:
        raise Unprocessable(translatable("A round must close after it opens."))
    await round_.save()
    return round_


async def list_rounds(event_id: int) -> list[Round]:
    await competition(event_id)
    return await Round.filter(event_id=event_id).order_by("position")


async def _check_competition_entries(round_: Round, wanted: set[int]) -> None:
    known = set(
        await Entry.filter(event_id=round_.event_id, id__in=wanted).values_list("id", flat=True)  # type: ignore[attr-defined]
    )
    if wanted - known:
        raise Unprocessable(
            translatable("Not entries of this competition: %(ids)s.", ids=sorted(wanted - known))
        )


async def set_round_entries(round_id: int, entry_ids: Sequence[int], *, anchors: bool) -> Round:
    """Add entries to a draft round, or (anchors=True) mark which of its entries are anchors."""
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.CHANGING_ENTRIES)
    wanted = set(entry_ids)
    await _check_competition_entries(round_, wanted)
    async with in_transaction():
        if anchors:
            present = set(
                await RoundEntry.filter(round_id=round_id).values_list("entry_id", flat=True)
            )
            if wanted - present:
                raise Unprocessable(
                    translatable(
                        "Anchors must be in the round: %(ids)s.", ids=sorted(wanted - present)
                    )
                )
            await RoundEntry.filter(round_id=round_id).update(anchor=False)
            await RoundEntry.filter(round_id=round_id, entry_id__in=wanted).update(anchor=True)
        else:
            present = set(
                await RoundEntry.filter(round_id=round_id).values_list("entry_id", flat=True)
            )
            await RoundEntry.bulk_create(
                [RoundEntry(round_id=round_id, entry_id=e) for e in sorted(wanted - present)]
            )
    return round_


async def replace_round_entries(
    round_id: int, entry_ids: Sequence[int], anchor_ids: Sequence[int]
) -> tuple[int, int]:
    """A draft round's entries made exactly `entry_ids`, `anchor_ids` among them the
    anchors, in one transaction (the console's entries form). An entry taken out loses
    its judge assignments, as with `remove_round_entry`. Returns (added, removed)."""
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.CHANGING_ENTRIES)
    wanted, anchors = set(entry_ids), set(anchor_ids)
    await _check_competition_entries(round_, wanted)
    if anchors - wanted:
        raise Unprocessable(
            translatable("Anchors must be in the round: %(ids)s.", ids=sorted(anchors - wanted))
        )
    async with in_transaction():
        present = set(await RoundEntry.filter(round_id=round_id).values_list("entry_id", flat=True))
        gone = present - wanted
        if gone:
            await JudgeAssignment.filter(round_id=round_id, entry_id__in=gone).delete()
            await RoundEntry.filter(round_id=round_id, entry_id__in=gone).delete()
        await RoundEntry.bulk_create(
            [RoundEntry(round_id=round_id, entry_id=e) for e in sorted(wanted - present)]
        )
        await RoundEntry.filter(round_id=round_id).update(anchor=False)
        if anchors:
            await RoundEntry.filter(round_id=round_id, entry_id__in=anchors).update(anchor=True)
    return len(wanted - present), len(gone)


async def remove_round_entry(round_id: int, entry_id: int) -> None:
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.CHANGING_ENTRIES)
    async with in_transaction():
        await JudgeAssignment.filter(round_id=round_id, entry_id=entry_id).delete()
        if not await RoundEntry.filter(round_id=round_id, entry_id=entry_id).delete():
            raise NotFound(
                translatable(
                    "Entry %(entry_id)s is not in round %(round_id)s.",
                    entry_id=entry_id,
                    round_id=round_id,
                )
            )


async def open_round(round_id: int) -> Round:
    round_ = await get_round(round_id)
    if not await Criterion.filter(round_id=round_id).exists():
        raise Conflict(translatable("A round needs criteria before it opens."))
    if not await has_assignments(round_id):
        raise Conflict(translatable("A round needs judge assignments before it opens."))
    # Conditional: of two concurrent calls one opens the round, the other is told.
    if not await Round.filter(id=round_id, status=RoundStatus.DRAFT).update(
        status=RoundStatus.OPEN
    ):
        require_status(await get_round(round_id), RoundAction.OPENING)
    await round_.refresh_from_db()
    return round_


async def round_entries_page(
    round_id: int, *, limit: int, offset: int
) -> tuple[list[RoundEntry], int]:
    """One page of a round's entries (with their entry) and how many it has."""
    await get_round(round_id)
    query = RoundEntry.filter(round_id=round_id)
    rows = await query.order_by("entry_id").offset(offset).limit(limit).select_related("entry")
    return rows, await query.count()


async def rounds_of(event_ids: Sequence[int]) -> dict[int, list[Round]]:
    """The rounds of each competition, in their order."""
    found: dict[int, list[Round]] = {event_id: [] for event_id in event_ids}
    for round_ in await Round.filter(event_id__in=list(event_ids)).order_by("position", "id"):
        found[round_.event_id].append(round_)  # type: ignore[attr-defined]
    return found


async def round_entry_counts(round_ids: Sequence[int]) -> dict[int, int]:
    """How many entries take part in each round (one SQL aggregate)."""
    rows = (
        await RoundEntry.filter(round_id__in=list(round_ids))
        .annotate(count=Count("id"))
        .group_by("round_id")
        .values_list("round_id", "count")
    )
    return {round_id: count for round_id, count in rows}


async def rounds_reached(entry_ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of the rounds each entry takes part in, in the rounds' order."""
    found: dict[int, list[str]] = {entry_id: [] for entry_id in entry_ids}
    rows = (
        await RoundEntry.filter(entry_id__in=list(entry_ids))
        .order_by("round__position", "round_id")
        .values_list("entry_id", "round__name")
    )
    for entry_id, name in rows:
        found[entry_id].append(name)
    return found


async def has_assignments(round_id: int) -> bool:
    return await JudgeAssignment.filter(round_id=round_id).exists()


async def round_entry_ids(round_id: int) -> tuple[set[int], set[int]]:
    """The round's entries and, among them, its anchors."""
    rows = await RoundEntry.filter(round_id=round_id).values_list("entry_id", "anchor")
    return {e for e, _ in rows}, {e for e, anchor in rows if anchor}
