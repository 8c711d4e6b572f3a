"""The console's round page: a round's criteria (weights, scales), awards, tie-break
chain, ranking method, entries, deadline and state; while the round is a draft, its
criteria are added, changed and removed through the criteria service with the API's
own CriterionIn and CriterionPatch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.layout import Paging, console_page, done, list_offset
from events_service.errors import DomainError, NotFound
from events_service.judging import awards, criteria, rounds
from events_service.judging.schemas import CriterionIn, CriterionPatch
from events_service.locale import N_, translatable
from events_service.locale.dates import format_instant
from events_service.web.forms import domain_errors, read_form
from models import Criterion, Event, Round
from models.enums import RankingMethod, RoundStatus

ENTRIES_PAGE = 50

STATUS_WORDS = {
    RoundStatus.DRAFT: N_("Draft"),
    RoundStatus.OPEN: N_("Open for scoring"),
    RoundStatus.CLOSED: N_("Closed"),
    RoundStatus.PUBLISHED: N_("Results published"),
}
STATUS_BADGES = {
    RoundStatus.DRAFT: "warn",
    RoundStatus.OPEN: "ok",
    RoundStatus.CLOSED: "",
    RoundStatus.PUBLISHED: "",
}
METHOD_WORDS = {
    RankingMethod.ADDITIVE: N_("Judge bias corrected (additive model)"),
    RankingMethod.ZSCORE: N_("Each judge's scores standardised (z-scores)"),
    RankingMethod.MEAN: N_("Plain mean of the judges' totals"),
}
TIE_BREAK_WORDS = {
    "median": N_("the higher median total"),
    "judges": N_("more judges' sheets"),
    "earliest": N_("the earlier entry"),
    "raw_mean": N_("the higher raw mean"),
}
CRITERION_TIE_BREAK = N_("the higher mean on “%(name)s”")
CRITERION_FIELDS = ("name", "description", "weight", "scale_min", "scale_max", "scale_step")
STEPS = [("1", "1"), ("0.5", "0.5")]


def figure(value: Any) -> str:
    """A weight or scale end as typed: 0.4, 10, 0.5 (no trailing zeros)."""
    return format(Decimal(str(value)).normalize(), "f")


def tie_break_rule(rule: str, names: dict[int, str]) -> tuple[str, dict[str, Any]]:
    """One tie-break rule as (msgid, values) for a template to say; ("", {"rule": code})
    for a rule there are no words for (`names`: criterion id -> name)."""
    name, _, value = rule.partition(":")
    if name == "criterion" and value.isdigit() and int(value) in names:
        return CRITERION_TIE_BREAK, {"name": names[int(value)]}
    if rule in TIE_BREAK_WORDS:
        return TIE_BREAK_WORDS[rule], {}
    return "", {"rule": rule}


def _tie_break(round_: Round, by_id: dict[int, Criterion]) -> list[tuple[str, dict[str, Any]]]:
    """The chain as (msgid, values) pairs for the template to say."""
    names = {i: c.name for i, c in by_id.items()}
    return [tie_break_rule(rule, names) for rule in round_.tie_break]


async def event_of(round_: Round) -> Event:
    return await Event.get(id=round_.event_id)  # type: ignore[attr-defined]


def round_crumbs(event: Event, round_: Round | None = None) -> list[tuple[Any, str]]:
    crumbs: list[tuple[Any, str]] = [(event.title, f"/admin/competitions/{event.id}")]
    if round_ is not None:
        crumbs.append((round_.name, f"/admin/rounds/{round_.id}"))
    return crumbs


@get("/rounds/{round_id:int}", name="console:round")
async def round_page(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    event = await event_of(round_)
    listed = await criteria.list_criteria(round_id)
    offset = list_offset(request.query_params.get("offset"))
    entries, total = await rounds.round_entries_page(round_id, limit=ENTRIES_PAGE, offset=offset)
    weights = sum((Decimal(c.weight) for c in listed), Decimal(0))
    return console_page(
        request,
        "pages/console/rounds/page.html",
        section="competitions",
        title=round_.name,
        crumbs=round_crumbs(event),
        round=round_,
        event=event,
        criteria=listed,
        weight_total=figure(weights),
        awards=await awards.list_awards(round_id),
        tie_break=_tie_break(round_, {c.id: c for c in listed}),
        entries=entries,
        entries_total=total,
        paging=Paging(f"/admin/rounds/{round_id}", {}, offset, ENTRIES_PAGE, total),
        editable=round_.status == RoundStatus.DRAFT,
        figure=figure,
        instant=format_instant,
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
        method_words=METHOD_WORDS,
    )


# Criteria (draft rounds only: the service refuses otherwise, and the pages say so)


async def _criterion_of(round_id: int, criterion_id: int) -> Criterion:
    criterion = await criteria.get_criterion(criterion_id)
    if criterion.round_id != round_id:  # type: ignore[attr-defined]
        raise NotFound(translatable("No criterion %(criterion_id)s.", criterion_id=criterion_id))
    return criterion


def _not_draft(request: Request[Any, Any, Any], round_: Round) -> Redirect | None:
    """Back to the round with the reason, when its criteria can no longer change."""
    if round_.status == RoundStatus.DRAFT:
        return None
    return done(
        request,
        f"/admin/rounds/{round_.id}",
        translatable(
            "This round is no longer a draft: its criteria can no longer change "
            "(judges may already be scoring on them)."
        ),
        "bad",
    )


async def _criterion_form(
    request: Request[Any, Any, Any],
    round_: Round,
    criterion: Criterion | None,
    values: dict[str, str],
    errors: dict[str, Any],
    status_code: int = 200,
) -> Template:
    event = await event_of(round_)
    if criterion is None:
        title = translatable("Add a criterion")
        action = f"/admin/rounds/{round_.id}/criteria/new"
    else:
        title = translatable("Change the criterion")
        action = f"/admin/rounds/{round_.id}/criteria/{criterion.id}/edit"
    return console_page(
        request,
        "pages/console/rounds/criterion.html",
        section="competitions",
        title=title,
        crumbs=round_crumbs(event, round_),
        status_code=status_code,
        round=round_,
        criterion=criterion,
        action=action,
        values=values,
        errors=errors,
        steps=STEPS,
    )


def _criterion_values(c: Criterion) -> dict[str, str]:
    return {
        "name": c.name,
        "description": c.description,
        "weight": figure(c.weight),
        "scale_min": figure(c.scale_min),
        "scale_max": figure(c.scale_max),
        "scale_step": figure(c.scale_step),
    }


def _errors(errors: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """A weight of 0 is a number, only not above 0: say so (the schema wants > 0)."""
    if "weight" in errors:
        try:
            weight = float(values.get("weight", "").strip())
        except ValueError:
            pass
        else:
            if weight <= 0 or weight > 100:
                errors["weight"] = translatable("Above 0 and at most 100.")
    return errors


@get("/rounds/{round_id:int}/criteria/new", name="console:criterion-new-form")
async def new_criterion(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    if (refused := _not_draft(request, round_)) is not None:
        return refused
    values = {"weight": "1", "scale_min": "0", "scale_max": "10", "scale_step": "1"}
    return await _criterion_form(request, round_, None, values, {})


async def _submit_criterion(
    request: Request[Any, Any, Any], round_: Round, criterion: Criterion | None
) -> Template | Redirect:
    """The posted criterion form, added (criterion None) or saved; or the form again
    with what is wrong, next to its field."""
    form = await read_form(
        request, CriterionIn if criterion is None else CriterionPatch, only=CRITERION_FIELDS
    )
    errors = _errors(dict(form.errors), form.values)
    if criterion is not None:
        # Every field is on the form: emptying one the criterion must have is an error.
        for name in ("name", "weight", "scale_min", "scale_max", "scale_step"):
            if not form.values.get(name, "").strip():
                errors[name] = translatable("Required.")
    if not errors and form.value is not None:
        try:
            if criterion is None:
                made = await criteria.create_criterion(round_.id, form.value)  # type: ignore[arg-type]
                said = translatable("The criterion “%(name)s” was added.", name=made.name)
            else:
                made = await criteria.update_criterion(criterion.id, form.value)  # type: ignore[arg-type]
                said = translatable("Your changes to “%(name)s” were saved.", name=made.name)
        except DomainError as exc:
            errors = _scale_errors(exc)
        else:
            return done(request, f"/admin/rounds/{round_.id}", said)
    return await _criterion_form(request, round_, criterion, form.values, errors, status_code=422)


@post("/rounds/{round_id:int}/criteria/new", name="console:criterion-new")
async def create_criterion(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    if (refused := _not_draft(request, round_)) is not None:
        return refused
    return await _submit_criterion(request, round_, None)


@get("/rounds/{round_id:int}/criteria/{criterion_id:int}/edit", name="console:criterion-edit-form")
async def edit_criterion(
    request: Request[Any, Any, Any], round_id: FromPath[int], criterion_id: FromPath[int]
) -> Template | Redirect:
    criterion = await _criterion_of(round_id, criterion_id)
    if (refused := _not_draft(request, criterion.round)) is not None:
        return refused
    return await _criterion_form(
        request, criterion.round, criterion, _criterion_values(criterion), {}
    )


@post("/rounds/{round_id:int}/criteria/{criterion_id:int}/edit", name="console:criterion-edit")
async def save_criterion(
    request: Request[Any, Any, Any], round_id: FromPath[int], criterion_id: FromPath[int]
) -> Template | Redirect:
    criterion = await _criterion_of(round_id, criterion_id)
    if (refused := _not_draft(request, criterion.round)) is not None:
        return refused
    return await _submit_criterion(request, criterion.round, criterion)


@post("/rounds/{round_id:int}/criteria/{criterion_id:int}/remove", name="console:criterion-remove")
async def remove_criterion(
    request: Request[Any, Any, Any], round_id: FromPath[int], criterion_id: FromPath[int]
) -> Redirect:
    criterion = await _criterion_of(round_id, criterion_id)
    target = f"/admin/rounds/{round_id}"
    try:
        await criteria.delete_criterion(criterion_id)
    except DomainError as exc:
        return done(request, target, exc.detail, "bad")
    return done(
        request, target, translatable("The criterion “%(name)s” was removed.", name=criterion.name)
    )


_SCALE_REFUSALS = {
    "scale_max must be above scale_min.": (
        "scale_max",
        N_("The top of the scale must be above its bottom."),
    ),
    "The scale ends must be multiples of its step %(step)s.": (
        "scale_step",
        N_("Both ends of the scale must be multiples of the step."),
    ),
}


def _scale_errors(error: DomainError) -> dict[str, Any]:
    """The criteria service's refusal of a scale, next to the field it is about."""
    msgid = getattr(error.detail, "msgid", None)
    if msgid in _SCALE_REFUSALS:
        name, words = _SCALE_REFUSALS[msgid]
        return {name: translatable(words)}
    return domain_errors(error)


ROUTES = [
    round_page,
    new_criterion,
    create_criterion,
    edit_criterion,
    save_criterion,
    remove_criterion,
]
