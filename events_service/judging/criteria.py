"""Criteria of a round (organiser side): their scales, weights and order."""

from __future__ import annotations

from decimal import Decimal

from events_service.errors import NotFound, Unprocessable
from events_service.judging import schemas
from events_service.judging.rounds import RoundAction, get_round, require_status
from events_service.locale import translatable
from models import Criterion


def _decimal(value: float) -> Decimal:
    # Through str: 0.1 stays 0.1 instead of the binary float's long expansion.
    return Decimal(str(value))


def _checked_scale(minimum: Decimal, maximum: Decimal, step: Decimal) -> None:
    if maximum <= minimum:
        raise Unprocessable(translatable("scale_max must be above scale_min."))
    if minimum % step or maximum % step:
        raise Unprocessable(
            translatable("The scale ends must be multiples of its step %(step)s.", step=step)
        )


async def create_criterion(round_id: int, data: schemas.CriterionIn) -> Criterion:
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.CHANGING_CRITERIA)
    step = Decimal(data.scale_step)
    low, high = _decimal(data.scale_min), _decimal(data.scale_max)
    _checked_scale(low, high, step)
    count = await Criterion.filter(round_id=round_id).count()
    return await Criterion.create(
        round_id=round_id,
        name=data.name.strip(),
        description=data.description.strip(),
        weight=_decimal(data.weight),
        scale_min=low,
        scale_max=high,
        scale_step=step,
        position=data.position or count + 1,
    )


async def get_criterion(criterion_id: int) -> Criterion:
    criterion = await Criterion.get_or_none(id=criterion_id).select_related("round")
    if criterion is None:
        raise NotFound(translatable("No criterion %(criterion_id)s.", criterion_id=criterion_id))
    return criterion


async def update_criterion(criterion_id: int, data: schemas.CriterionPatch) -> Criterion:
    criterion = await get_criterion(criterion_id)
    require_status(criterion.round, RoundAction.CHANGING_CRITERIA)
    for name in ("name", "description", "position"):
        value = getattr(data, name)
        if value is not None:
            setattr(criterion, name, value)
    for name in ("weight", "scale_min", "scale_max"):
        value = getattr(data, name)
        if value is not None:
            setattr(criterion, name, _decimal(value))
    if data.scale_step is not None:
        criterion.scale_step = Decimal(data.scale_step)
    _checked_scale(
        Decimal(criterion.scale_min), Decimal(criterion.scale_max), Decimal(criterion.scale_step)
    )
    await criterion.save()
    return criterion


async def delete_criterion(criterion_id: int) -> None:
    criterion = await get_criterion(criterion_id)
    require_status(criterion.round, RoundAction.CHANGING_CRITERIA)
    await criterion.delete()


async def list_criteria(round_id: int) -> list[Criterion]:
    await get_round(round_id)
    return await Criterion.filter(round_id=round_id).order_by("position", "id")


def criterion_out(c: Criterion) -> schemas.CriterionOut:
    return schemas.CriterionOut(
        id=c.id,
        round_id=c.round_id,  # type: ignore[attr-defined]
        name=c.name,
        description=c.description,
        weight=float(c.weight),
        scale_min=float(c.scale_min),
        scale_max=float(c.scale_max),
        scale_step=float(c.scale_step),
        position=c.position,
    )
