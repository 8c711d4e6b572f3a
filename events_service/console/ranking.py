"""The console's ranking of a round: the table (raw mean, corrected score and its standard
error, sheets, spread, disagreement, the tie-break that decided), each judge's estimated
severity, each entry's sheets with a reopen form and their history, advancing the top N
or the entries picked to the next round, and a link to the API's results CSV (the
login cookie of the console is accepted there). Provisional while the
round is open, final once it is closed: every figure comes from the ranking service
(`judging.results`), every action from the judging services the API uses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.lists import format_list
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.layout import console_page, done
from events_service.console.rounds import METHOD_WORDS, STATUS_WORDS, tie_break_rule
from events_service.errors import DomainError, NotFound
from events_service.judging import ranking, results, sheets
from events_service.judging.rounds import RoundAction, get_round
from events_service.judging.schemas import AdvanceIn, ReopenIn
from events_service.locale import N_, in_language, translatable, words
from events_service.locale.dates import format_locale, instant_formatter
from events_service.locale.numbers import format_fixed, format_signed
from events_service.web.forms import FORM_ERROR, read_form
from events_service.web.login import staff_page_context
from models import Criterion, Entry, Event, JudgeAssignment, Round, RoundEntry, StaffUser
from models.enums import AssignmentStatus, RoundStatus

PLACES = 2
"""Decimals of a score on the page (the CSV keeps four)."""
ABOUT_AVERAGE = 0.02
"""A judge within this fraction of the scale's range of the average judge is "about
average": a smaller gap is noise in every round we have seen, not a habit."""

SHEET_STATUS_WORDS = {
    AssignmentStatus.ASSIGNED: N_("Not started"),
    AssignmentStatus.DRAFT: N_("Draft"),
    AssignmentStatus.SUBMITTED: N_("Submitted"),
}
REOPENED_WORDS = N_("Reopened: the judge is changing it")
EXCLUDED_WORDS = {
    "not submitted": N_("not submitted yet"),
    "missing criteria": N_("some criteria have no score"),
}
FALLBACK_WORDS = {
    "no complete sheets": N_("there is no complete sheet yet"),
    "the judge-entry design is singular": N_(
        "the judges and entries do not overlap enough to estimate each judge's severity"
    ),
}
DISCONNECTED_WORDS = N_(
    "the judges form groups that share no entry, so a judge's severity cannot be told "
    "apart from the quality of the entries they saw"
)
HISTORY_WORDS = {
    "create": N_("Started the sheet"),
    "update": N_("Changed the draft"),
    "submit": N_("Submitted"),
    "reopen": N_("Reopened"),
    "remove": N_("Removed the assignment"),
}
STATUS_NAMES = {
    "assigned": N_("Not started"),
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "removed": N_("Removed"),
}
# The service's refusals (judging.rounds.RoundAction) an organiser reads better as:
REFUSAL_WORDS = {
    RoundAction.ADVANCING_ENTRIES.refusal: N_(
        "Close the round first: entries advance only from a closed round (it is “%(status)s”)."
    ),
    RoundAction.RECEIVING_ENTRIES.refusal: N_(
        "The next round is no longer a draft (it is “%(status)s”), so it cannot take entries."
    ),
    RoundAction.REOPENING_SHEET.refusal: N_(
        "Sheets can be reopened only while the round is open for scoring (it is “%(status)s”)."
    ),
}
NO_NEXT_ROUND = N_("There is no next round yet: add it to the competition first.")


def _locale(request: Request[Any, Any, Any]) -> str:
    return str(staff_page_context(request)["locale"])


def refusal(error: DomainError, locale: str) -> str:
    """A service's refusal in the reader's language, in an organiser's words where the
    page knows better ones than the service's."""
    detail = error.detail
    msgid = getattr(detail, "msgid", None)
    w = words(locale)
    said = REFUSAL_WORDS.get(str(msgid))
    if said:
        status = str(error.extra.get("round_status"))
        return w.gettext(said, status=w.gettext(STATUS_WORDS.get(status, status)))
    if msgid == "There is no next round; create it first (entries: none).":
        return w.gettext(NO_NEXT_ROUND)
    return in_language(detail, locale)


