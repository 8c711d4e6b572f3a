"""HTML pages: the judge's scoring pages (/judge) and the printable winner certificate.

Every page answers in the request's language (?lang=, the `lang` cookie, the
browser's Accept-Language, then the configured default) and shows round times in
the event's timezone, as people at the venue read them. The API keeps ISO 8601.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from litestar import Controller, Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.security.jwt import Token
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_403_FORBIDDEN

from events_service.auth.guards import judge_only
from events_service.errors import NotFound
from events_service.judging import sheets, winners
from events_service.locale import N_, babel_locale, other_locale, words
from events_service.privacy.display import person_name
from events_service.settings import Settings
from events_service.web.i18n import pick_locale, remember_switch
from models import Event, Round, StaffUser

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "judging"
LOGIN_PAGE = "/judge/login"

judging_static = create_static_files_router(
    path="/static/judging", directories=[STATIC_DIR], name="judging-static"
)

# The message page's words, translated when it is shown.
MESSAGES = {
    "not_a_judge": (N_("Not a judge"), N_("This account has no judge role.")),
    # Someone else's assignment and a missing one read alike: nothing to learn from it.
    "not_yours": (
        N_("Not assigned to you"),
        N_("This entry is not among the ones assigned to you in an open round."),
    ),
}


def _locale(request: Request[Any, Any, Any]) -> str:
    settings: Settings = request.app.state.settings
    return pick_locale(request, settings.default_locale)


def _page(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A judge page in the request's language, with the switch to the other one."""
    locale = _locale(request)
    response = Template(
        template,
        context={
            **words(locale).template_context(),
            "locale": locale,
            "other_locale": other_locale(locale),
            "switch_url": _switch_url(request, other_locale(locale)),
            **context,
        },
        status_code=status_code,
    )
    remember_switch(request, response, locale)
    return response


def _switch_url(request: Request[Any, Any, Any], locale: str) -> str:
    """This page in the other language: the same query (e.g. ?next=), lang replaced."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return f"{request.url.path}?{urlencode({**query, 'lang': locale})}"


def _message(request: Request[Any, Any, Any], key: str, status_code: int) -> Template:
    title, message = MESSAGES[key]
    say = words(_locale(request))
    return _page(
        request,
        "pages/judging/message.html",
        status_code,
        title=say.gettext(title),
        message=say.gettext(message),
    )


def _to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    # A browser without a valid cookie lands on the login form, then comes back,
    # in the language it asked for.
    query = {"next": request.url.path}
    if request.query_params.get("lang"):
        query["lang"] = request.query_params["lang"]
    return Redirect(f"{LOGIN_PAGE}?{urlencode(query)}")


def _not_a_judge(request: Request[Any, Any, Any], __: Exception) -> Response[Any]:
    return _message(request, "not_a_judge", HTTP_403_FORBIDDEN)


def _label(value: Decimal) -> str:
    # "7" and "7.5", as a judge would write them (never "7.0" or "7E+1").
    return f"{value.normalize():f}"


def format_moment(moment: datetime, zone: str, locale: str) -> str:
    """A date and time (no seconds) in the event's timezone, as the locale writes it."""
    babel = Locale.parse(babel_locale(locale))
    pattern = (
        babel.datetime_formats["medium"]
        .replace("{1}", babel.date_formats["medium"].pattern)
        .replace("{0}", babel.time_formats["short"].pattern)
    )
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(zone), locale=babel)


async def _round_windows(round_ids: set[int], locale: str) -> dict[int, dict[str, Any]]:
    """Each round's opening and closing, in its event's timezone and the page's language."""
    windows: dict[int, dict[str, Any]] = {}
    for round_ in await Round.filter(id__in=round_ids).select_related("event"):
        zone = round_.event.timezone
        windows[round_.id] = {
            "zone": zone,
            "opens": format_moment(round_.opens_at, zone, locale) if round_.opens_at else "",
            "closes": format_moment(round_.closes_at, zone, locale) if round_.closes_at else "",
            "opens_at": round_.opens_at.isoformat() if round_.opens_at else "",
            "closes_at": round_.closes_at.isoformat() if round_.closes_at else "",
        }
    return windows


