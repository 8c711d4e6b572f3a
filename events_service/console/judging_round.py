"""The console's pages to staff and run a judging round, on the judging services:

- judges and conflicts (`judges.declare_conflict`, `judges.delete_conflict`): the
  active judge accounts with their declared conflicts and their load in this round,
  ticked to choose the round's judges for a plan;
- the plan: `judges.propose_assignment` shows the balanced, conflict-free plan before
  anything is written; "Save this plan" posts its seed, judges, k and fingerprint and
  `judges.assign` saves exactly that plan (or refuses if it is now another one);
- one entry moved to another judge by hand (`judges.move_assignment`, one transaction);
- opening and closing (`rounds.open_round`, `results.close_round`);
- progress: sheets submitted per judge and per entry (`judges.progress`), who is late
  (`judges.late_judges`) and reminders to them through the outbox
  (`judges.remind_late_judges`, once a day per judge)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from tortoise import timezone

from events_service.console.layout import console_page, done
from events_service.console.rounds import STATUS_BADGES, STATUS_WORDS
from events_service.errors import DomainError, NotFound
from events_service.judging import judges, results, rounds
from events_service.locale import N_, translatable, words
from events_service.locale.dates import format_instant
from events_service.locale.numbers import format_number
from events_service.web.forms import FORM_ERROR
from events_service.web.login import staff_page_context
from models import ConflictDeclaration, Entry, Event, JudgeAssignment, Round, StaffUser
from models.enums import AssignmentStatus, RoundStatus

MAX_K = 50
MAX_SEED = 2**31
DEFAULT_SEED = 1
NEXT_PAGES = {"judges": "judges", "progress": "progress"}

DEADLINE_WORDS = {
    "none": N_("No deadline: nobody counts as late."),
    "ahead": N_("The deadline is ahead."),
    "soon": N_("The deadline is less than 24 hours away."),
    "passed": N_("The deadline has passed."),
}


async def _event(round_: Round) -> Event:
    return await Event.get(id=round_.event_id)  # type: ignore[attr-defined]


def _crumbs(event: Event, round_: Round) -> list[tuple[Any, str]]:
    return [
        (translatable("Competitions"), "/admin/competitions"),
        (event.title, f"/admin/competitions/{event.id}"),
        (round_.name, f"/admin/rounds/{round_.id}"),
    ]


def _name(user: StaffUser) -> str:
    return user.name or user.email


def _ids(texts: list[str]) -> list[int] | None:
    """Ids as posted (checkboxes, selects); None if one is not an id."""
    found = []
    for text in texts:
        text = text.strip()
        if not text.isdigit() or len(text) > 12:
            return None
        found.append(int(text))
    return sorted(set(found))


def _whole(text: str | None, low: int, high: int) -> int | str:
    """A whole number in [low, high], or the problem (a Message)."""
    text = (text or "").strip()
    if not text:
        return translatable("Required.")
    try:
        value = int(text)
    except ValueError:
        return translatable("Enter a whole number.")
    if value < low:
        return translatable("At least %(n)s.", n=low)
    if value > high:
        return translatable("At most %(n)s.", n=high)
    return value


async def _form(request: Request[Any, Any, Any]) -> Any:
    return await request.form()


def _words(request: Request[Any, Any, Any]) -> Any:
    return words(staff_page_context(request)["locale"])


# --- judges and conflicts -----------------------------------------------------------------


@dataclass
class JudgeRow:
    user: StaffUser
    conflicts: list[ConflictDeclaration] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    submitted: int = 0
    conflicted: list[str] = field(default_factory=list)
    """Titles of entries this judge is assigned although they declared a conflict."""
    selected: bool = False


async def _judge_rows(round_id: int, selected: list[int] | None) -> list[JudgeRow]:
    rows = {u.id: JudgeRow(u) for u in await judges.active_judges()}
    for conflict in await judges.list_conflicts():
        if conflict.judge_id in rows:  # type: ignore[attr-defined]
            rows[conflict.judge_id].conflicts.append(conflict)  # type: ignore[attr-defined]
    barred = {(c.judge_id, c.organisation_id) for r in rows.values() for c in r.conflicts}  # type: ignore[attr-defined]
    assigned = (
        await JudgeAssignment.filter(round_id=round_id)
        .order_by("entry__title", "entry_id")
        .values_list("judge_id", "entry__title", "entry__organisation_id", "status")
    )
    on_round = set()
    for judge_id, title, org, status in assigned:
        on_round.add(judge_id)
        row = rows.get(judge_id)
        if row is None:
            continue
        row.entries.append(title)
        row.submitted += status == AssignmentStatus.SUBMITTED
        if org is not None and (judge_id, org) in barred:
            row.conflicted.append(title)
    chosen = set(selected) if selected is not None else (on_round or set(rows))
    for row in rows.values():
        row.selected = row.user.id in chosen
    return list(rows.values())


async def _judges_page(
    request: Request[Any, Any, Any],
    round_: Round,
    *,
    conflict_values: dict[str, str] | None = None,
    conflict_errors: dict[str, Any] | None = None,
    move_values: dict[str, str] | None = None,
    move_errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    event = await _event(round_)
    selected = _ids(request.query_params.getall("judge", [])) or None
    rows = await _judge_rows(round_.id, selected)
    organisations = sorted(
        {
            name
            for name in await Entry.filter(
                event_id=event.id, organisation_id__not_isnull=True
            ).values_list("organisation__name", flat=True)
            if name
        }
    )
    sheets = (
        await JudgeAssignment.filter(round_id=round_.id, status__not=AssignmentStatus.SUBMITTED)
        .order_by("entry__title", "entry_id", "judge_id")
        .values_list("id", "entry__title", "judge__name", "judge__email")
    )
    return console_page(
        request,
        "pages/console/rounds/judges.html",
        section="competitions",
        title=translatable("Judges and assignment"),
        crumbs=_crumbs(event, round_),
        status_code=status_code,
        round=round_,
        event=event,
        rows=rows,
        organisations=organisations,
        movable=sheets,
        judge_options=[(str(r.user.id), _name(r.user)) for r in rows],
        sheet_options=[(str(a), f"{title} — {name or email}") for a, title, name, email in sheets],
        assigned_total=sum(len(r.entries) for r in rows),
        conflict_values=conflict_values or {},
        conflict_errors=conflict_errors or {},
        move_values=move_values or {},
        move_errors=move_errors or {},
        editable=round_.status in (RoundStatus.DRAFT, RoundStatus.OPEN),
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
    )


@get("/rounds/{round_id:int}/judges", name="console:round-judges")
async def judges_page(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    return await _judges_page(request, await rounds.get_round(round_id))


@post("/rounds/{round_id:int}/conflicts", name="console:round-conflict-add")
async def add_conflict(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    form = await _form(request)
    values = {k: str(form.get(k) or "") for k in ("judge", "organisation", "reason")}
    errors: dict[str, Any] = {}
    judge_ids = _ids([values["judge"]]) if values["judge"] else None
    if not judge_ids:
        errors["judge"] = translatable("Choose a judge.")
    organisation = " ".join(values["organisation"].split())
    if not organisation:
        errors["organisation"] = translatable("Required.")
    elif len(organisation) > 200:
        errors["organisation"] = translatable("At most %(n)s characters.", n=200)
    if len(values["reason"]) > 300:
        errors["reason"] = translatable("At most %(n)s characters.", n=300)
    if not errors and judge_ids:
        try:
            conflict = await judges.declare_conflict(
                judge_ids[0], organisation, request.user.id, values["reason"]
            )
        except DomainError as exc:
            errors[FORM_ERROR] = exc.detail
        else:
            judge = await StaffUser.get(id=judge_ids[0])
            target = f"/admin/rounds/{round_id}/judges"
            w = _words(request)
            said = w.gettext(
                "Conflict recorded: %(judge)s will not be given entries of %(organisation)s.",
                judge=_name(judge),
                organisation=organisation,
            )
            clashes = await JudgeAssignment.filter(
                round_id=round_id,
                judge_id=judge.id,
                entry__organisation_id=conflict.organisation_id,  # type: ignore[attr-defined]
            ).count()
            if clashes:
                said += " " + w.ngettext(
                    "They are already assigned %(count)s of its entries in this round: "
                    "move it to another judge.",
                    "They are already assigned %(count)s of its entries in this round: "
                    "move them to other judges.",
                    clashes,
                    count=format_number(clashes, w.locale),
                )
                return done(request, target, said, "warn")
            return done(request, target, said)
    return await _judges_page(
        request, round_, conflict_values=values, conflict_errors=errors, status_code=422
    )


@post(
    "/rounds/{round_id:int}/conflicts/{conflict_id:int}/remove",
    name="console:round-conflict-remove",
)
async def remove_conflict(
    request: Request[Any, Any, Any], round_id: FromPath[int], conflict_id: FromPath[int]
) -> Redirect:
    await rounds.get_round(round_id)
    target = f"/admin/rounds/{round_id}/judges"
    try:
        conflict = await judges.get_conflict(conflict_id)
        await judges.delete_conflict(conflict_id)
    except DomainError as exc:
        return done(request, target, exc.detail, "bad")
    return done(
        request,
        target,
        translatable(
            "The conflict with %(organisation)s was withdrawn.",
            organisation=conflict.organisation.name,
        ),
    )


# --- the plan -----------------------------------------------------------------------------


@dataclass
class PlanInput:
    judge_ids: list[int] | None
    k: int | None
    seed: int
    values: dict[str, str]
    errors: dict[str, Any]


def _plan_input(source: Any, round_: Round) -> PlanInput:
    """The plan's settings from a query string or a form (both multi-dicts)."""
    values = {
        "k": str(source.get("k") or round_.judges_per_entry),
        "seed": str(source.get("seed") or DEFAULT_SEED),
    }
    errors: dict[str, Any] = {}
    k = _whole(values["k"], 1, MAX_K)
    if not isinstance(k, int):
        errors["k"] = k
    seed = _whole(values["seed"], 0, MAX_SEED)
    if not isinstance(seed, int):
        errors["seed"] = seed
    posted = [str(v) for v in source.getall("judge", [])]
    judge_ids = _ids(posted)
    if judge_ids is None:
        errors["judge"] = translatable("Not a valid value.")
    elif not judge_ids:
        judge_ids = None
        if source.get("chosen"):
            errors["judge"] = translatable("Choose at least one judge.")
    return PlanInput(
        judge_ids=judge_ids,
        k=k if isinstance(k, int) else None,
        seed=seed if isinstance(seed, int) else DEFAULT_SEED,
        values=values,
        errors=errors,
    )