# The page's view of the ranking


@dataclass
class SheetRow:
    id: int
    judge: str
    total: str
    submitted_at: str
    status: str
    reopened: bool
    counted: bool
    can_reopen: bool


@dataclass
class EntryRow:
    id: int
    rank: int | None
    title: str
    team: str
    raw_mean: str
    score: str
    standard_error: str
    sheets: int
    spread: str
    disagreement: bool
    tie_break: tuple[str, dict[str, Any]] | None
    in_next: bool
    sheet_rows: list[SheetRow] = field(default_factory=list)


@dataclass
class JudgeRow:
    name: str
    sheets: int
    figure: str
    leaning: str
    basis: str


def _judge_names(rows: Sequence[tuple[int, str, str]]) -> dict[int, str]:
    return {i: name or email for i, name, email in rows}


def _leaning(severity: float | None, scale_range: float) -> str:
    if severity is None:
        return N_("no sheet shared with another judge yet")
    if abs(severity) < ABOUT_AVERAGE * scale_range:
        return N_("about average")
    return N_("harsher than average") if severity < 0 else N_("more lenient than average")


async def _ranking_context(round_: Round, locale: str) -> dict[str, Any]:
    data = await results.load(round_.id)
    result = results.rank_data(data)
    event = await Event.get(id=round_.event_id)  # type: ignore[attr-defined]
    instant = instant_formatter(event.timezone, locale)

    def fixed(value: float | None) -> str:
        return "" if value is None else format_fixed(value, PLACES, locale)

    assignments = (
        await JudgeAssignment.filter(round_id=round_.id)
        .order_by("entry_id", "judge__name", "id")
        .values_list("id", "entry_id", "judge_id", "status", "submitted_at", "reopened_at")
    )
    judge_ids = {judge for _, _, judge, *_ in assignments}
    names = _judge_names(
        await StaffUser.filter(id__in=judge_ids).values_list("id", "name", "email")
    )
    teams = dict(
        await Entry.filter(round_entries__round_id=round_.id).values_list("id", "team_name")
    )
    following = await results.next_round(round_)
    in_next: set[int] = set()
    if following is not None:
        in_next = set(
            await RoundEntry.filter(round_id=following.id).values_list("entry_id", flat=True)
        )
    criterion_names = {c.id: c.name for c in data.criteria}
    titles = {e.id: e.title for e in data.entries}
    counted = {s.assignment_id for s in data.sheets if s.assignment_id is not None} - {
        x.assignment_id for x in result.excluded_sheets
    }
    totals = {
        s.assignment_id: ranking.weighted_total(s.scores, data.criteria)
        for s in data.sheets
        if s.assignment_id in counted
    }
    reopenable = round_.status == RoundStatus.OPEN
    sheet_rows: dict[int, list[SheetRow]] = defaultdict(list)
    for aid, entry_id, judge_id, status, submitted_at, reopened_at in assignments:
        submitted = status == AssignmentStatus.SUBMITTED
        sheet_rows[entry_id].append(
            SheetRow(
                id=aid,
                judge=names.get(judge_id, ""),
                total=fixed(totals.get(aid)),
                submitted_at=instant(submitted_at) if submitted else "",
                status=SHEET_STATUS_WORDS[AssignmentStatus(status)],
                reopened=reopened_at is not None and not submitted,
                counted=aid in counted,
                can_reopen=reopenable and submitted,
            )
        )

    def tie_words(r: ranking.EntryResult) -> tuple[str, dict[str, Any]] | None:
        if not r.tie_break:
            return None
        rule = str(r.tie_break.get("rule"))
        other = titles.get(int(r.tie_break.get("against") or 0), "")  # type: ignore[call-overload]
        if rule == "unbroken":
            return N_("Level with “%(other)s” on everything: they share the rank."), {
                "other": other
            }
        msgid, values = tie_break_rule(rule, criterion_names)
        return N_("Same score as “%(other)s”; placed by: %(rule)s."), {
            "other": other,
            "rule_msgid": msgid,
            "rule_values": values,
        }

    rows = [
        EntryRow(
            id=r.entry_id,
            rank=r.rank,
            title=r.title,
            team=teams.get(r.entry_id, ""),
            raw_mean=fixed(r.raw_mean),
            score=fixed(r.score),
            standard_error=fixed(r.standard_error),
            sheets=r.judges,
            spread=fixed(r.spread),
            disagreement=r.disagreement,
            tie_break=tie_words(r),
            in_next=r.entry_id in in_next,
            sheet_rows=sheet_rows.get(r.entry_id, []),
        )
        for r in result.entries
    ]
    scale_range = result.scale_max - result.scale_min
    severities = {j.judge_id: j for j in result.judges}
    judges = []
    for judge_id in sorted(
        judge_ids,
        key=lambda j: (
            severities[j].severity
            if j in severities and severities[j].severity is not None
            else float("inf"),
            names.get(j, ""),
        ),
    ):
        found = severities.get(judge_id)
        severity = found.severity if found else None
        judges.append(
            JudgeRow(
                name=names.get(judge_id, ""),
                sheets=found.sheets if found else 0,
                figure="" if severity is None else format_signed(severity, 1, locale),
                leaning=_leaning(severity, scale_range) if found else N_("no counted sheet yet"),
                basis=found.basis if found else "",
            )
        )
    excluded = [
        {
            "entry": titles.get(x.entry_id, ""),
            "judge": names.get(x.judge_id, ""),
            "reason": EXCLUDED_WORDS.get(x.reason, x.reason),
        }
        for x in result.excluded_sheets
    ]
    fallback = None
    if result.method_used != result.method_requested:
        reason = result.fallback_reason or ""
        fallback = (
            DISCONNECTED_WORDS if "disconnected" in reason else FALLBACK_WORDS.get(reason, reason)
        )
    ranked = [r for r in result.entries if r.rank is not None]
    return {
        "round": round_,
        "event": event,
        "result": result,
        "rows": rows,
        "ranked_count": len(ranked),
        "judges": judges,
        "excluded": excluded,
        "method_used": METHOD_WORDS.get(result.method_used, result.method_used),
        "method_requested": METHOD_WORDS.get(result.method_requested, result.method_requested),
        "fallback": fallback,
        "chain": [tie_break_rule(rule, criterion_names) for rule in result.tie_break],
        "threshold_points": fixed(round_.disagreement_threshold * scale_range),
        "threshold_share": round_.disagreement_threshold * 100,
        "following": following,
        "provisional": round_.status in (RoundStatus.DRAFT, RoundStatus.OPEN),
        "can_advance": round_.status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED)
        and following is not None
        and following.status == RoundStatus.DRAFT,
        "status_words": STATUS_WORDS,
        "has_standard_errors": any(r.standard_error for r in rows),
    }


