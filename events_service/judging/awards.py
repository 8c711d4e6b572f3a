"""Awards of a round (organiser side): which ranks each award goes to."""

from __future__ import annotations

from events_service.errors import Unprocessable
from events_service.judging import schemas
from events_service.judging.rounds import RoundAction, get_round, require_status
from events_service.locale import translatable
from models import Award


async def create_award(round_id: int, data: schemas.AwardIn) -> Award:
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.ADDING_AWARDS)
    rank_to = data.rank_to or data.rank_from
    if rank_to < data.rank_from:
        raise Unprocessable(translatable("rank_to must not be below rank_from."))
    return await Award.create(
        round_id=round_id, name=data.name.strip(), rank_from=data.rank_from, rank_to=rank_to
    )


async def list_awards(round_id: int) -> list[Award]:
    await get_round(round_id)
    return await Award.filter(round_id=round_id).order_by("rank_from", "id")