async def _default_judges(round_id: int) -> list[int]:
    """The round's judges now, or every active judge if it has none yet."""
    on_round = await JudgeAssignment.filter(round_id=round_id).values_list("judge_id", flat=True)
    active = [u.id for u in await judges.active_judges()]
    return sorted(set(on_round) & set(active)) or active


async def _plan_page(
    request: Request[Any, Any, Any],
    round_: Round,
    given: PlanInput,
    *,
    refusal: str | None = None,
    status_code: int = 200,
) -> Template:
    event = await _event(round_)
    judge_ids = given.judge_ids
    if judge_ids is None and "judge" not in given.errors:
        judge_ids = await _default_judges(round_.id)
    proposal = None
    impossible = None
    errors = dict(given.errors)
    if not errors and given.k is not None:
        try:
            proposal = await judges.propose_assignment(round_.id, given.seed, judge_ids, given.k)
        except judges.AssignmentNotPossible as exc:
            impossible = exc.detail
        except DomainError as exc:
            errors[FORM_ERROR] = exc.detail
            status_code = max(status_code, exc.status_code)
    if errors:
        status_code = max(status_code, 422)
    per_judge: list[tuple[StaffUser, int, list[str]]] = []
    if proposal is not None:
        titles: dict[int, list[str]] = defaultdict(list)
        for entry_id, judge_id in proposal.plan.pairs:
            titles[judge_id].append(proposal.entries.get(entry_id, ""))
        per_judge = [
            (j, proposal.plan.loads.get(j.id, 0), sorted(titles[j.id])) for j in proposal.judges
        ]
    chosen = await StaffUser.filter(id__in=judge_ids or []).order_by("id")
    return console_page(
        request,
        "pages/console/rounds/plan.html",
        section="competitions",
        title=translatable("Proposed plan"),
        crumbs=_crumbs(event, round_),
        status_code=status_code,
        round=round_,
        event=event,
        proposal=proposal,
        per_judge=per_judge,
        impossible=impossible,
        refusal=refusal,
        chosen=[_name(u) for u in chosen],
        judge_ids=judge_ids or [],
        values=given.values,
        errors=errors,
        k=given.k,
        seed=given.seed,
    )