def _crumbs(event: Event, round_: Round, *more: tuple[str, str | None]) -> list[Any]:
    return [
        (translatable("Competitions"), "/admin/competitions"),
        (event.title, f"/admin/competitions/{event.id}"),
        (round_.name, f"/admin/rounds/{round_.id}"),
        *more,
    ]


async def _ranking_page(
    request: Request[Any, Any, Any],
    round_: Round,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    refused: str | None = None,
) -> Template:
    context = await _ranking_context(round_, _locale(request))
    return console_page(
        request,
        "pages/console/rounds/ranking.html",
        section="competitions",
        title=translatable("Ranking of “%(round)s”", round=round_.name),
        crumbs=_crumbs(context["event"], round_),
        status_code=status_code,
        values=values or {},
        errors=errors or {},
        refused=refused,
        **context,
    )


@get("/rounds/{round_id:int}/ranking", name="console:round-ranking")
async def ranking_page(request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
    return await _ranking_page(request, await get_round(round_id))


def _picked(values: Sequence[str]) -> list[int] | None:
    picked = []
    for value in values:
        if not value.strip().isdigit():
            return None
        picked.append(int(value))
    return picked


@post("/rounds/{round_id:int}/advance", name="console:round-advance")
async def advance_entries(
    request: Request[Any, Any, Any], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await get_round(round_id)
    form = await request.form()
    mode = form.get("mode")
    values: dict[str, Any] = {"top": str(form.get("top") or "")}
    errors: dict[str, Any] = {}
    top: int | None = None
    picked: list[int] | None = None
    if mode == "picked":
        picked = _picked([str(v) for v in form.getall("entry_id", [])])
        values["picked"] = set(picked or [])
        if picked is None:
            errors[FORM_ERROR] = translatable("Not a valid value.")
        elif not picked:
            errors["picked"] = translatable("Tick at least one entry in the table to advance.")
    else:
        read = await read_form(request, AdvanceIn, only=("top",))
        if read.errors:
            errors = dict(read.errors)
        elif read.value is None or read.value.top is None:
            errors["top"] = translatable("Required.")
        else:
            top = read.value.top
    if errors:
        return await _ranking_page(request, round_, status_code=422, values=values, errors=errors)
    try:
        following, chosen = await results.advance(round_id, top, entry_ids=picked)
    except DomainError as exc:
        return await _ranking_page(
            request,
            round_,
            status_code=exc.status_code,
            values=values,
            refused=refusal(exc, _locale(request)),
        )
    locale = _locale(request)
    titles = dict(await Entry.filter(id__in=chosen).values_list("id", "title"))
    said = words(locale).gettext(
        "Now in “%(round)s”: %(entries)s.",
        round=following.name,
        entries=format_list([f"“{titles[e]}”" for e in chosen], locale=format_locale(locale)),
    )
    return done(request, f"/admin/rounds/{round_id}/ranking#advance", said)


# One sheet: its scores, its history, reopening it


async def _sheet_of(round_id: int, assignment_id: int) -> JudgeAssignment:
    assignment = await JudgeAssignment.get_or_none(
        id=assignment_id, round_id=round_id
    ).select_related("round", "entry", "judge")
    if assignment is None:
        raise NotFound(translatable("No sheet %(sheet)s in this round.", sheet=assignment_id))
    return assignment


def _scores_text(
    snapshot: dict[str, Any], names: dict[int, str], locale: str
) -> list[tuple[str, str, str]]:
    """A history snapshot as (criterion, value, comment) rows, in the criteria's order."""
    said = []
    for key, score in snapshot.items():
        name = names.get(int(key), key) if key.isdigit() else key
        value = score.get("value", "") if isinstance(score, dict) else score
        try:
            shown = format_fixed(float(value), 1, locale)
        except (TypeError, ValueError):
            shown = str(value)
        comment = score.get("comment", "") if isinstance(score, dict) else ""
        said.append((name, shown, comment))
    return said


async def _sheet_page(
    request: Request[Any, Any, Any],
    assignment: JudgeAssignment,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    refused: str | None = None,
) -> Template:
    locale = _locale(request)
    round_ = assignment.round
    event = await Event.get(id=round_.event_id)  # type: ignore[attr-defined]
    instant = instant_formatter(event.timezone, locale)
    criteria = await Criterion.filter(round_id=round_.id).order_by("position", "id")
    names = {c.id: c.name for c in criteria}
    order = {c.id: i for i, c in enumerate(criteria)}
    changes = await sheets.history(assignment.id)
    people = _judge_names(
        await StaffUser.filter(
            id__in={h.actor_id for h in changes if h.actor_id}  # type: ignore[attr-defined]
        ).values_list("id", "name", "email")
    )

    def ordered(snapshot: dict[str, Any]) -> dict[str, Any]:
        return dict(
            sorted(
                snapshot.items(),
                key=lambda kv: order.get(int(kv[0]), 999) if kv[0].isdigit() else 999,
            )
        )

    history = [
        {
            "at": instant(h.at),
            "who": people.get(h.actor_id, ""),  # type: ignore[attr-defined]
            "action": HISTORY_WORDS.get(h.action, h.action),
            "status_before": STATUS_NAMES.get(h.status_before, h.status_before),
            "status_after": STATUS_NAMES.get(h.status_after, h.status_after),
            "before": _scores_text(ordered(h.before), names, locale),
            "after": _scores_text(ordered(h.after), names, locale),
            "reason": h.reason,
        }
        for h in reversed(changes)
    ]
    current = {
        str(s.criterion_id): {"value": str(s.value), "comment": s.comment}  # type: ignore[attr-defined]
        for s in await assignment.scores.all()  # type: ignore[attr-defined]
    }
    judge = assignment.judge
    status = AssignmentStatus(assignment.status)
    return console_page(
        request,
        "pages/console/rounds/sheet.html",
        section="competitions",
        title=translatable(
            "Sheet of %(judge)s for “%(entry)s”",
            judge=judge.name or judge.email,
            entry=assignment.entry.title,
        ),
        crumbs=_crumbs(
            event,
            round_,
            (translatable("Ranking"), f"/admin/rounds/{round_.id}/ranking"),
        ),
        status_code=status_code,
        round=round_,
        sheet=assignment,
        status_words=SHEET_STATUS_WORDS[status],
        reopened=assignment.reopened_at is not None and status != AssignmentStatus.SUBMITTED,
        submitted_at=instant(assignment.submitted_at)
        if status == AssignmentStatus.SUBMITTED
        else "",
        scores=_scores_text(ordered(current), names, locale),
        history=history,
        can_reopen=round_.status == RoundStatus.OPEN and status == AssignmentStatus.SUBMITTED,
        round_open=round_.status == RoundStatus.OPEN,
        values=values or {},
        errors=errors or {},
        refused=refused,
    )


@get("/rounds/{round_id:int}/sheets/{assignment_id:int}", name="console:round-sheet")
async def sheet_page(
    request: Request[Any, Any, Any], round_id: FromPath[int], assignment_id: FromPath[int]
) -> Template:
    return await _sheet_page(request, await _sheet_of(round_id, assignment_id))


@post("/rounds/{round_id:int}/sheets/{assignment_id:int}/reopen", name="console:round-reopen")
async def reopen_sheet(
    request: Request[Any, Any, Any], round_id: FromPath[int], assignment_id: FromPath[int]
) -> Template | Redirect:
    assignment = await _sheet_of(round_id, assignment_id)
    form = await read_form(request, ReopenIn)
    errors = dict(form.errors)
    typed = form.values.get("reason", "").strip()
    if "reason" in errors and typed:
        errors["reason"] = translatable(
            "Say why in a few words (at least 3 characters): the judge and the record read it."
        )
    if not errors and form.value is not None:
        user = request.scope.get("user")
        try:
            await sheets.reopen_sheet(assignment_id, int(getattr(user, "id", 0)), form.value.reason)
        except DomainError as exc:
            return await _sheet_page(
                request,
                assignment,
                status_code=exc.status_code,
                values=form.values,
                refused=refusal(exc, _locale(request)),
            )
        judge = assignment.judge
        return done(
            request,
            f"/admin/rounds/{round_id}/sheets/{assignment_id}",
            translatable(
                "The sheet of %(judge)s for “%(entry)s” is reopened: they can change it and "
                "submit it again.",
                judge=judge.name or judge.email,
                entry=assignment.entry.title,
            ),
        )
    return await _sheet_page(
        request, assignment, status_code=422, values=form.values, errors=errors
    )


ROUTES = [ranking_page, advance_entries, sheet_page, reopen_sheet]
