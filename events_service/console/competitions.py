"""The console's competitions: the competition events with their rounds and each
round's state, and a competition's page (its rounds, with their entries and deadlines,
and its entries in short). Rounds have their own pages (/admin/rounds/{id})."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from events_service.console.events import page_helpers
from events_service.console.layout import Paging, console_page, list_offset
from events_service.events import service as events_service
from events_service.judging import entries, rounds
from events_service.judging.competitions import competition
from events_service.locale import N_, translatable
from models.enums import EventKind, RoundStatus

PAGE_SIZE = 20

ROUND_WORDS = {
    RoundStatus.DRAFT: N_("Draft"),
    RoundStatus.OPEN: N_("Open for scoring"),
    RoundStatus.CLOSED: N_("Scoring closed"),
    RoundStatus.PUBLISHED: N_("Results published"),
}
ROUND_BADGES = {
    RoundStatus.DRAFT: "warn",
    RoundStatus.OPEN: "ok",
    RoundStatus.CLOSED: "",
    RoundStatus.PUBLISHED: "ok",
}


def round_helpers() -> dict[str, Any]:
    return {"round_words": ROUND_WORDS, "round_badges": ROUND_BADGES, **page_helpers()}


@get("/competitions", name="console:competitions")
async def competitions_list(request: Request[Any, Any, Any]) -> Template:
    offset = list_offset(request.query_params.get("offset"))
    events, total = await events_service.list_events(
        kind=EventKind.COMPETITION, limit=PAGE_SIZE, offset=offset
    )
    ids = [event.id for event in events]
    return console_page(
        request,
        "pages/console/competitions/list.html",
        section="competitions",
        title=translatable("Competitions"),
        events=events,
        rounds=await rounds.rounds_of(ids),
        entry_counts=await entries.entry_counts(ids),
        paging=Paging("/admin/competitions", {}, offset, PAGE_SIZE, total),
        **round_helpers(),
    )


@get("/competitions/{competition_id:int}", name="console:competition")
async def competition_page(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template:
    event = await competition(competition_id)
    its_rounds = (await rounds.rounds_of([event.id]))[event.id]
    return console_page(
        request,
        "pages/console/competitions/page.html",
        section="competitions",
        title=event.title,
        crumbs=[(translatable("Competitions"), "/admin/competitions")],
        event=event,
        rounds=its_rounds,
        round_counts=await rounds.round_entry_counts([r.id for r in its_rounds]),
        entry_count=(await entries.entry_counts([event.id])).get(event.id, 0),
        **round_helpers(),
    )


ROUTES = [competitions_list, competition_page]