@get("/rounds/{round_id:int}/plan", name="console:round-plan")
async def plan_page(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    return await _plan_page(request, round_, _plan_input(request.query_params, round_))


@post("/rounds/{round_id:int}/plan", name="console:round-plan-save")
async def save_plan(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    form = await _form(request)
    given = _plan_input(form, round_)
    digest = str(form.get("digest") or "")
    if given.judge_ids is None and "judge" not in given.errors:
        given.errors["judge"] = translatable("Choose at least one judge.")
    if given.errors or given.k is None:
        return await _plan_page(request, round_, given, status_code=422)
    try:
        await judges.assign(round_id, given.seed, given.judge_ids, given.k, expected=digest)
    except DomainError as exc:
        return await _plan_page(
            request, round_, given, refusal=exc.detail, status_code=exc.status_code
        )
    count = await JudgeAssignment.filter(round_id=round_id).count()
    w = _words(request)
    return done(
        request,
        f"/admin/rounds/{round_id}/judges",
        w.ngettext(
            "The plan is saved: %(count)s sheet to score.",
            "The plan is saved: %(count)s sheets to score.",
            count,
            count=format_number(count, w.locale),
        ),
    )


# --- moving one entry ---------------------------------------------------------------------


@post("/rounds/{round_id:int}/move", name="console:round-move")
async def move_entry(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await rounds.get_round(round_id)
    form = await _form(request)
    values = {k: str(form.get(k) or "") for k in ("assignment", "to_judge")}
    errors: dict[str, Any] = {}
    sheet = _ids([values["assignment"]]) if values["assignment"] else None
    target_judge = _ids([values["to_judge"]]) if values["to_judge"] else None
    if not sheet:
        errors["assignment"] = translatable("Choose the sheet to move.")
    if not target_judge:
        errors["to_judge"] = translatable("Choose a judge.")
    status_code = 422
    if not errors and sheet and target_judge:
        before = await JudgeAssignment.get_or_none(id=sheet[0], round_id=round_id).select_related(
            "entry", "judge"
        )
        try:
            if before is None:
                raise NotFound(
                    translatable("No assignment %(assignment_id)s.", assignment_id=sheet[0])
                )
            moved = await judges.move_assignment(
                round_id, sheet[0], target_judge[0], request.user.id
            )
        except DomainError as exc:
            errors[FORM_ERROR] = exc.detail
            status_code = exc.status_code
        else:
            to = await StaffUser.get(id=moved.judge_id)  # type: ignore[attr-defined]
            return done(
                request,
                f"/admin/rounds/{round_id}/judges",
                translatable(
                    "“%(title)s” moved from %(old)s to %(new)s.",
                    title=before.entry.title,
                    old=_name(before.judge),
                    new=_name(to),
                ),
            )
    return await _judges_page(
        request, round_, move_values=values, move_errors=errors, status_code=status_code
    )


# --- opening and closing ------------------------------------------------------------------


def _next(request: Request[Any, Any, Any], round_id: int) -> str:
    page = NEXT_PAGES.get(str(request.query_params.get("next") or ""), "judges")
    return f"/admin/rounds/{round_id}/{page}"


@post("/rounds/{round_id:int}/open", name="console:round-open")
async def open_round(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Redirect:
    await rounds.get_round(round_id)
    target = _next(request, round_id)
    try:
        await rounds.open_round(round_id)
    except DomainError as exc:
        return done(request, target, exc.detail, "bad")
    return done(
        request,
        f"/admin/rounds/{round_id}/progress",
        translatable("The round is open: the judges can score their entries."),
    )


@post("/rounds/{round_id:int}/close", name="console:round-close")
async def close_round(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Redirect:
    await rounds.get_round(round_id)
    target = _next(request, round_id)
    try:
        await results.close_round(round_id)
    except DomainError as exc:
        return done(request, target, exc.detail, "bad")
    return done(
        request, target, translatable("The round is closed: its scores can no longer change.")
    )


# --- progress and reminders ---------------------------------------------------------------


@get("/rounds/{round_id:int}/progress", name="console:round-progress")
async def progress_page(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    round_ = await rounds.get_round(round_id)
    event = await _event(round_)
    now = timezone.now()
    progress = await judges.progress(round_id)
    state = judges.deadline_state(round_, now)
    late = {one.judge.id: one.pending for one in await judges.late_judges(round_id, now)}
    locale = staff_page_context(request)["locale"]
    late_from = (
        format_instant(round_.closes_at - judges.DUE_SOON, event.timezone, locale)
        if round_.closes_at
        else ""
    )
    return console_page(
        request,
        "pages/console/rounds/progress.html",
        section="competitions",
        title=translatable("Scoring progress"),
        crumbs=_crumbs(event, round_),
        round=round_,
        event=event,
        progress=progress,
        state=state,
        state_words=DEADLINE_WORDS,
        late=late,
        deadline=format_instant(round_.closes_at, event.timezone, locale)
        if round_.closes_at
        else "",
        late_from=late_from,
        due_soon_hours=int(judges.DUE_SOON / timedelta(hours=1)),
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
    )


@post("/rounds/{round_id:int}/remind", name="console:round-remind")
async def remind(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Redirect:
    await rounds.get_round(round_id)
    target = f"/admin/rounds/{round_id}/progress"
    late = await judges.late_judges(round_id)
    if not late:
        return done(
            request, target, translatable("Nobody is late: no reminder was queued."), "warn"
        )
    queued = await judges.remind_late_judges(round_id)
    w = _words(request)
    if not queued:
        return done(
            request,
            target,
            w.gettext("The late judges were reminded today already: nothing more was queued."),
            "warn",
        )
    return done(
        request,
        target,
        w.ngettext(
            "%(count)s reminder is queued in the outbox.",
            "%(count)s reminders are queued in the outbox.",
            queued,
            count=format_number(queued, w.locale),
        ),
    )


ROUTES = [
    judges_page,
    add_conflict,
    remove_conflict,
    plan_page,
    save_plan,
    move_entry,
    open_round,
    close_round,
    progress_page,
    remind,
]
