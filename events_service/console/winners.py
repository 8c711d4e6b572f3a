"""The console's winners of a competition: what publishing would write now (from the
final round's ranking and awards, `winners.preview`), the publication itself
(`winners.publish`: once per round, the service refuses a second), the published
records with their hashes and times in the event's timezone, the whole chain checked
(`winners.verify`) and said in words, a record corrected (`winners.supersede`: a new
record naming the old one and the reason) and each record's printable certificate
(the public page /winners/{id}/certificate)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.layout import console_page, done
from events_service.console.rounds import METHOD_WORDS, STATUS_BADGES, STATUS_WORDS
from events_service.errors import Conflict, DomainError, Unprocessable
from events_service.judging import awards, entries, winners
from events_service.judging.competitions import competition
from events_service.judging.schemas import SupersedeIn
from events_service.locale import N_, Message, translatable, words
from events_service.locale.dates import instant_formatter
from events_service.web.forms import parse_form
from events_service.web.login import staff_page_context
from models import Event, Round
from models.enums import RankingMethod, RoundStatus

SUPERSEDE_FIELDS = ("reason", "entry_id", "rank", "award_title")

# The service's refusals of a preview, in the words of this page (its own words name
# the API's routes).
_PREVIEW_REFUSALS = {
    "The competition has no rounds.": N_(
        "This competition has no round yet: winners come from the ranking of its final round."
    ),
    "The final round has no awards; add them with POST /rounds/{id}/awards.": N_(
        "The final round has no awards yet, so nobody can be named a winner: "
        "add the awards to the round first."
    ),
}

# Why the final round cannot be published in its state, and what to do.
_STATE_WORDS = {
    RoundStatus.DRAFT: N_(
        "The final round “%(round)s” is still a draft: open it, let the judges score, "
        "then close it. Only a closed round can be published."
    ),
    RoundStatus.OPEN: N_(
        "Scoring in the final round “%(round)s” is still open: close the round on its page "
        "when the judges are done. Only a closed round can be published; the list below "
        "is what publishing would write if the round closed now."
    ),
    RoundStatus.PUBLISHED: N_(
        "The winners of the final round “%(round)s” are published: their records are below. "
        "A round is published once; a mistake is corrected record by record."
    ),
}

PROBLEM_WORDS = {
    "modified": N_(
        "Record %(sequence)s was changed after it was published: its content no longer "
        "matches its hash."
    ),
    "link": N_(
        "Record %(sequence)s no longer links to the record before it: the record before "
        "was changed or replaced."
    ),
    "missing": N_("Record %(sequence)s is missing from the chain: it was deleted."),
}


def _said(error: DomainError) -> Message | str:
    msgid = getattr(error.detail, "msgid", None)
    if msgid in _PREVIEW_REFUSALS:
        return translatable(_PREVIEW_REFUSALS[msgid])
    return error.detail


async def _final_round(event: Event) -> Round | None:
    try:
        return await winners.final_round(event.id)
    except Conflict:
        return None


def _short(digest: str | None) -> str:
    return (digest or "")[:12]


async def _page(
    request: Request[Any, Any, Any],
    event: Event,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    final = await _final_round(event)
    planned: list[winners.WinnerOut] = []
    refusal: Message | str | None = None
    try:
        planned = await winners.preview(event.id)
    except DomainError as exc:
        refusal = _said(exc)
    published = await winners.detailed_winners(event.id)
    verdict = None
    broken: dict[int, list[str]] = {}
    if request.query_params.get("verify"):
        verdict = await winners.verify()
        for problem in verdict.problems:
            broken.setdefault(problem.get("sequence", 0), []).append(problem.get("kind", ""))
    if final is not None and refusal is None and not planned:
        refusal = translatable(
            "No entry has a rank within the awards yet: the ranking needs submitted score sheets."
        )
    ruleset = (planned[0].ruleset if planned else None) or (
        published[-1].ruleset if published else None
    )
    method = None
    if ruleset and ruleset.get("method_used") in RankingMethod._value2member_map_:
        method = METHOD_WORDS[RankingMethod(ruleset["method_used"])]
    in_event_zone = instant_formatter(event.timezone, staff_page_context(request)["locale"])
    return console_page(
        request,
        "pages/console/winners/page.html",
        section="competitions",
        title=translatable("Winners"),
        crumbs=[
            (translatable("Competitions"), "/admin/competitions"),
            (event.title, f"/admin/competitions/{event.id}"),
        ],
        status_code=status_code,
        event=event,
        final=final,
        awards=await awards.list_awards(final.id) if final else [],
        planned=planned,
        refusal=refusal,
        can_publish=bool(
            final is not None and final.status == RoundStatus.CLOSED and planned and not refusal
        ),
        state_words=_STATE_WORDS.get(final.status) if final else None,
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
        method=method,
        fallback=(ruleset or {}).get("fallback_reason"),
        published=published,
        sequence_of={r.id: r.sequence for r in published},
        open_records=[r for r in published if not r.superseded_by_id],
        competition_entries=await entries.list_entries(event.id),
        verdict=verdict,
        broken=broken,
        problem_words=PROBLEM_WORDS,
        short=_short,
        instant=in_event_zone,
        values=values or {},
        errors=errors or {},
    )


def _here(event: Event) -> str:
    return f"/admin/competitions/{event.id}/winners"


@get("/competitions/{competition_id:int}/winners", name="console:winners")
async def winners_page(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Template:
    """The preview, the records, and (?verify=1) the chain's check in words."""
    return await _page(request, await competition(competition_id))


