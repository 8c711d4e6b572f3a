"""The public JSON registration API (the HTML form is in pages.py)."""

from __future__ import annotations

from litestar import Response, post
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from events_service.boundary import LinkSlug
from events_service.deps import SettingsDep
from events_service.registration import service
from events_service.registration.forms import RegistrationForm, clean_registration
from events_service.registration.schemas import RegistrationIn, RegistrationOut


def ticket_url(public_base_url: str, manage_token: str) -> str:
    return f"{public_base_url}/t/{manage_token}"


@post(
    "/api/v1/register/{slug:str}",
    tags=["registration"],
    summary="Register through a link (public)",
    description=(
        "201 with a new registration; 200 with `created: false` when the address is already "
        "registered for the event (its ticket is e-mailed to it again, at most once per "
        "registration in ten minutes). `ticket_url` is null unless this request created the "
        "person: a ticket of a known address goes to that address only."
    ),
    responses={
        HTTP_200_OK: ResponseSpec(
            data_container=RegistrationOut,
            description="Already registered: the ticket was e-mailed again (no ticket_url).",
        )
    },
)
async def register_json(
    slug: LinkSlug, data: JSONBody[RegistrationIn], settings: SettingsDep
) -> Response[RegistrationOut]:
    form = clean_registration(
        RegistrationForm(
            name=data.name,
            email=data.email,
            consent=data.consent,
            phone=data.phone,
            organisation=data.organisation,
            job_title=data.job_title,
            locale=data.locale,
        ),
        default_locale=settings.default_locale,
    )
    result = await service.register(slug, form)
    ticket = result.ticket
    body = RegistrationOut(
        status=ticket.status.value,
        ticket_url=(
            ticket_url(settings.public_base_url, ticket.manage_token)
            if result.ticket_shown
            else None
        ),
        registration_id=ticket.registration_id,
        created=result.created,
    )
    return Response(body, status_code=HTTP_201_CREATED if result.created else HTTP_200_OK)