JUDGE_ONLY = {
    NotAuthorizedException: _to_login,
    PermissionDeniedException: _not_a_judge,
}


class JudgePages(Controller):
    path = "/judge"
    include_in_schema = False

    @get("/login", opt={"exclude_from_auth": True})
    async def login(self, request: Request[Any, Any, Any]) -> Template:
        settings: Settings = request.app.state.settings
        target = request.query_params.get("next", "/judge")
        # Only our own judge pages are valid targets: no open redirect.
        if not target.startswith("/judge"):
            target = "/judge"
        return _page(request, "pages/judging/login.html", settings=settings, next=target)

    @get("/", guards=[judge_only], exception_handlers=JUDGE_ONLY)  # type: ignore[arg-type]
    async def assignments(self, request: Request[StaffUser, Token, Any]) -> Template:
        items = await sheets.judge_assignments(request.user.id)
        windows = await _round_windows({a.round_id for a in items}, _locale(request))
        return _page(
            request,
            "pages/judging/list.html",
            user=request.user,
            assignments=items,
            windows=windows,
        )

    @get(
        "/assignments/{assignment_id:int}",
        guards=[judge_only],
        exception_handlers=JUDGE_ONLY,  # type: ignore[arg-type]
    )
    async def sheet(
        self, assignment_id: FromPath[int], request: Request[StaffUser, Token, Any]
    ) -> Template:
        try:
            item = (await sheets.judge_assignments(request.user.id, assignment_id))[0]
        except (NotFound, IndexError):
            return _message(request, "not_yours", HTTP_403_FORBIDDEN)
        values = {s.criterion_id: s for s in item.scores}
        controls = []
        total_weight = sum(c.weight for c in item.criteria) or 1.0
        for c in item.criteria:
            step = Decimal(str(c.scale_step))
            options = []
            value, top = Decimal(str(c.scale_min)), Decimal(str(c.scale_max))
            while value <= top:
                options.append(_label(value))
                value += step
            current = values.get(c.id)
            controls.append(
                {
                    "criterion": c,
                    "options": options,
                    # Few options: one tap each; many (0-10 in halves is 21): a number
                    # field with the scale's min, max and step, and the phone's keypad.
                    "widget": "buttons" if len(options) <= 11 else "number",
                    "step": _label(step),
                    # The judge sees how much each criterion counts toward the total.
                    "share": round(100 * c.weight / total_weight),
                    "value": _label(Decimal(str(current.value))) if current else "",
                    "comment": current.comment if current else "",
                }
            )
        windows = await _round_windows({item.round_id}, _locale(request))
        previous, following = await sheets.neighbours(request.user.id, item.id)
        return _page(
            request,
            "pages/judging/sheet.html",
            item=item,
            controls=controls,
            window=windows.get(item.round_id, {}),
            previous=previous,
            following=following,
            members=[
                person_name(name, _locale(request))
                for name in await sheets.member_names(item.entry.id)
            ],
        )


@get(
    "/winners/{record_id:int}/certificate", opt={"exclude_from_auth": True}, include_in_schema=False
)
async def certificate(record_id: FromPath[int], request: Request[Any, Any, Any]) -> Template:
    record = await winners.certificate(record_id)
    settings: Settings = request.app.state.settings
    locale = _locale(request)
    published = ""
    # The competition is the event the round belongs to: its title names it.
    event = await Event.get_or_none(id=record.event_id)
    if record.published_at:
        zone = ZoneInfo(event.timezone if event else "Asia/Shanghai")
        published = format_date(
            record.published_at.astimezone(zone).date(),
            "long",
            locale=Locale.parse(babel_locale(locale)),
        )
    return _page(
        request,
        "pages/judging/certificate.html",
        record=record,
        competition=event.title if event else "",
        settings=settings,
        published=published,
        verify_url=f"{settings.public_base_url.rstrip('/')}/api/v1/winners/verify",
    )