def _publish_refusal(error: DomainError, final: Round | None) -> Message | str:
    """The service's refusal; a round in the wrong state is said as the page says it."""
    status = error.extra.get("round_status")
    if final is not None and status in RoundStatus._value2member_map_:
        words = _STATE_WORDS.get(RoundStatus(status))
        if words:
            return translatable(words, round=final.name)
    return _said(error)


@post("/competitions/{competition_id:int}/winners/publish", name="console:winners-publish")
async def publish(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Redirect:
    event = await competition(competition_id)
    form = await request.form()
    if form.get("confirm") != "yes":
        return done(
            request, _here(event), translatable("Nothing was published: confirm first."), "warn"
        )
    try:
        created = await winners.publish(event.id, request.user)
    except DomainError as exc:
        return done(request, _here(event), _publish_refusal(exc, await _final_round(event)), "bad")
    say = words(staff_page_context(request)["locale"])
    return done(
        request,
        _here(event),
        say.ngettext(
            "The winners are published: %(count)s record was added to the chain.",
            "The winners are published: %(count)s records were added to the chain.",
            len(created),
            count=len(created),
        ),
    )


def _supersede_errors(errors: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    reason = values.get("reason", "").strip()
    if "reason" in errors and reason:
        errors["reason"] = translatable("At least %(n)s characters.", n=3)
    elif not reason:
        errors["reason"] = translatable("Say why the record is corrected.")
    return errors


@post("/competitions/{competition_id:int}/winners/supersede", name="console:winners-supersede")
async def supersede(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template | Redirect:
    """A correction: a new record naming the old one and the reason (the old one stays)."""
    event = await competition(competition_id)
    posted = await request.form()
    raw = {key: value for key in posted if isinstance(value := posted.get(key), str)}
    values = {key: value for key, value in raw.items() if not key.startswith("_")}
    ours = {r.id: r for r in await winners.detailed_winners(event.id)}
    record_id = int(raw["record_id"]) if raw.get("record_id", "").isdigit() else 0
    form = parse_form(raw, SupersedeIn, only=SUPERSEDE_FIELDS)
    errors = _supersede_errors(dict(form.errors), values)
    if record_id not in ours:
        errors["record_id"] = translatable("Choose the record to correct.")
    if not errors and form.value is not None:
        data = form.value
        try:
            made = await winners.supersede(
                record_id, request.user, data.reason, data.entry_id, data.rank, data.award_title
            )
        except Unprocessable as exc:  # the new entry is not one of this competition's
            errors = {"entry_id": exc.detail}
        except DomainError as exc:  # gone, or corrected already (maybe meanwhile)
            errors = {"record_id": exc.detail}
        else:
            return done(
                request,
                _here(event),
                translatable(
                    "Record %(old)s was corrected by the new record %(new)s.",
                    old=ours[record_id].sequence,
                    new=made.sequence,
                ),
            )
    return await _page(request, event, values=values, errors=errors, status_code=422)


ROUTES = [winners_page, publish, supersede]
