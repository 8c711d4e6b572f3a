"""Setting a round up from the console: a new round of a competition, its settings
(name, deadline, judges per entry, ranking method, tie-break chain, disagreement
mark), its awards, and which of the competition's entries take part (and which are
anchors). The rules stay in the round and award services; the forms read the API's
own RoundIn, RoundPatch and AwardIn."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.events import local_input
from events_service.console.layout import console_page, done
from events_service.console.rounds import (
    CRITERION_TIE_BREAK,
    METHOD_WORDS,
    TIE_BREAK_WORDS,
    event_of,
    figure,
    round_crumbs,
)
from events_service.errors import DomainError
from events_service.judging import awards, criteria, entries, rounds
from events_service.judging.competitions import competition
from events_service.judging.schemas import AwardIn, RoundIn, RoundPatch, TieBreakRule
from events_service.locale import N_, in_language, translatable
from events_service.web.forms import FORM_ERROR, domain_errors, read_form
from events_service.web.login import staff_page_context
from models import Criterion, Event, Round
from models.enums import RankingMethod, RoundStatus

SETTINGS_FIELDS = (
    "name",
    "judges_per_entry",
    "opens_at",
    "closes_at",
    "ranking_method",
    "disagreement_threshold",
)
TIE_BREAK_SLOTS = 4
"""How many tie-break rules the form offers, in order; a chain the API made longer
(it takes up to MAX_TIE_BREAK) gets one slot per rule, so saving keeps all of it."""
MAX_TIE_BREAK = 10
DEFAULT_TIE_BREAK = ("median", "judges", "earliest")
STARTING_ENTRIES = (
    ("all", N_("Every entry of the competition")),
    ("none", N_("None yet: the previous round's best are advanced into it")),
)


def _tie_break_options(listed: list[Criterion], locale: str) -> list[tuple[str, str]]:
    """(rule, words) for each slot's select; the round's criteria once it has some."""
    options = [("", in_language(translatable("(no further rule)"), locale))]
    options += [(rule, in_language(translatable(w), locale)) for rule, w in TIE_BREAK_WORDS.items()]
    for c in listed:
        words = in_language(translatable(CRITERION_TIE_BREAK, name=c.name), locale)
        options.append((f"criterion:{c.id}", words))
    return options


async def _posted_tie_break(request: Request[Any, Any, Any]) -> tuple[list[str], dict[str, Any]]:
    """The chain the slots name, in order; a rule the schema does not know is an error
    on its slot (the selects only offer known rules: this is a forged or stale form)."""
    form = await request.form()
    rules, errors = [], {}
    for n in range(1, MAX_TIE_BREAK + 1):
        rule = str(form.get(f"tie_break_{n}") or "").strip()
        if not rule:
            continue
        try:
            rules.append(msgspec.convert(rule, TieBreakRule))
        except msgspec.ValidationError:
            errors[f"tie_break_{n}"] = translatable("Choose one of the options.")
    return rules, errors


def _tie_break_values(rules: list[str]) -> dict[str, str]:
    return {f"tie_break_{n}": rule for n, rule in enumerate(rules, start=1)}


def _settings_values(round_: Round, zone: str) -> dict[str, str]:
    return {
        "name": round_.name,
        "judges_per_entry": str(round_.judges_per_entry),
        "opens_at": local_input(round_.opens_at, zone),
        "closes_at": local_input(round_.closes_at, zone),
        "ranking_method": round_.ranking_method.value,
        "disagreement_threshold": figure(round_.disagreement_threshold),
        **_tie_break_values(list(round_.tie_break)),
    }


async def _settings_form(
    request: Request[Any, Any, Any],
    event: Event,
    round_: Round | None,
    values: dict[str, str],
    errors: dict[str, Any],
    status_code: int = 200,
) -> Template:
    listed: list[Criterion] = []
    if round_ is None:
        title = translatable("Add a round")
        action = f"/admin/competitions/{event.id}/rounds/new"
        crumbs = [(event.title, f"/admin/competitions/{event.id}")]
    else:
        listed = await criteria.list_criteria(round_.id)
        title = translatable("Change the round's settings")
        action = f"/admin/rounds/{round_.id}/edit"
        crumbs = round_crumbs(event, round_)
    locale = staff_page_context(request)["locale"]
    return console_page(
        request,
        "pages/console/rounds/settings.html",
        section="competitions",
        title=title,
        crumbs=crumbs,
        status_code=status_code,
        event=event,
        round=round_,
        action=action,
        values=values,
        errors=errors,
        method_options=[
            (method.value, in_language(translatable(words), locale))
            for method, words in METHOD_WORDS.items()
        ],
        entries_options=[
            (value, in_language(translatable(words), locale)) for value, words in STARTING_ENTRIES
        ],
        tie_break_options=_tie_break_options(listed, locale),
        slots=range(1, max(TIE_BREAK_SLOTS, sum(k.startswith("tie_break_") for k in values)) + 1),
        # k is fixed once judges are assigned (the service refuses a change).
        k_locked=round_ is not None and await rounds.has_assignments(round_.id),
    )


@get("/competitions/{competition_id:int}/rounds/new", name="console:round-new-form")
async def new_round(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Template:
    event = await competition(competition_id)
    first = not await rounds.list_rounds(competition_id)
    values = {
        "judges_per_entry": "3",
        "ranking_method": RankingMethod.ADDITIVE.value,
        "disagreement_threshold": "0.3",
        "entries": "all" if first else "none",
        **_tie_break_values(list(DEFAULT_TIE_BREAK)),
    }
    return await _settings_form(request, event, None, values, {})


@post("/competitions/{competition_id:int}/rounds/new", name="console:round-new")
async def create_round(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template | Redirect:
    event = await competition(competition_id)
    form = await read_form(
        request, RoundIn, zone=event.timezone, only=(*SETTINGS_FIELDS, "entries")
    )
    tie_break, tie_break_errors = await _posted_tie_break(request)
    values = {**form.values}
    errors: dict[str, Any] = {**form.errors, **tie_break_errors}
    if not errors and form.value is not None:
        try:
            data = msgspec.structs.replace(form.value, tie_break=tie_break)
            made = await rounds.create_round(competition_id, data)
        except DomainError as exc:
            errors = domain_errors(exc)
        else:
            return done(
                request,
                f"/admin/rounds/{made.id}",
                translatable("The round “%(name)s” was added.", name=made.name),
            )
    return await _settings_form(request, event, None, values, errors, status_code=422)


@get("/rounds/{round_id:int}/edit", name="console:round-edit-form")
async def edit_round(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    event = await event_of(round_)
    values = _settings_values(round_, event.timezone)
    return await _settings_form(request, event, round_, values, {})


@post("/rounds/{round_id:int}/edit", name="console:round-edit")
async def save_round(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    event = await event_of(round_)
    form = await read_form(request, RoundPatch, zone=event.timezone, only=SETTINGS_FIELDS)
    tie_break, tie_break_errors = await _posted_tie_break(request)
    errors: dict[str, Any] = {**form.errors, **tie_break_errors}
    if not form.values.get("name", "").strip():
        errors["name"] = translatable("Required.")
    if not errors and form.value is not None:
        patch = form.value
        if patch.judges_per_entry == round_.judges_per_entry:
            # Unchanged: not a change the service must refuse once judges are assigned.
            patch = msgspec.structs.replace(patch, judges_per_entry=None)
        patch = msgspec.structs.replace(patch, tie_break=tie_break)
        try:
            saved = await rounds.update_round(round_id, patch)
        except DomainError as exc:
            errors = domain_errors(exc)
        else:
            return done(
                request,
                f"/admin/rounds/{round_id}",
                translatable("Your changes to “%(name)s” were saved.", name=saved.name),
            )
    return await _settings_form(request, event, round_, form.values, errors, status_code=422)


# Awards


async def _award_form(
    request: Request[Any, Any, Any],
    round_: Round,
    values: dict[str, str],
    errors: dict[str, Any],
    status_code: int = 200,
) -> Template:
    event = await event_of(round_)
    return console_page(
        request,
        "pages/console/rounds/award.html",
        section="competitions",
        title=translatable("Add an award"),
        crumbs=round_crumbs(event, round_),
        status_code=status_code,
        round=round_,
        values=values,
        errors=errors,
    )


@get("/rounds/{round_id:int}/awards/new", name="console:award-new-form")
async def new_award(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    return await _award_form(request, round_, {"rank_from": "1"}, {})


@post("/rounds/{round_id:int}/awards/new", name="console:award-new")
async def create_award(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    form = await read_form(request, AwardIn)
    errors: dict[str, Any] = dict(form.errors)
    if not errors and form.value is not None:
        try:
            made = await awards.create_award(round_id, form.value)
        except DomainError as exc:
            errors = domain_errors(exc)
            if FORM_ERROR in errors and "rank_to" in str(getattr(exc.detail, "msgid", "")):
                errors = {"rank_to": translatable("The last rank must not be above the first.")}
        else:
            return done(
                request,
                f"/admin/rounds/{round_id}",
                translatable("The award “%(name)s” was added.", name=made.name),
            )
    return await _award_form(request, round_, form.values, errors, status_code=422)


# Entries in the round


async def _entries_form(
    request: Request[Any, Any, Any],
    round_: Round,
    chosen: set[int],
    anchors: set[int],
    error: Any = None,
    status_code: int = 200,
) -> Template:
    event = await event_of(round_)
    return console_page(
        request,
        "pages/console/rounds/entries.html",
        section="competitions",
        title=translatable("Entries in the round"),
        crumbs=round_crumbs(event, round_),
        status_code=status_code,
        round=round_,
        event=event,
        entries=await entries.list_entries(event.id),
        chosen=chosen,
        anchors=anchors,
        error=error,
        editable=round_.status == RoundStatus.DRAFT,
    )


@get("/rounds/{round_id:int}/entries", name="console:round-entries-form")
async def round_entries(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    chosen, anchors = await rounds.round_entry_ids(round_id)
    return await _entries_form(request, round_, chosen, anchors)


def _ids(values: list[str]) -> set[int]:
    return {int(v) for v in values if v.isdigit() and len(v) <= 10}


@post("/rounds/{round_id:int}/entries", name="console:round-entries")
async def save_round_entries(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    form = await request.form()
    chosen = _ids([str(v) for v in form.getall("entry", [])])
    anchors = _ids([str(v) for v in form.getall("anchor", [])])
    try:
        added, removed = await rounds.replace_round_entries(round_id, chosen, anchors & chosen)
    except DomainError as exc:
        return await _entries_form(request, round_, chosen, anchors, exc.detail, status_code=409)
    return done(
        request,
        f"/admin/rounds/{round_id}",
        translatable(
            "The round's entries were saved: %(added)s added, %(removed)s taken out.",
            added=added,
            removed=removed,
        ),
    )


ROUTES = [
    new_round,
    create_round,
    edit_round,
    save_round,
    new_award,
    create_award,
    round_entries,
    save_round_entries,
]
