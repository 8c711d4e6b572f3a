"""The attendee's own data: asked for from the ticket page, done from an e-mailed link.

The ticket page's link alone is not enough to download or erase someone's data (it
may be forwarded, or seen over a shoulder): each request mails a signed, expiring
link to the person's address (privacy/links.py), and that link's page confirms with
a POST carrying the CSRF token.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import PathParameter, URLEncodedBody
from litestar.response import Template

from events_service.boundary import TicketToken
from events_service.deps import SettingsDep
from events_service.locale import in_language
from events_service.privacy import links, service
from events_service.registration.pages import _page
from events_service.web.i18n import pick_locale
from models import Person, Registration
from notifications.outbox import Kind, dedupe_key, enqueue

LinkToken = Annotated[str, PathParameter(min_length=1, max_length=200)]
TEMPLATE = "pages/my_data.html"


class DataRequestIn(msgspec.Struct):
    action: Annotated[str, msgspec.Meta(max_length=10)] = ""


@post("/t/{token:str}/my-data", include_in_schema=False, status_code=200)
async def ticket_data_request(
    request: Request, token: TicketToken, data: URLEncodedBody[DataRequestIn], settings: SettingsDep
) -> Template:
    registration = await Registration.get_or_none(manage_token=token).select_related("person")
    if registration is None:
        return _page(request, "pages/message.html", settings, 404, message_key="not_found")
    if data.action not in links.ACTIONS:
        return _page(request, TEMPLATE, settings, 422, state="invalid")
    person: Person = registration.person
    if data.action == links.ERASE and await service.upcoming_tickets(person.id):
        return _refused(request, settings)
    if person.email:
        expires_at = int(time.time()) + links.LINK_HOURS * 3600
        # At most one link per person, action and hour, however often it is asked for.
        hour = expires_at // 3600
        await enqueue(
            kind=Kind.PERSON_DATA_LINK,
            dedupe_key=dedupe_key(Kind.PERSON_DATA_LINK, person.id, data.action, hour),
            recipient=person.email,
            locale=registration.locale,
            payload={"person_id": person.id, "action": data.action, "expires_at": expires_at},
        )
    return _page(request, TEMPLATE, settings, state="mailed", action=data.action)


def _refused(request: Request, settings: Any) -> Template:
    problem = service.UPCOMING_DETAIL
    locale = pick_locale(request, settings.default_locale)
    return _page(request, TEMPLATE, settings, 409, state="refused",
                 detail=in_language(problem, locale))  # fmt: skip


@get("/my-data/{link:str}", include_in_schema=False)
async def data_link_page(request: Request, link: LinkToken, settings: SettingsDep) -> Template:
    claims = links.read_link(settings.secret_key, link)
    if claims is None or not await Person.exists(id=claims.person_id):
        return _page(request, TEMPLATE, settings, 404, state="invalid")
    return _page(request, TEMPLATE, settings, state="confirm", action=claims.action)


@post("/my-data/{link:str}", include_in_schema=False, status_code=200)
async def data_link_confirm(
    request: Request, link: LinkToken, settings: SettingsDep
) -> Template | Response[bytes]:
    claims = links.read_link(settings.secret_key, link)
    if claims is None or not await Person.exists(id=claims.person_id):
        return _page(request, TEMPLATE, settings, 404, state="invalid")
    if claims.action == links.EXPORT:
        body = json.dumps(await service.export_person(claims.person_id), ensure_ascii=False)
        return Response(
            body.encode(),
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="my-data.json"',
                "Cache-Control": "no-store",
            },
        )
    try:
        await service.erase_person(claims.person_id, actor=service.PERSON, settings=settings)
    except service.TicketStillUpcoming:
        return _refused(request, settings)
    return _page(request, TEMPLATE, settings, state="erased")


ROUTES = [ticket_data_request, data_link_page, data_link_confirm]
