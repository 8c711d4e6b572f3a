"""A person's page in the console: their details, their registrations at every event
(with the actions on each), their admissions and the e-mails sent to them; the
download of everything held about them, and erasing their personal data (both for
the roles of auth.guards.privacy_officer, as the API's /api/v1/people routes)."""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.auth.claimed import roles_allow
from events_service.auth.guards import privacy_officer
from events_service.console.layout import console_page, done
from events_service.console.outbox import KIND_LABELS
from events_service.console.outbox import STATUS_BADGES as OUTBOX_STATUS_BADGES
from events_service.console.outbox import STATUS_LABELS as OUTBOX_STATUS_LABELS
from events_service.console.registrations import (
    NOT_CONFIRMED,
    STATUS_BADGES,
    STATUS_WORDS,
    instants,
)
from events_service.deps import SettingsDep
from events_service.events.people import person_record
from events_service.locale import translatable, words
from events_service.locale.dates import format_locale
from events_service.privacy import service as privacy
from events_service.privacy.display import person_name
from events_service.privacy.erasures import FIELD_WORDS, REASON_WORDS, STAFF_REASONS, erasure_of
from events_service.web.login import staff_page_context
from notifications.reasons import reason_in_language


def _fields_in_words(fields: tuple[str, ...], locale: str) -> str:
    """`("email", "name")` as "E-mail and Name" in the page's language."""
    said = [words(locale).gettext(FIELD_WORDS[f]) for f in fields if f in FIELD_WORDS]
    return format_list(said, locale=format_locale(locale))


def _may_erase(request: Request[Any, Any, Any]) -> bool:
    return roles_allow(getattr(request.user, "roles", ()), privacy_officer.allowed)


@get("/people/{person_id:int}", name="console:person")
async def person_page(
    request: Request[Any, Any, Any], person_id: FromPath[int], settings: SettingsDep
) -> Template:
    record = await person_record(person_id)
    locale = staff_page_context(request)["locale"]
    instant = instants(locale)
    # The person's own times are shown in the zone of their latest event, or UTC.
    home_zone = record.registrations[0].timezone if record.registrations else "UTC"
    erasure = await erasure_of(person_id)
    may_erase = _may_erase(request)
    page = console_page(
        request,
        "pages/console/people/person.html",
        section="registrations",
        title=person_name(record.person.name, locale),
        crumbs=[(translatable("Registrations"), "/admin/registrations")],
        record=record,
        person=record.person,
        home_zone=home_zone,
        instant=instant,
        status_words=STATUS_WORDS,
        status_badges=STATUS_BADGES,
        # The outbox's own words for a message's kind and status (one table each).
        message_status_words=OUTBOX_STATUS_LABELS,
        message_status_badges=OUTBOX_STATUS_BADGES,
        reason=reason_in_language,
        kind_words=KIND_LABELS,
        here=request.url.path,
        may_erase=may_erase,
        erasure=erasure,
        # What erasing would blank, what it keeps, why it may be done, and what holds
        # it back: the tickets erase_person refuses over (counted by its own rule).
        erasing=_fields_in_words(settings.retention_fields, locale),
        erased=_fields_in_words(erasure.fields, locale) if erasure else "",
        organisation_kept="organisation" not in settings.retention_fields,
        erase_reasons=list(STAFF_REASONS.items()),
        reason_words=REASON_WORDS,
        upcoming=await privacy.upcoming_tickets(person_id) if may_erase and not erasure else 0,
    )
    return page


def _upcoming_refusal(locale: str, tickets: int) -> str:
    return words(locale).ngettext(
        "Nothing was erased: this person holds %(n)s ticket for an upcoming event."
        " Cancel that registration first (below), then erase.",
        "Nothing was erased: this person holds %(n)s tickets for upcoming events."
        " Cancel those registrations first (below), then erase.",
        tickets,
    )


@post("/people/{person_id:int}/erase", name="console:person-erase", guards=[privacy_officer])
async def erase_person(
    request: Request[Any, Any, Any], person_id: FromPath[int], settings: SettingsDep
) -> Redirect:
    """Erase the person's personal data now, for the reason picked (a code of
    STAFF_REASONS, kept in the audit row); refused, and said why, while they hold a
    ticket for an upcoming event (privacy.service.erase_person's rule)."""
    form = await request.form()
    back = f"/admin/people/{person_id}"
    if form.get("confirm") != "yes":
        return done(request, back, NOT_CONFIRMED, "warn")
    reason = form.get("reason")
    if reason not in STAFF_REASONS:
        return done(
            request, back, translatable("Nothing was erased: pick the reason first."), "bad"
        )
    try:
        erased = await privacy.erase_person(
            person_id,
            actor=privacy.STAFF,
            staff_id=request.user.id,
            settings=settings,
            reason=reason,
        )
    except privacy.TicketStillUpcoming:
        locale = staff_page_context(request)["locale"]
        tickets = await privacy.upcoming_tickets(person_id)
        return done(request, back, _upcoming_refusal(locale, tickets), "bad")
    if not erased:
        return done(request, back, translatable("This person's data was erased already."), "warn")
    return done(request, back, translatable("The personal data of this person is erased."))


ROUTES = [person_page, erase_person]
